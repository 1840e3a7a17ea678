import Foundation
import GRDB

/// The purge (`Protocol/erasure.md`): the one path that rewrites a stored event.
extension Store {
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
