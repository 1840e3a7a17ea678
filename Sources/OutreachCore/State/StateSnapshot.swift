import Crypto
import Foundation

/// The state snapshot (DESIGN §6, `Protocol/fold.md` §5): the one fold, sealed in the store's
/// cache with the last store row it has folded. Every command that reads the state takes it from
/// here: the snapshot, plus the events stored since, added one at a time (a retraction,
/// correction or link among them too: they touch only what they name).
///
/// It is kept in two parts written together: the contacts (most of a large state) and the rest,
/// so a command that shows no contacts reads none (`Part.withoutContacts`). It is written again
/// only when `rewriteAfter` events or more were past it, or one of the events past it changed
/// earlier ones (rare: a retraction, correction, link, code or revocation), so a command after
/// one new contact reads the snapshot and folds one event, and writes nothing. Like every cache it is derived data
/// (losing it costs one fold) and never plaintext: each part sealed under the organisation key,
/// with the store id and the part's name bound in.
public enum StateSnapshot {
    static let coreName = "state-snapshot/v1"
    static let contactsName = "state-snapshot/v1/contacts"
    /// Write the snapshot again once this many events are past it.
    public static let rewriteAfter = 2_000

    /// How much of the state a command needs.
    public enum Part: Sendable {
        case all
        /// Everything but the contacts (alerts, conflicts, the log, exports): their records are
        /// left out unless they arrived since the snapshot. Should anything since have changed
        /// earlier events (a retraction, correction, link, code or revocation), all is read.
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
        if part == .withoutContacts, let (core, folded) = try? read(coreName, store: store, keyring: keyring) {
            let newer = try store.events(afterRowID: folded)
            if newer.count < rewriteAfter {
                let opened = Parallel.map(count: newer.count) { keyring.open(newer[$0].event) }
                if !opened.contains(where: { $0.map(changesEarlierEvents) ?? false }), var fold = try? Fold(core: core, contacts: nil) {
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
           let (contacts, contactsRow) = try? read(contactsName, store: store, keyring: keyring), coreRow == contactsRow,
           let decoded = try? Fold(core: core, contacts: contacts) {
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
            try store.setCaches([
                (coreName, try seal(fold.encodedCore(), folded: folded, name: coreName, store: store, keyring: keyring)),
                (contactsName, try seal(fold.encodedContacts(), folded: folded, name: contactsName, store: store, keyring: keyring)),
            ])
        }
        return (fold, restored ? .snapshot(newer: newer.count) : .rebuilt(events: newer.count))
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
