import Foundation

/// The state snapshot (DESIGN §6, `Protocol/fold.md`): the one fold, sealed in the store's cache
/// with the last store row it has folded. Every command that reads the state takes it from here:
/// the snapshot, plus the events stored since, added one at a time (a retraction, correction or
/// link among them too: they touch only what they name).
///
/// The snapshot is written again only when `rewriteAfter` events or more were past it, so a
/// command after one new contact reads the snapshot and folds one event, and writes nothing.
/// Like every cache it is derived data (losing it costs one fold, which says so) and never
/// plaintext: sealed under the organisation key, with the store id and the cache name bound in.
public enum StateSnapshot {
    static let cacheName = "state-snapshot/v1"
    /// Write the snapshot again once this many events are past it.
    public static let rewriteAfter = 2_000

    /// Where the state came from.
    public enum Source: Sendable, Equatable {
        /// The snapshot, and `events` stored since folded in.
        case snapshot(newer: Int)
        /// No usable snapshot: every event folded (a first run, another version, or damage).
        case rebuilt(events: Int)
    }

    /// The fold of `store` as it stands now.
    public static func load(store: Store, keyring: Keyring) throws -> (fold: Fold, source: Source) {
        let aad = Data("fieldlog/cache/\(cacheName)/\(store.info.storeID)".utf8)
        var fold = Fold()
        var folded: Int64 = 0
        var restored = false
        if let blob = try store.cache(cacheName), let plain = try? keyring.orgKey.open(blob, aad: aad), plain.count > 8,
           let decoded = try? Fold(encoded: plain.dropFirst(8)) {
            fold = decoded
            folded = plain.prefix(8).reduce(0) { $0 << 8 | Int64($1) }
            restored = true
        }
        let newer = try store.events(afterRowID: folded)
        if !newer.isEmpty {
            let opened = Parallel.map(count: newer.count) { keyring.open(newer[$0].event) }
            fold.state.unreadable += opened.count(where: { $0 == nil })
            fold.add(opened.compactMap { $0 }, source: StoreSource(store: store, keyring: keyring))
            folded = newer.last!.rowID
        }
        if !restored || newer.count >= rewriteAfter {
            var header = ByteWriter(capacity: 8)
            header.uint64(UInt64(folded))
            try store.setCache(cacheName, try keyring.orgKey.seal(header.data + fold.encoded(), aad: aad))
        }
        return (fold, restored ? .snapshot(newer: newer.count) : .rebuilt(events: newer.count))
    }
}
