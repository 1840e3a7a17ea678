import Foundation
import NIOCore
import OutreachCore
import PostgresNIO
import SyncServerKit

/// A page in PostgreSQL: from what this instance remembers of recent dots, in two statements
/// without a transaction, or read in a repeatable-read snapshot (the index from
/// `fieldlog_page_ids` when memory does not reach). docs/server-storage.md.
extension PostgresSyncStorage {
    public func page(for org: String, after: VersionVector, limit: Int, rows readAs: Page.Rows, known: @escaping @Sendable ([Page.Entry]) -> [Bool]) async throws -> Page {
        try await page(for: org, after: after, limit: limit, rows: readAs, known: known, afterBegin: nil)
    }

    /// `afterBegin` runs after the first statement of a page from memory (a test purges there).
    func page(for org: String, after: VersionVector, limit: Int, rows readAs: Page.Rows, known: @escaping @Sendable ([Page.Entry]) -> [Bool],
              afterBegin: (@Sendable () async throws -> Void)?) async throws -> Page {
        if let page = try await lease({
            try await self.pageFromMemory(for: org, after: after, limit: limit, rows: readAs, known: known, afterBegin: afterBegin, $0)
        }) {
            return page
        }
        return try await snapshot { tx in
            let server = try vector(await tx.query("SELECT origin, seq FROM coverage", logger: logger).collect())
            let wanted = Self.wanted(server, after: after)
            let ranges = Self.ranges(wanted, after: after)
            let rows: [Page.Entry]
            if let remembered = try await remembered(for: org, ranges, budget: limit + 1, tx) {
                rows = remembered
            } else {
                rows = try await indexed(tx.query("""
                    SELECT origin, packed FROM fieldlog_page_ids(\(org), \(wanted.map(\.key.rawValue))::text[], \(wanted.map { Int64(after[$0.key]) })::bigint[],
                                                      \(wanted.map { Int64($0.value) })::bigint[], \(Int32(clamping: limit)))
                    """, logger: logger))
            }
            guard let page = try await page(rows, vector: server, wanted: wanted, limit: limit, rows: readAs, known: known, tx) else {
                throw FieldlogError(.corrupt, "an event of a page changed while it was read")
            }
            return page
        }
    }

    /// The origins the server holds more of than `after`, in order, each with the server's seq.
    static func wanted(_ server: VersionVector, after: VersionVector) -> [(key: ReplicaID, value: UInt64)] {
        server.entries.filter { $0.value > after[$0.key] }.sorted { $0.key < $1.key }
    }

    /// The dots a page may hold of each `wanted` origin: above `after`, up to the server's seq.
    static func ranges(_ wanted: [(key: ReplicaID, value: UInt64)], after: VersionVector) -> [(origin: ReplicaID, lo: UInt64, hi: UInt64)] {
        wanted.map { (origin: $0.key, lo: after[$0.key], hi: $0.value) }
    }

    /// A page built from `DotFacts` without a transaction (a crowd's: the laptop is a little
    /// behind): its vector and the dots purged or quarantined now in one statement
    /// (`fieldlog_page_begin`, one snapshot), then the rows the caller lacks, which never change
    /// but for a purge. Nil when the page spans more than this instance remembers, or a row was
    /// purged since the first statement: then the page is read in a snapshot.
    private func pageFromMemory(for org: String, after: VersionVector, limit: Int, rows readAs: Page.Rows,
                                known: @escaping @Sendable ([Page.Entry]) -> [Bool], afterBegin: (@Sendable () async throws -> Void)?,
                                _ conn: PostgresConnection) async throws -> Page? {
        var binds = PostgresBindings()
        binds.append(after.entries.map(\.key.rawValue))
        binds.append(after.entries.map { Int64($0.value) })
        var server = VersionVector(), changes = [Dot: DotFacts.Change]()
        for try await (kind, origin, seq) in try await conn.query(PostgresQuery(unsafeSQL: "SELECT kind, origin, seq FROM fieldlog_page_begin($1, $2)", binds: binds),
                                                                  logger: logger).decode((String, String, Int64).self) {
            guard let origin = ReplicaID(origin), seq >= 0 else { throw FieldlogError(.corrupt, "a page's first row is malformed") }
            switch kind {
            case "coverage": server[origin] = UInt64(seq)
            case "purged": Self.note(.purged, at: Dot(origin, UInt64(seq)), in: &changes)
            case "quarantined": Self.note(.quarantined, at: Dot(origin, UInt64(seq)), in: &changes)
            default: throw FieldlogError(.corrupt, "a page's first row is of an unknown kind")
            }
        }
        try await afterBegin?()
        let wanted = Self.wanted(server, after: after)
        let ranges = Self.ranges(wanted, after: after)
        guard facts.mayServe(ranges) else { return nil }
        try await rememberFacts(facts.lacking(ranges, in: schema), conn)
        guard let rows = facts.entries(for: org, ranges, in: schema, changes: changes, budget: limit + 1) else { return nil }
        return try await page(rows, vector: server, wanted: wanted, limit: limit, rows: readAs, known: known, conn)
    }

    /// The page of `rows` (the entitled events of the `wanted` origins, in order): cut at
    /// `limit`, with the purges its tombstones need and the rows the caller lacks, read whole;
    /// nil if one of those is no longer as `rows` say (purged since).
    private func page(_ rows: [Page.Entry], vector server: VersionVector, wanted: [(key: ReplicaID, value: UInt64)], limit: Int, rows readAs: Page.Rows,
                      known: @escaping @Sendable ([Page.Entry]) -> [Bool], _ conn: PostgresConnection) async throws -> Page? {
        var (page, covered, more) = Page.cut(rows, wanted: wanted, limit: limit)
        // Tombstones travel with the purges that name them (erasure.md §4).
        page += try await authorisations(for: page, conn)
        // Then only the rows the caller lacks, whole, in one query.
        let lacking = zip(page, try Page.lacking(page, known: known)).filter(\.1).map(\.0)
        switch readAs {
        case .events:
            guard let events = try await whole(lacking, columns: Self.eventColumns, conn, { row in
                let event = try Self.event(row)
                return (event.id, event.isPurged, event)
            }) else { return nil }
            return Page(vector: server, covered: covered, entries: page, events: events, more: more)
        case .packed:
            guard let packed = try await whole(lacking, columns: Self.recordColumns, conn, { row in
                var cells = RawCells(row)
                guard let record = try cells.record() else { throw FieldlogError(.corrupt, "an event row is missing") }
                return try Self.withColumns(record: record) { columns in
                    guard let id = columns.eventID else { throw FieldlogError(.corrupt, "an event row has a bad id") }
                    return (id, columns.purged, Data(try Event.packed(stored: columns)))
                }
            }) else { return nil }
            return Page(vector: server, covered: covered, entries: page, events: [], packed: packed, more: more)
        }
    }

    /// A page's entries built from `DotFacts` (fetching in this snapshot the facts it lacks),
    /// with the dots purged or quarantined now read from the database; nil when the page spans
    /// more than an instance remembers (a laptop far behind): then the index is read.
    private func remembered(for org: String, _ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)], budget: Int,
                            _ tx: PostgresConnection) async throws -> [Page.Entry]? {
        guard facts.mayServe(ranges) else { return nil }
        try await rememberFacts(facts.lacking(ranges, in: schema), tx)
        var changes = [Dot: DotFacts.Change]()
        for try await (origin, seq, quarantined) in try await tx.query(PostgresQuery(unsafeSQL: "SELECT origin, seq, quarantined FROM fieldlog_dot_changes($1, $2, $3)",
                                                                                     binds: Self.arrays(ranges)), logger: logger).decode((String, Int64, Bool).self) {
            guard let origin = ReplicaID(origin), seq >= 1 else { throw FieldlogError(.corrupt, "a changed dot is malformed") }
            Self.note(quarantined ? .quarantined : .purged, at: Dot(origin, UInt64(seq)), in: &changes)
        }
        return facts.entries(for: org, ranges, in: schema, changes: changes, budget: budget)
    }

    /// Adds what changed at `dot` to `changes`: a quarantined dot is never served, purged or not.
    private static func note(_ change: DotFacts.Change, at dot: Dot, in changes: inout [Dot: DotFacts.Change]) {
        if change == .quarantined || changes[dot] == nil { changes[dot] = change }
    }

    /// Fetches and remembers what never changes about the events in `ranges` (`fieldlog_dot_facts`).
    private func rememberFacts(_ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)], _ conn: PostgresConnection) async throws {
        guard !ranges.isEmpty else { return }
        for try await row in try await conn.query(PostgresQuery(unsafeSQL: "SELECT origin, packed FROM fieldlog_dot_facts($1, $2, $3)", binds: Self.arrays(ranges)),
                                                  logger: logger) {
            var cells = RawCells(row)
            guard let origin = ReplicaID(try cells.text()), let packed = try cells.byteBuffer() else {
                throw FieldlogError(.corrupt, "a dot's facts row is malformed")
            }
            facts.remember(try DotFacts.unpack(packed), of: origin, in: schema)
        }
    }

    /// Ranges as three arrays: origins, los and his.
    private static func arrays(_ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)]) -> PostgresBindings {
        var b = PostgresBindings()
        b.append(ranges.map(\.origin.rawValue))
        b.append(ranges.map { Int64($0.lo) })
        b.append(ranges.map { Int64($0.hi) })
        return b
    }

    /// The `events.purged` held that name any of the page's tombstones (and are not in it): the
    /// purges of each tombstone's own organisation.
    private func authorisations(for page: [Page.Entry], _ tx: PostgresConnection) async throws -> [Page.Entry] {
        let tombstones = page.filter(\.purged)
        guard !tombstones.isEmpty else { return [] }
        let sending = Set(page.map(\.id.hex))
        let by = try await tx.query("""
            SELECT DISTINCT p.by FROM purges p JOIN events e ON e.id = p.id AND e.org = p.org WHERE p.id = ANY(\(tombstones.map(\.id.hex))::text[])
            """, logger: logger).decode(String.self).all().filter { !sending.contains($0) }
        guard !by.isEmpty else { return [] }
        var out = [Page.Entry]()
        for try await (id, origin, seq, purged) in try await tx.query("SELECT id, origin, seq, purged FROM events WHERE id = ANY(\(by)::text[]) ORDER BY id",
                                                                      logger: logger).decode((String, String, Int64, Bool).self) {
            out.append(try Page.Entry(id: id, origin: origin, seq: seq, purged: purged))
        }
        return out
    }
}
