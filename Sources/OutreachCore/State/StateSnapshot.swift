import Crypto
import Foundation

/// The state snapshot (DESIGN §6, `Protocol/fold.md` §5): the one fold, sealed in the store's
/// cache with the last store row it has folded. Every command that reads the state takes it from
/// here: the snapshot, plus the events stored since, added one at a time (a retraction,
/// correction or link among them too: they touch only what they name).
///
/// It is kept in parts written together: the contacts (most of a large state) in 65 pages by
/// person, and the rest, so a command that shows no contacts reads none (`Part.withoutContacts`)
/// and one about a person reads her page (`Part.contacts(of:)`). It is written again
/// only when `rewriteAfter` events or more were past it, or one of the events past it changed
/// earlier ones (rare: a retraction, correction, link, code or revocation), so a command after
/// one new contact reads the snapshot and folds one event, and writes nothing. Like every cache it is derived data
/// (losing it costs one fold) and never plaintext: each part sealed under the organisation key,
/// with the store id and the part's name bound in.
public enum StateSnapshot {
    static let coreName = "state-snapshot/v2"
    static func pageName(_ page: Int) -> String { "state-snapshot/v2/contacts/\(page)" }
    static var pageNames: [String] { (0...Fold.contactPages).map(pageName) }
    /// Write the snapshot again once this many events are past it.
    public static let rewriteAfter = 2_000

    /// How much of the state a command needs.
    public enum Part: Sendable, Equatable {
        case all
        /// Everything but the contacts (alerts, conflicts, the log, exports, people, tasking):
        /// contacts are left out unless they arrived since the snapshot. Should anything since
        /// have changed earlier events (a retraction, correction, link, code or revocation), all
        /// is read.
        case withoutContacts
        /// Everything but the contacts, and the contacts of these person ids (as recorded: give
        /// a person's id and aliases); the same fallback.
        case contacts(of: Set<String>)
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
        if part != .all, let (core, folded) = try? read(coreName, store: store, keyring: keyring) {
            let newer = try store.events(afterRowID: folded)
            if newer.count < rewriteAfter {
                let opened = Parallel.map(count: newer.count) { keyring.open(newer[$0].event) }
                if !opened.contains(where: { $0.map(changesEarlierEvents) ?? false }), var fold = try? Fold(core: core, contacts: nil),
                   let contacts = try? contactsOf(part, folded: folded, store: store, keyring: keyring) {
                    fold.insert(contacts)
                    fold.state.unreadable += opened.count(where: { $0 == nil })
                    fold.add(opened.compactMap { $0 }, source: StoreSource(store: store, keyring: keyring))
                    return (fold, .snapshot(newer: newer.count))
                }
            }
        }
        var fold = Fold()
        var folded: Int64 = 0
        var restored = false
        if let (core, coreRow) = try? read(coreName, store: store, keyring: keyring),
           let pages = try? pageNames.map({ try read($0, store: store, keyring: keyring) }), pages.allSatisfy({ $0.folded == coreRow }),
           let decoded = try? Fold(core: core, contacts: pages.map(\.content)) {
            fold = decoded
            folded = coreRow
            restored = true
        }
        let newer = try store.events(afterRowID: folded)
        var changedEarlier = false
        if !newer.isEmpty {
            let opened = Parallel.map(count: newer.count) { keyring.open(newer[$0].event) }
            fold.state.unreadable += opened.count(where: { $0 == nil })
            changedEarlier = opened.contains { $0.map(changesEarlierEvents) ?? false }
            fold.add(opened.compactMap { $0 }, source: StoreSource(store: store, keyring: keyring))
            folded = newer.last!.rowID
        }
        // Written again when far behind, and after a retraction, correction, link or revocation
        // (so the commands that read no contacts can read the rest again from the next one on).
        if !restored || newer.count >= rewriteAfter || changedEarlier {
            let pages = try zip(pageNames, fold.encodedContacts()).map { name, page in
                (name, try seal(page, folded: folded, name: name, store: store, keyring: keyring))
            }
            try store.setCaches([(coreName, try seal(fold.encodedCore(), folded: folded, name: coreName, store: store, keyring: keyring))] + pages)
        }
        return (fold, restored ? .snapshot(newer: newer.count) : .rebuilt(events: newer.count))
    }

    /// The contacts `part` asks for, from their pages (which must be of the core's moment).
    private static func contactsOf(_ part: Part, folded: Int64, store: Store, keyring: Keyring) throws -> [Contact] {
        guard case .contacts(let ids) = part else { return [] }
        var out = [Contact]()
        for page in Set(ids.map { Fold.contactPage($0) }).sorted() {
            let (content, row) = try read(pageName(page), store: store, keyring: keyring)
            guard row == folded else { throw FieldlogError.malformed("contact page of another moment") }
            out += try Fold.decodeContacts(content).filter { $0.recordedPerson.map(ids.contains) ?? false }
        }
        return out
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
        return try keyring.orgKey.seal(header.data + content, aad: aad(name, store))
    }

    private static func read(_ name: String, store: Store, keyring: Keyring) throws -> (content: Data, folded: Int64) {
        guard let blob = try store.cache(name) else { throw FieldlogError.malformed("no \(name)") }
        let plain = try keyring.orgKey.open(blob, aad: aad(name, store))
        guard plain.count >= 8 else { throw FieldlogError.malformed("damaged \(name)") }
        return (Data(plain.dropFirst(8)), plain.prefix(8).reduce(0) { $0 << 8 | Int64($1) })
    }
}
