import Foundation
import GRDB

extension Store {
    /// A sealed cache blob (derived data: safe to lose, never plaintext).
    func cache(_ name: String) throws -> Data? {
        try db.read { try Data.fetchOne($0, sql: "SELECT value FROM cache WHERE name = ?", arguments: [name]) }
    }

    func setCache(_ name: String, _ value: Data) throws {
        try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO cache(name, value) VALUES (?, ?)", arguments: [name, value]) }
    }

    /// Events stored after local row `rowID`, with their row ids, in arrival order.
    func events(afterRowID rowID: Int64) throws -> [(rowID: Int64, event: Event)] {
        try db.read { db in
            var out = [(Int64, Event)]()
            let rows = try Row.fetchCursor(db, sql: "SELECT \(EventTable.columns), rowid FROM events WHERE rowid > ? ORDER BY rowid",
                                           arguments: [rowID])
            while let row = try rows.next() { out.append((row[11], try EventTable.event(from: row))) }
            return out
        }
    }
}
