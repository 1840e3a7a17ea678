import Foundation
import GRDB

/// The purge (`Protocol/erasure.md`): the one path that rewrites a stored event, shared by the
/// laptop's own erasures and by what it receives.
extension Authority {
    /// At most this many ids in one `events.purged` (a person's identifying events are a few dozen).
    public static let maxPurge = 10_000

    /// The event types whose payload a purge may erase: those that identify a person, and the
    /// corrections of them (erasure.md §3). Everything counted stays.
    public static let purgeable: Set<EventType> = [.personRegistered, .personProfile, .contactNote]

    /// The ids an `events.purged` names, if it is one and well formed (sorted, distinct, 1 to `maxPurge`).
    public static func purgeList(_ payload: Payload) -> [EventID]? { Body.EventsPurged(payload)?.purge }
}

extension Store {
    /// The rule a received purge breaks, judged on what this device holds (or receives with it):
    /// it may name only its own organisation's events (P1, as the server judges it), and, where
    /// this device can read them, only events that identify a person (P2). Nil when it is honoured.
    static func purgeRule(_ purge: EventTable.Purge, batch: [EventID: Event], keyring: Keyring, _ db: Database) throws -> Authority.Rule? {
        if try EventTable.namesForeignEvent(purge, carried: batch.mapValues(\.org), db) { return .foreignPurge }
        let row = try db.cachedStatement(sql: "SELECT \(EventTable.columns) FROM events WHERE id = ?")
        func find(_ id: EventID) throws -> Event? {
            if let e = batch[id] { return e }
            return try Row.fetchOne(row, arguments: [id.hex]).map { try EventTable.event(from: $0) }
        }
        for id in purge.ids {
            guard let target = try find(id), let opened = keyring.open(target), let type = opened.payload.eventType else { continue }
            if Authority.purgeable.contains(type) { continue }
            if type == .eventCorrected, let amended = opened.payload.amendedTarget, let original = try find(amended) {
                // A correction is purged with the event it corrects; if that cannot be read here, it is taken on trust.
                guard let o = keyring.open(original), let t = o.payload.eventType else { continue }
                if Authority.purgeable.contains(t) { continue }
            }
            return .notIdentifying
        }
        return nil
    }

    /// Records honoured purges and purges what they name, in the caller's transaction: payloads
    /// replaced by their digests, set-aside copies deleted, and the sealed caches (which may hold
    /// what the purged events said) dropped. Returns how many stored events were purged.
    static func apply(_ purges: [EventTable.Purge], _ db: Database) throws -> Int {
        guard !purges.isEmpty else { return 0 }
        var purged = 0
        let drop = try db.cachedStatement(sql: "DELETE FROM set_aside WHERE id = ? AND org = ?")
        for p in purges {
            purged += try EventTable.purge(p.ids, org: p.event.org, by: p.event.id, db)
            for id in p.ids { try drop.execute(arguments: [id.hex, p.event.org]) }
        }
        try Store.cachesDropped(db)
        return purged
    }

    /// Moves every page the WAL holds into the database and truncates the WAL to nothing, so no
    /// frame with a purged payload survives in it (erasure.md §4).
    func checkpointAfterPurge() throws {
        try db.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// The purges held that name any of `events`' tombstones (sent along with them).
    func authorisations(for events: [Event]) throws -> [Event] {
        guard events.contains(where: \.isPurged) else { return [] }
        return try db.read { try EventTable.authorisations(for: events, $0) }
    }

    /// The purges named in a batch's own `events.purged` that pass the envelope and key rules.
    static func purges(in batch: [Event], verdicts: [Authority.Rule?]) -> [EventTable.Purge] {
        zip(batch, verdicts).compactMap { event, verdict in verdict == nil ? EventTable.Purge(event) : nil }
    }
}
