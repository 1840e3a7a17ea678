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

    /// Runs `body` (a sync) with SQLite's automatic checkpoints held back, then moves the WAL
    /// into the database once. Each page a sync stores is a commit of megabytes; left to itself
    /// SQLite copies the WAL into the database after every one of them, rewriting the same index
    /// pages each time (a third of a first sync's time). Every commit is still synced to disk
    /// when made (`synchronous = FULL`): a sync cut off loses nothing, and the next commit or
    /// open checkpoints what waits. A purge still checkpoints at once (`checkpointAfterPurge`).
    public func holdingCheckpoints<T>(_ body: () async throws -> T) async throws -> T {
        try await db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        func release() async throws {
            try await db.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 1000")
                _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            }
        }
        let result: T
        do {
            result = try await body()
        } catch {
            try? await release()
            throw error
        }
        try await release()
        return result
    }

    /// The purges held that name any of `events`' tombstones (sent along with them).
    func authorisations(for events: [Event]) throws -> [Event] {
        guard events.contains(where: \.isPurged) else { return [] }
        return try db.read { try EventTable.authorisations(for: events, $0) }
    }

    /// The purges named in a batch's own `events.purged` that pass the envelope and key rules.
    static func purges(in batch: [Event], verdicts: [Authority.Rule?]) -> [EventTable.Purge] {
        // By index, public ones only: a page of thousands holds a purge or two, and copying
        // every event to look at it showed in a first sync's profile.
        batch.indices.compactMap { i in verdicts[i] == nil && batch[i].scope == .public ? EventTable.Purge(batch[i]) : nil }
    }
}
