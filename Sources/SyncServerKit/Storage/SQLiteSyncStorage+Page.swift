import Foundation
import GRDB
import GRDBSQLite
import OutreachCore

extension SQLiteSyncStorage {
    /// One event of a page as the index gives it, with where its row is (nil: from memory, read by id).
    private struct Indexed {
        let rowid: Int64?
        let entry: Page.Entry
        let org: String
    }

    public func page(for org: String, after: VersionVector, limit: Int, rows: Page.Rows, known: @escaping @Sendable ([Page.Entry]) -> [Bool]) async throws -> Page {
        try await db.read { db in
            let server = try EventTable.vector(db)
            let wanted = server.entries.sorted(by: { $0.key < $1.key }).filter { $0.value > after[$0.key] }
            var indexed = [Indexed]()
            var covered = VersionVector()
            var more = false
            let remembered = try self.remembered(for: org, wanted.map { (origin: $0.key, lo: after[$0.key], hi: $0.value) }, budget: limit + 1, db)
            if let remembered {
                let rows: [Page.Entry]
                (rows, covered, more) = Page.cut(remembered, wanted: wanted, limit: limit)
                // The organisation of a tombstone finds its purge.
                let orgOf = try db.cachedStatement(sql: "SELECT org FROM events WHERE \(EventTable.idIs("?1"))")
                indexed = try rows.map { Indexed(rowid: nil, entry: $0, org: $0.purged ? try String.fetchOne(orgOf, arguments: [$0.id.hex]) ?? "" : "") }
            }
            let query = try db.cachedStatement(sql: """
                SELECT rowid, id, seq, purged, org FROM events
                WHERE origin = ? AND seq > ? AND seq <= ? AND (org = ? OR scope IN ('partnership', 'public'))
                  AND id NOT IN (SELECT id FROM quarantine)
                ORDER BY seq LIMIT ?
                """)
            for (origin, top) in wanted where remembered == nil {  // a laptop far behind: the index
                // Once the page is full, the next origins are asked for one event each: an origin
                // with nothing for this organisation is covered whole, and the page is cut at the
                // first event left out (as on PostgreSQL and from memory).
                let budget = limit - indexed.count
                let batch = try Self.indexed(query, db, origin: origin, after: after[origin], top: top, org: org, limit: budget + 1)
                if batch.count <= budget {
                    covered[origin] = top
                    indexed += batch
                } else {
                    // Cut: everything before the first event left out is covered.
                    covered[origin] = batch[budget].entry.dot.seq - 1
                    indexed += batch.prefix(budget)
                    more = true
                    break
                }
            }
            // Tombstones travel with the purges that name them (erasure.md §4).
            indexed += try Self.authorisations(for: indexed, db)
            // Then only the rows the caller lacks, whole.
            let lacking = try Page.lacking(indexed.map(\.entry), known: known)
            let read = zip(indexed, lacking).filter(\.1).map(\.0)
            switch rows {
            case .events:
                return Page(vector: server, covered: covered, entries: indexed.map(\.entry), events: try Self.whole(read, db) { try $0.event(at: $1) }, more: more)
            case .packed:
                let packed = try Self.whole(read, db) { row, o in Data(try row.packed(at: o)) }
                return Page(vector: server, covered: covered, entries: indexed.map(\.entry), events: [], packed: packed, more: more)
            }
        }
    }

    /// A page's entries built from `DotFacts` (reading in this snapshot the facts it lacks), with
    /// the dots purged or quarantined now read from the database through small indexes; nil when
    /// the page spans more than the server remembers (a laptop far behind): then the index is read.
    private func remembered(for org: String, _ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)], budget: Int, _ db: Database) throws -> [Page.Entry]? {
        guard facts.mayServe(ranges) else { return nil }
        let lacking = facts.lacking(ranges, in: partnership)
        if !lacking.isEmpty {
            let read = try db.cachedStatement(sql: "SELECT seq, id, org, scope FROM events WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq")
            for range in lacking {
                var found = [(UInt64, DotFacts.Fact)]()
                let rows = try Row.fetchCursor(read, arguments: [range.origin.rawValue, Int64(range.lo), Int64(range.hi)])
                while let row = try rows.next() {
                    let seq: Int64 = row[0]
                    guard seq >= 1, let id = EventID(hex: row[1]) else { throw FieldlogError(.corrupt, "an event row has a bad id or seq") }
                    found.append((UInt64(seq), DotFacts.Fact(id: id, org: row[2], scope: Scope(row[3]))))
                }
                facts.remember(found, of: range.origin, in: partnership)
            }
        }
        var changes = [Dot: DotFacts.Change]()
        let purged = try db.cachedStatement(sql: "SELECT seq FROM events WHERE origin = ? AND seq > ? AND seq <= ? AND purged = 1")
        for range in ranges {
            for seq in try Int64.fetchAll(purged, arguments: [range.origin.rawValue, Int64(range.lo), Int64(range.hi)]) where seq >= 1 {
                changes[Dot(range.origin, UInt64(seq))] = .purged
            }
        }
        let asked = Dictionary(ranges.map { ($0.origin, $0) }, uniquingKeysWith: { a, _ in a })
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT e.origin, e.seq FROM quarantine q CROSS JOIN events e ON \(EventTable.idIs("q.id", in: "e"))")) {
            let seq: Int64 = row[1]
            guard let origin = ReplicaID(row[0] as String), let range = asked[origin], seq > range.lo, seq <= range.hi else { continue }
            changes[Dot(origin, UInt64(seq))] = .quarantined
        }
        return facts.entries(for: org, ranges, in: partnership, changes: changes, budget: budget)
    }

    /// The rows of `query` (`rowid, id, seq, purged, org` of one origin), read through SQLite's
    /// own calls: a crowd reads millions of them, and a generic row per row cost more than SQLite.
    private static func indexed(_ query: Statement, _ db: Database, origin: ReplicaID, after: UInt64, top: UInt64, org: String, limit: Int) throws -> [Indexed] {
        var out = [Indexed]()
        try rows(of: query, db, binding: { s in
            EventTable.bind(origin, at: 1, s)
            sqlite3_bind_int64(s, 2, Int64(after))
            sqlite3_bind_int64(s, 3, Int64(top))
            EventTable.bind(org, at: 4, s)
            sqlite3_bind_int64(s, 5, Int64(limit))
        }) { row in
            guard let id = row.eventID(1), row.int64(2) >= 1 else { throw FieldlogError(.corrupt, "an event row has a bad id or seq") }
            let entry = Page.Entry(id: id, dot: Dot(origin, UInt64(row.int64(2))), purged: row.int64(3) == 1)
            // The organisation is needed only to find a tombstone's purge.
            out.append(Indexed(rowid: row.int64(0), entry: entry, org: entry.purged ? row.string(4) : ""))
        }
        return out
    }

    /// Steps `statement` through SQLite's own calls with the arguments `binding` binds, handing
    /// each row to `body` (it is reset before and after).
    private static func rows(of statement: Statement, _ db: Database, binding: (SQLiteStatement) -> Void, _ body: (EventTable.RawRow) throws -> Void) throws {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        defer { sqlite3_reset(s) }
        binding(s)
        try EventTable.step(s, db, body)
    }

    /// The rows of `items`, whole, in their order, each as `read` makes it of the row whose
    /// `EventTable.columns` start at the column it is given: a run of one origin's events (a
    /// new laptop's pages lack them all) in one range read, a few here and there (a crowd's
    /// pages lack only what no one was sent yet) each by its rowid.
    private static func whole<T>(_ items: [Indexed], _ db: Database, _ read: (EventTable.RawRow, Int32) throws -> T) throws -> [T] {
        let byRowid = try db.cachedStatement(sql: "SELECT \(EventTable.columns) FROM events WHERE rowid = ?")
        let byID = try db.cachedStatement(sql: "SELECT \(EventTable.columns) FROM events WHERE \(EventTable.idIs("?1"))")
        let range = try db.cachedStatement(sql: "SELECT rowid, \(EventTable.columns) FROM events WHERE origin = ? AND seq >= ? AND seq <= ? ORDER BY seq")
        var out = [T]()
        out.reserveCapacity(items.count)
        var start = items.startIndex
        while start < items.endIndex {
            var end = start + 1
            let origin = items[start].entry.dot.replica
            while end < items.endIndex, items[end].entry.dot.replica == origin, items[end].entry.dot.seq > items[end - 1].entry.dot.seq { end += 1 }
            let run = items[start..<end]
            if run.count >= 16 {
                // Known by rowid from the index, by id from memory.
                let rowids = Set(run.compactMap(\.rowid))
                let ids = rowids.count == run.count ? [] : Set(run.map(\.entry.id))
                let before = out.count
                try rows(of: range, db, binding: { s in
                    EventTable.bind(origin, at: 1, s)
                    sqlite3_bind_int64(s, 2, Int64(run.first!.entry.dot.seq))
                    sqlite3_bind_int64(s, 3, Int64(run.last!.entry.dot.seq))
                }) { row in
                    // Another organisation's own events, or quarantined ones, lie in the range too.
                    if ids.isEmpty ? rowids.contains(row.int64(0)) : row.eventID(1).map(ids.contains) ?? false { out.append(try read(row, 1)) }
                }
                guard out.count - before == run.count else { throw FieldlogError(.corrupt, "events of a page vanished while it was read") }
            } else {
                for item in run {
                    let before = out.count
                    if let rowid = item.rowid {
                        try rows(of: byRowid, db, binding: { sqlite3_bind_int64($0, 1, rowid) }) { out.append(try read($0, 0)) }
                    } else {
                        try rows(of: byID, db, binding: { EventTable.bind(item.entry.id, at: 1, $0) }) { out.append(try read($0, 0)) }
                    }
                    guard out.count - before == 1 else { throw FieldlogError(.corrupt, "an event of a page vanished while it was read") }
                }
            }
            start = end
        }
        return out
    }

    /// The `events.purged` held that name any of the page's tombstones, and are not in it.
    private static func authorisations(for page: [Indexed], _ db: Database) throws -> [Indexed] {
        let tombstones = page.filter(\.entry.purged)
        guard !tombstones.isEmpty else { return [] }
        let by = try db.cachedStatement(sql: "SELECT by FROM purges WHERE id = ? AND org = ?")
        var ids = Set<String>()
        for t in tombstones { ids.formUnion(try String.fetchAll(by, arguments: [t.entry.id.hex, t.org])) }
        let sending = Set(page.map(\.entry.id.hex))
        let row = try db.cachedStatement(sql: "SELECT rowid, id, seq, purged, org, origin FROM events WHERE \(EventTable.idIs("?1"))")
        return try ids.subtracting(sending).sorted().compactMap { id in
            guard let found = try Row.fetchOne(row, arguments: [id]) else { return nil }
            return Indexed(rowid: found[0], entry: try Page.Entry(id: found[1], origin: found[5] as String, seq: found[2], purged: (found[3] as Int64) == 1),
                           org: found[4])
        }
    }
}
