import Crypto
import Foundation

/// The state snapshot (DESIGN §6, `Protocol/fold.md` §5): the one fold, sealed in the store's
/// cache with the last store row it has folded. Every command that reads the state takes it from
/// here: the snapshot, plus the events stored since, added one at a time (a retraction,
/// correction or link among them too: they touch only what they name).
///
/// It is kept in parts written together: the contacts (most of a large state) in 65 pages by
/// person, and the rest, so a command that shows no contacts reads none (`Part.withoutContacts`)
/// and one about a person reads her page (`Read.addContacts(of:)`). It is written again
/// only when `rewriteAfter` events or more were past it, or a whole read (`Part.all`) found one
/// of the events past it changed earlier ones (rare: a retraction, correction, link, code or
/// revocation), so a command after one new contact, or one retraction, reads the snapshot (and
/// the pages the retraction touches) and folds what is new, and writes nothing. Like every cache it is derived data
/// (losing it costs one fold) and never plaintext: each part sealed under the organisation key,
/// with the store id and the part's name bound in.
public enum StateSnapshot {
    static let coreName = "state-snapshot/v2"
    static func pageName(_ page: Int) -> String { "state-snapshot/v2/contacts/\(page)" }
    static var pageNames: [String] { (0...Fold.contactPages).map(pageName) }
    /// Write the snapshot again once this many events are past it.
    public static let rewriteAfter = 2_000
    /// A partial read that must read more pages than this for the changes past the snapshot
    /// makes a whole read instead, which writes the snapshot again.
    static let maxPagesUnwritten = 8

    /// How much of the state a command needs.
    public enum Part: Sendable, Equatable {
        case all
        /// Everything but the contacts (alerts, conflicts, the log, exports, people, tasking):
        /// contacts are left out unless they arrived since the snapshot, or are on a page that
        /// an event since may have changed (a retraction or correction: `Fold.contactPagesTouched`).
        /// A person's pages can then be read in (`Read.addContacts(of:)`).
        case withoutContacts
    }

    /// Where the state came from.
    public enum Source: Sendable, Equatable {
        /// The snapshot, and `newer` events stored since folded in.
        case snapshot(newer: Int)
        /// No usable snapshot: every event folded (a first run, another version, or damage).
        case rebuilt(events: Int)
    }

    /// The fold of `store` as it stands now.
    public static func load(store: Store, keyring: Keyring, part: Part = .all) throws -> (fold: Fold, source: Source) {
        let read = try read(store: store, keyring: keyring, part: part)
        return (read.fold, read.source)
    }

    /// A state read, and what it holds.
    struct Read {
        var fold: Fold
        var source: Source
        /// The last store row folded.
        var row: Int64
        /// The contact pages it holds whole (nil: all of them).
        var pages: Set<Int>?
        /// Of those, the pages an event stored after `touchedSince` may have changed (nil: any).
        var touched: Set<Int>? = nil
        /// The row each page is of, as the core read lists them (nil when all are held).
        var pageRows: [Int64]?

        /// Reads in the pages holding the contacts of `ids` (as recorded) that it does not hold yet.
        mutating func addContacts(of ids: Set<String>, store: Store, keyring: Keyring) throws {
            guard let rows = pageRows, let held = pages else { return }
            for page in Set(ids.map { Fold.contactPage($0) }).subtracting(held).sorted() {
                fold.insert(try StateSnapshot.readPage(page, row: rows[page], store: store, keyring: keyring))
                pages?.insert(page)
            }
        }
    }

    /// The fold of `store` as it stands now; with `touchedSince`, a partial read holds whole
    /// every page an event stored after that row may have changed (or all of them).
    static func read(store: Store, keyring: Keyring, part: Part, touchedSince: Int64? = nil) throws -> Read {
        if part != .all, let read = try? partial(touchedSince: touchedSince, store: store, keyring: keyring) { return read }
        // Taken before anything is read: a purge while this reads and folds means the fold may
        // hold what it erased, so it is not written (the next read folds it again without).
        let generation = try store.cacheGeneration()
        var fold = Fold()
        var folded: Int64 = 0
        var pageRows: [Int64]?
        if let (core, coreRow, rows) = try? readCore(store: store, keyring: keyring),
           let pages = try? pageNames.map({ try read($0, store: store, keyring: keyring) }), pages.map(\.folded) == rows,
           let decoded = try? Fold(core: core, contacts: pages.map(\.content)) {
            fold = decoded
            folded = coreRow
            pageRows = rows
        }
        let restored = pageRows != nil
        let before = fold.state.contacts
        let newer = try fold.addStored(after: folded, store: store, keyring: keyring)
        folded = newer.lastRow
        // Written again when far behind, and after a retraction, correction, link or revocation
        // (so the partial reads after it need not read the pages it touched).
        if !restored || newer.count >= rewriteAfter || newer.changedEarlier {
            let changed = restored ? changedPages(before, fold.state.contacts) : Set(0...Fold.contactPages)
            try write(fold, folded: folded, pageRows: pageRows ?? Array(repeating: folded, count: pageNames.count), changed: changed,
                      unlessPurgedSince: generation, store: store, keyring: keyring)
        }
        return Read(fold: fold, source: restored ? .snapshot(newer: newer.count) : .rebuilt(events: newer.count), row: folded, pages: nil)
    }

    /// The core and the events since (fewer than `rewriteAfter`), and never a write.
    /// After an event that changed earlier ones, the pages it touches are read as well.
    private static func partial(touchedSince: Int64?, store: Store, keyring: Keyring) throws -> Read? {
        let (core, folded, pageRows) = try readCore(store: store, keyring: keyring)
        let newer = try store.events(afterRowID: folded)
        guard newer.count < rewriteAfter else { return nil }
        var fold = try Fold(core: core, contacts: nil)
        let (opened, unreadable) = Sealer(keyring).open(newer.map(\.event))
        let source = StoreSource(store: store, keyring: keyring)
        let changesEarlier = opened.contains(where: changesEarlierEvents)
        var pages = Set<Int>(), touchedLater: Set<Int>?
        if changesEarlier {
            // Many pages touched (a sync bringing many retractions): one whole read, which writes.
            // (Not the pages of new contacts: held beside, as without a change, they need no page.)
            guard let touched = fold.contactPagesTouched(by: opened, source: source, newContacts: false), touched.count <= maxPagesUnwritten else {
                return nil
            }
            pages.formUnion(touched)
        }
        if let since = touchedSince {
            // The events since that row: those folded into the snapshot since, and the newer ones.
            let between = since < folded ? try store.events(afterRowID: since, upTo: folded) : []
            guard between.count + newer.count < rewriteAfter else { return nil }
            let recentIDs = Set(newer.filter { $0.rowID > since }.map(\.event.id))
            let recent = Sealer(keyring).open(between.map(\.event)).opened + opened.filter { recentIDs.contains($0.event.id) }
            guard let touched = fold.contactPagesTouched(by: recent, source: source) else { return nil }
            touchedLater = touched
            pages.formUnion(touched)
        }
        for page in pages.sorted() { fold.insert(try readPage(page, row: pageRows[page], store: store, keyring: keyring)) }
        fold.state.unreadable += unreadable
        fold.add(opened, source: source)
        // Nothing is written: the next partial read finds the same pages touched and reads them
        // again (a page or two), which costs less than writing the core (a quarter of `people`
        // at 1M). The snapshot catches up at `rewriteAfter`, or on the next whole read.
        return Read(fold: fold, source: .snapshot(newer: newer.count), row: newer.last?.rowID ?? folded, pages: pages,
                    touched: touchedLater, pageRows: pageRows)
    }

    /// The contacts of page `page`, which must be of `row` (never parts of two moments).
    static func readPage(_ page: Int, row: Int64, store: Store, keyring: Keyring) throws -> [Contact] {
        let (content, at) = try read(pageName(page), store: store, keyring: keyring)
        guard at == row else { throw FieldlogError.malformed("contact page of another moment") }
        return try Fold.decodeContacts(content)
    }

    /// Writes the core of `fold` (of row `folded`) and its pages `changed`, in one transaction;
    /// the core lists the row each page is of (the others stay as they were). Nothing is written
    /// if a purge dropped the caches since `generation` (`Store.cacheGeneration`).
    static func write(_ fold: Fold, folded: Int64, pageRows: [Int64], changed: Set<Int>, unlessPurgedSince generation: Int64,
                      store: Store, keyring: Keyring) throws {
        var rows = pageRows
        let pages = try fold.encodedContacts(pages: changed).map { page, content in
            rows[page] = folded
            return (pageName(page), try seal(content, folded: folded, name: pageName(page), store: store, keyring: keyring))
        }
        var core = ByteWriter(capacity: 8 * rows.count)
        for row in rows { core.uint64(UInt64(row)) }
        try store.setCaches([(coreName, try seal(core.data + fold.encodedCore(), folded: folded, name: coreName, store: store, keyring: keyring))] + pages,
                            unlessPurgedSince: generation)
    }

    /// The pages holding a contact that is not as it was (added, changed, gone, or moved to another person).
    static func changedPages(_ before: [EventID: Contact], _ after: [EventID: Contact]) -> Set<Int> {
        var pages = Set<Int>()
        for (id, c) in after where before[id] != c {
            pages.insert(Fold.contactPage(c.recordedPerson))
            if let old = before[id] { pages.insert(Fold.contactPage(old.recordedPerson)) }
        }
        for (id, c) in before where after[id] == nil { pages.insert(Fold.contactPage(c.recordedPerson)) }
        return pages
    }

    /// The core: the row it is of, the row each contact page is of, then the fold's core.
    private static func readCore(store: Store, keyring: Keyring) throws -> (core: Data, folded: Int64, pageRows: [Int64]) {
        let (content, folded) = try read(coreName, store: store, keyring: keyring)
        let n = pageNames.count
        guard content.count >= 8 * n else { throw FieldlogError.malformed("damaged \(coreName)") }
        let bytes = [UInt8](content.prefix(8 * n))
        let rows = (0..<n).map { i in bytes[(8 * i)..<(8 * i + 8)].reduce(Int64(0)) { $0 << 8 | Int64($1) } }
        return (Data(content.dropFirst(8 * n)), folded, rows)
    }

    /// Whether adding `o` may change what earlier events mean (`Protocol/fold.md` §4).
    static func changesEarlierEvents(_ o: OpenedEvent) -> Bool {
        switch o.payload.eventType {
        case .eventRetracted, .eventCorrected, .personsLinked, .personProfile, .deviceRevoked: true
        default: false
        }
    }

    private static func aad(_ name: String, _ store: Store) -> Data { Data("fieldlog/cache/\(name)/\(store.info.storeID)".utf8) }

    /// A part: 8 bytes (big-endian) of the last row folded, then its content.
    private static func seal(_ content: Data, folded: Int64, name: String, store: Store, keyring: Keyring) throws -> Data {
        var header = ByteWriter(capacity: 8)
        header.uint64(UInt64(folded))
        return try keyring.localKey.seal(header.data + content, aad: aad(name, store))
    }

    private static func read(_ name: String, store: Store, keyring: Keyring) throws -> (content: Data, folded: Int64) {
        guard let blob = try store.cache(name) else { throw FieldlogError.malformed("no \(name)") }
        let plain = try keyring.localKey.open(blob, aad: aad(name, store))
        guard plain.count >= 8 else { throw FieldlogError.malformed("damaged \(name)") }
        return (Data(plain.dropFirst(8)), plain.prefix(8).reduce(0) { $0 << 8 | Int64($1) })
    }
}
