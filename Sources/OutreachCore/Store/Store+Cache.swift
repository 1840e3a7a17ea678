import Foundation
import GRDB

extension Store {
    /// A sealed cache blob (derived data: safe to lose, never plaintext).
    func cache(_ name: String) throws -> Data? {
        try db.read { try Data.fetchOne($0, sql: "SELECT value FROM cache WHERE name = ?", arguments: [name]) }
    }

    func setCache(_ name: String, _ value: Data) throws { try setCaches([(name, value)]) }

    /// Several cache blobs in one transaction (parts that are read together); see `replaceCaches`.
    @discardableResult
    func setCaches(_ entries: [(name: String, value: Data)], unlessPurgedSince generation: Int64? = nil) throws -> Bool {
        try replaceCaches(deleting: [], with: entries, unlessPurgedSince: generation)
    }

    /// How many times a purge has dropped the caches. A cache worked out from what the store held
    /// before a purge must never be written after it: it could hold what the purge erased (a
    /// name, a note), back at rest after the erasure (`Protocol/erasure.md` §4). So a writer takes
    /// this before it reads and hands it to `replaceCaches`.
    func cacheGeneration() throws -> Int64 { try db.read { try Self.cacheGeneration($0) } }

    static func cacheGeneration(_ db: Database) throws -> Int64 {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'cacheGeneration'").flatMap { Int64($0) } ?? 0
    }

    /// Counts a purge's dropping of the caches, in its transaction.
    static func cachesDropped(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM cache")
        try db.execute(sql: """
            INSERT INTO meta(key, value) VALUES ('cacheGeneration', '1')
            ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
            """)
    }

    /// Deletes the blobs whose names start with any of `prefixes`, then writes `entries`, in one
    /// transaction (a part cut into pieces, written again whole). With `generation`, nothing is
    /// written (and it returns false) if a purge dropped the caches since it was taken.
    @discardableResult
    func replaceCaches(deleting prefixes: [String], with entries: [(name: String, value: Data)], unlessPurgedSince generation: Int64? = nil) throws -> Bool {
        try db.write { db in
            if let generation, try Self.cacheGeneration(db) != generation { return false }
            for prefix in prefixes {
                try db.execute(sql: "DELETE FROM cache WHERE substr(name, 1, ?) = ?", arguments: [prefix.utf8.count, prefix])
            }
            for (name, value) in entries {
                try db.execute(sql: "INSERT OR REPLACE INTO cache(name, value) VALUES (?, ?)", arguments: [name, value])
            }
            return true
        }
    }

    /// Events stored after local row `rowID` (and up to row `last`), with their row ids, in arrival order.
    func events(afterRowID rowID: Int64, upTo last: Int64 = .max) throws -> [(rowID: Int64, event: Event)] {
        try db.read { db in
            var out = [(Int64, Event)]()
            let rows = try Row.fetchCursor(db, sql: "SELECT \(EventTable.columns), rowid FROM events WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                                           arguments: [rowID, last])
            while let row = try rows.next() { out.append((row["rowid"], try EventTable.event(from: row))) }
            return out
        }
    }
}

extension Store {
    /// The alerts (event ids) this laptop has already shown its worker.
    public func shownAlerts() throws -> Set<EventID> {
        try db.read { Set(try String.fetchAll($0, sql: "SELECT id FROM shown_alerts").compactMap(EventID.init(hex:))) }
    }

    public func markAlertsShown(_ ids: [EventID]) throws {
        guard !ids.isEmpty else { return }
        try db.write { db in
            for id in ids { try db.execute(sql: "INSERT OR IGNORE INTO shown_alerts(id) VALUES (?)", arguments: [id.hex]) }
        }
    }
}
