import Foundation

/// The contacts (most of a large state) in pages by the person they name as written, so that a
/// command reads only the pages it needs (`Protocol/fold.md` §5): none to list people or alerts,
/// hers to show a person, and after a retraction or correction the pages of what it touched.
extension Fold {
    /// How many pages of identified people's contacts; one more holds contacts with nobody identified.
    static let contactPages = 64

    /// The page of the contacts with `person` (as the contact names her): 0 to 63 by her id's
    /// first two characters, 64 for contacts with nobody identified.
    static func contactPage(_ person: String?) -> Int {
        guard let person else { return contactPages }
        let b = Array(person.utf8.prefix(2))
        return (Int(b.first ?? 0) * 31 + Int(b.count > 1 ? b[1] : 0)) % contactPages
    }

    /// The pages `wanted` (all by default) of the contacts held, encoded.
    func encodedContacts(pages wanted: Set<Int>? = nil) -> [Int: Data] {
        var pages = [[Contact]](repeating: [], count: Fold.contactPages + 1)
        for c in state.contacts.values {
            let page = Fold.contactPage(c.recordedPerson)
            if wanted?.contains(page) ?? true { pages[page].append(c) }
        }
        return Dictionary(uniqueKeysWithValues: pages.indices.filter { wanted?.contains($0) ?? true }.map { ($0, Fold.encoded(contacts: pages[$0])) })
    }

    /// A page: each contact as recorded. Her merged person and the notes are not kept here (a
    /// link or a note changes no page); `insert` puts them back from the core.
    static func encoded(contacts: [Contact]) -> Data {
        var w = SnapshotWriter()
        w.version(Fold.snapshotVersion)
        w.list(contacts) { w, c in
            w.id(c.id); w.word(c.org); w.word(c.recordedPerson); w.int(Int64(c.unidentified)); w.word(c.setting)
            w.word(c.zone); w.words(c.workers); w.bool(c.welfare)
            w.list(c.services.sorted { $0.key < $1.key }) { w, s in w.word(s.key); w.int(Int64(s.value)) }
            w.words(c.needs); w.int(c.occurredAt); w.word(c.author)
        }
        return w.data
    }

    static func decodeContacts(_ data: Data) throws -> [Contact] {
        var r = try SnapshotReader(data)
        guard try r.version() == Fold.snapshotVersion else { throw FieldlogError.malformed("state snapshot of another version") }
        var settings = WordMemo<Setting>(), services = WordMemo<Service>(), needs = WordMemo<Need>()
        let list = try r.list { r in
            let id = try r.id(), org = try r.word(), recorded = try r.optionalWord()
            return Contact(id: id, org: org, person: recorded, recordedPerson: recorded,
                           unidentified: Int(try r.int()), setting: try settings.read(&r), zone: try r.optionalWord(), workers: try r.words(),
                           welfare: try r.bool(),
                           services: Dictionary(try r.list { r in (try services.read(&r), Int(try r.int())) }, uniquingKeysWith: +),
                           needs: try needs.list(&r), occurredAt: try r.int(), author: try r.word())
        }
        guard r.isAtEnd else { throw FieldlogError.malformed("damaged state snapshot") }
        return list
    }

    /// Takes in contacts read back from pages, with their person as merged now and their notes.
    mutating func insert(_ contacts: [Contact]) {
        state.contacts.reserveCapacity(state.contacts.count + contacts.count)
        for var c in contacts {
            c.person = c.recordedPerson.map(canonical)
            if let texts = notes[c.id] { c.notes = texts.values.sorted() }
            state.contacts[c.id] = c
        }
    }

    /// The contact pages that adding `newer` to this fold may change, or nil when that cannot be
    /// told without reading them all (a revocation: any device's events may be cut off).
    ///
    /// A fold read back without contacts and given these pages takes `newer` in as the whole
    /// fold would: a new contact lands on its person's page; a retraction or correction changes
    /// what it reaches down its chain of targets (each with the person it names, as written and
    /// as any correction has it), and whose earliest mention may move (looked for on her page);
    /// a link or a code changes only merged persons, which `insert` works out again; notes are
    /// kept in the core. Without `newContacts`, only the pages retractions and corrections reach:
    /// enough for a fold that holds the new contacts beside the pages and is not written.
    func contactPagesTouched(by newer: [OpenedEvent], source: some FoldSource, newContacts: Bool = true) -> Set<Int>? {
        let all = BatchSource(newer, then: source)
        var pages = Set<Int>()
        var seen = Set<EventID>()
        var newPersons = [EventID: [JSONValue?]]()
        for a in newer {
            if let b = Body.EventCorrected(a.payload), b.replacing.keys.contains("person") { newPersons[b.target, default: []].append(b.replacing["person"]) }
        }
        /// The pages of the person `o` names, as written and as each correction held or new has it.
        func addPages(of o: OpenedEvent) {
            let isContact = o.payload.eventType == .contactLogged
            var persons: [JSONValue?] = [o.payload["person"]]
            for id in amendmentsOf[o.event.id] ?? [] {
                if let fields = amendments[id]?.correction?.value.objectValue, fields.keys.contains("person") { persons.append(fields["person"]) }
            }
            persons += newPersons[o.event.id] ?? []
            for p in persons {
                if let id = p?.stringValue { pages.insert(Fold.contactPage(id)) } else if isContact { pages.insert(Fold.contactPage(nil)) }
            }
        }
        for o in newer {
            switch o.payload.eventType {
            case .deviceRevoked:
                return nil
            case .eventRetracted, .eventCorrected:
                // Down the chain: a retraction of a retraction revives what the inner one took back.
                var next = o.payload.amendedTarget
                while let id = next, seen.insert(id).inserted, let target = all.opened(id) {
                    addPages(of: target)
                    next = target.payload.amendedTarget
                }
            case .contactLogged where newContacts:
                addPages(of: o)
            default:
                break
            }
        }
        return pages
    }
}
