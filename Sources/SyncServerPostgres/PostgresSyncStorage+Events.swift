import Foundation
import NIOCore
import OutreachCore
import PostgresNIO
import SyncServerKit

/// Events in PostgreSQL: the push in one transaction with one bulk insert, pages served by one
/// server-side function (`fieldlog_page_ids`) in a repeatable-read snapshot.
extension PostgresSyncStorage {
    static let eventColumns = "id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged"

    private struct Forked: Error { let dot: Dot }
    private struct Refused: Error { let dot: Dot; let rule: Authority.Rule }

    public func store(_ events: [Event], marking: SyncMark?) async throws -> Stored {
        guard !events.isEmpty else { return Stored(.stored(new: 0, alreadyHad: 0)) }
        let purges = events.compactMap(EventTable.Purge.init)
        do {
            // A push with no purge in it (every push of a crowd) is one statement; one that a
            // purge held names, or that carries purges, takes the transaction below.
            if purges.isEmpty, !events.contains(where: \.isPurged), let outcome = try await pushAlone(events, marking: marking) {
                remember(outcome, of: events)
                return outcome
            }
            let outcome = try await transaction { tx in try await self.push(events, purges: purges, marking: marking, tx) }
            remember(outcome, of: events)
            if !purges.isEmpty {
                // Frees the dead row versions that held the purged payloads (Protocol/erasure.md §4).
                try await execute("VACUUM events")
            }
            return outcome
        } catch let forked as Forked {
            return Stored(.rejected(forked.dot))
        } catch let refused as Refused {
            return Stored(.refused(refused.dot, refused.rule))
        }
    }

    /// What never changes about the events a push inserted, remembered for the pages to come.
    private func remember(_ outcome: Stored, of events: [Event]) {
        let inserted = Set(outcome.inserted.map(\.id))
        if !inserted.isEmpty { facts.remember(events.filter { inserted.contains($0.id) }, in: schema) }
    }

    /// A push carrying no purge and no tombstone, in one statement (`fieldlog_push`); nil when a
    /// purge held names one of its events (then nothing was written).
    private func pushAlone(_ events: [Event], marking: SyncMark?) async throws -> Stored? {
        let rows = events.map(EventTable.StoredEvent.init)
        var binds = PostgresBindings()
        binds.append(Set(rows.map(\.origin)).sorted())
        binds.append(marking?.deviceID)
        binds.append(marking?.at)
        Self.appendColumns(rows, withPurged: false, to: &binds)
        let query = PostgresQuery(unsafeSQL: "SELECT kind, id FROM fieldlog_push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)", binds: binds)
        var inserted = Set<String>(), named = false
        do {
            for try await (kind, id) in try await lease({ try await $0.query(query, logger: logger) }).decode((String, String).self) {
                if kind == "inserted" { inserted.insert(id) } else { named = true }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.forkState {
            let words = (error.serverInfo?[.message] ?? "").split(separator: " ")
            guard words.count == 2, let origin = ReplicaID(String(words[0])), let seq = UInt64(words[1]) else { throw error }
            throw Forked(dot: Dot(origin, seq))
        }
        return named ? nil : Self.outcome(rows: rows, events: events, inserted: inserted)
    }

    /// `fieldlog_push`'s SQLSTATE for a fork (its message: the dot's origin and seq).
    static let forkState = "FLFRK"

    /// What a push stored: the rows inserted (each id counted once) are new, the others were held.
    private static func outcome(rows: [EventTable.StoredEvent], events: [Event], inserted: Set<String>) -> Stored {
        var new = 0, had = 0, counted = Set<String>(), stored = [Page.Entry]()
        for (row, event) in zip(rows, events) {
            if inserted.contains(row.id) && counted.insert(row.id).inserted {
                new += 1
                stored.append(Page.Entry(event))
            } else {
                had += 1
            }
        }
        return Stored(.stored(new: new, alreadyHad: had), inserted: stored)
    }

    private func push(_ events: [Event], purges: [EventTable.Purge], marking: SyncMark?, _ tx: PostgresConnection) async throws -> Stored {
        // A purge never interleaves with other pushes; an origin's pushes go one at a time. Then
        // whatever the push carries is looked up in the purges held: a full copy may arrive after
        // the purge that names it, and is then stored purged (rule P3).
        let origins = Set(events.map(\.dot.replica.rawValue)).sorted()
        var named = Set<EventTable.Purged>()
        for try await (id, org) in try await tx.query("SELECT id, org FROM fieldlog_push_begin(\(!purges.isEmpty), \(origins)::text[], \(events.map(\.id.hex))::text[], \(marking?.deviceID), \(marking?.at))",
                                                      logger: logger).decode((String, String).self) {
            if let id = EventID(hex: id) { named.insert(EventTable.Purged(id: id, org: org)) }
        }

        // Purges first (erasure.md §3): P1 on what is held and carried; they decide which events
        // may arrive purged and which are stored purged.
        if !purges.isEmpty {
            var held = [EventID: String]()
            let ids = purges.flatMap { $0.ids.map(\.hex) }
            for try await (id, org) in try await tx.query("SELECT id, org FROM events WHERE id = ANY(\(ids)::text[])", logger: logger)
                .decode((String, String).self) {
                if let id = EventID(hex: id) { held[id] = org }
            }
            if let foreign = EventTable.foreignPurge(among: purges, carried: EventTable.carriedOwners(events), held: held) {
                throw Refused(dot: foreign.event.dot, rule: .foreignPurge)
            }
        }
        for p in purges { named.formUnion(p.named) }
        var rows = [EventTable.StoredEvent](), stored = [Event]()
        rows.reserveCapacity(events.count)
        for received in events {
            guard let event = EventTable.asStored(received, named: named) else { throw Refused(dot: received.dot, rule: .unauthorisedPurge) }
            rows.append(EventTable.StoredEvent(event))
            stored.append(event)
        }

        var inserted = Set<String>()
        for try await id in try await tx.query(Self.insert(rows), logger: logger).decode(String.self) { inserted.insert(id) }
        if inserted.count < rows.count {
            // What the server already held at the dots not inserted: the same event, or a fork.
            let left = rows.filter { !inserted.contains($0.id) }
            var stored = [String: String]()
            for try await (origin, seq, id) in try await tx.query("""
                SELECT e.origin, e.seq, e.id FROM events e
                JOIN unnest(\(left.map(\.origin))::text[], \(left.map(\.seq))::bigint[]) AS d(origin, seq) ON e.origin = d.origin AND e.seq = d.seq
                """, logger: logger).decode((String, Int64, String).self) { stored["\(origin)/\(seq)"] = id }
            for (row, event) in zip(rows, events) where !inserted.contains(row.id) && stored["\(row.origin)/\(row.seq)"] != row.id {
                throw Forked(dot: event.dot)  // rolls the whole transaction back
            }
        }
        let touched = Set(rows.filter { inserted.contains($0.id) }.map(\.origin)).sorted()
        if !touched.isEmpty { try await closeRuns(touched, tx) }
        for p in purges {
            let ids = p.ids.map(\.hex)
            try await tx.query("""
                INSERT INTO purges(id, org, by) SELECT i, \(p.event.org), \(p.event.id.hex) FROM unnest(\(ids)::text[]) AS i ON CONFLICT DO NOTHING
                """, logger: logger)
            try await tx.query("""
                UPDATE events SET payload = sha256(payload), purged = true WHERE id = ANY(\(ids)::text[]) AND org = \(p.event.org) AND NOT purged
                """, logger: logger)
        }
        return Self.outcome(rows: rows, events: stored, inserted: inserted)
    }

    /// One statement for the whole batch: each column an array, unnested; a dot already held
    /// inserts nothing. Returns the ids inserted.
    static func insert(_ rows: [EventTable.StoredEvent]) -> PostgresQuery {
        var binds = PostgresBindings()
        appendColumns(rows, withPurged: true, to: &binds)
        return PostgresQuery(unsafeSQL: """
            INSERT INTO events(\(eventColumns))
            SELECT id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, NULLIF(prev, ''), purged
            FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS r(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged)
            ON CONFLICT DO NOTHING
            RETURNING id
            """, binds: binds)
    }

    /// The rows' columns as arrays, in `eventColumns`' order (a prev absent as ''), the purged
    /// flags last and only `withPurged` (`fieldlog_push` stores none purged).
    static func appendColumns(_ rows: [EventTable.StoredEvent], withPurged: Bool, to binds: inout PostgresBindings) {
        binds.append(rows.map(\.id))
        binds.append(rows.map(\.origin))
        binds.append(rows.map(\.seq))
        binds.append(rows.map(\.org))
        binds.append(rows.map(\.scope))
        binds.append(rows.map(\.ctx))
        binds.append(rows.map(\.recordedAt))
        binds.append(rows.map(\.keyID))
        binds.append(rows.map { ByteBuffer(bytes: $0.payload) })
        binds.append(rows.map { ByteBuffer(bytes: $0.sig) })
        binds.append(rows.map { $0.prev ?? "" })
        if withPurged { binds.append(rows.map(\.purged)) }
    }

    /// Raises each origin's coverage over the run of events now held just above it: the events
    /// above the coverage whose seq minus their rank equals it are exactly that run. (One
    /// statement with the insert, through a data-modifying WITH, was planned as a scan of every
    /// event: 300 ms a push at 1M held.)
    func closeRuns(_ origins: [String], _ tx: PostgresConnection) async throws {
        try await tx.query("""
            INSERT INTO coverage(origin, seq)
            SELECT w.origin, w.base + (SELECT count(*) FROM (SELECT e.seq - row_number() OVER (ORDER BY e.seq) AS gap
                                                            FROM events e WHERE e.origin = w.origin AND e.seq > w.base) x
                                       WHERE x.gap = w.base)
            FROM (SELECT o AS origin, coalesce((SELECT c.seq FROM coverage c WHERE c.origin = o), 0) AS base
                  FROM unnest(\(origins)::text[]) AS o) w
            ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > coverage.seq
            """, logger: logger)
    }

    public func vector() async throws -> VersionVector {
        try vector(await rows("SELECT origin, seq FROM coverage"))
    }

    func vector(_ rows: [PostgresRow]) throws -> VersionVector {
        var v = VersionVector()
        for row in rows {
            let (origin, seq) = try row.decode((String, Int64).self)
            if let r = ReplicaID(origin) { v[r] = UInt64(seq) }
        }
        return v
    }

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
            let ranges = wanted.map { (origin: $0.key, lo: after[$0.key], hi: $0.value) }
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
            case "purged": if changes[Dot(origin, UInt64(seq))] == nil { changes[Dot(origin, UInt64(seq))] = .purged }
            case "quarantined": changes[Dot(origin, UInt64(seq))] = .quarantined
            default: throw FieldlogError(.corrupt, "a page's first row is of an unknown kind")
            }
        }
        try await afterBegin?()
        let wanted = Self.wanted(server, after: after)
        let ranges = wanted.map { (origin: $0.key, lo: after[$0.key], hi: $0.value) }
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
            let dot = Dot(origin, UInt64(seq))
            if quarantined || changes[dot] == nil { changes[dot] = quarantined ? .quarantined : .purged }
        }
        return facts.entries(for: org, ranges, in: schema, changes: changes, budget: budget)
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

    /// The index's rows (`origin, packed`: one origin's events each, as 41-byte records of id,
    /// seq and purged flag in any order), in order, each origin's events sorted by seq.
    private func indexed(_ rows: PostgresRowSequence) async throws -> [Page.Entry] {
        var out = [Page.Entry]()
        for try await row in rows {
            var cells = RawCells(row)
            guard let origin = ReplicaID(try cells.text()), let packed = try cells.byteBuffer() else {
                throw FieldlogError(.corrupt, "a page's index row is malformed")
            }
            out += try Self.unpackIndex(packed, origin: origin)
        }
        return out
    }

    /// One origin's packed index records (`fieldlog_page_ids`), sorted by seq; throws on a
    /// malformed record or a seq named twice.
    static func unpackIndex(_ packed: ByteBuffer, origin: ReplicaID) throws -> [Page.Entry] {
        let record = 41
        guard packed.readableBytes % record == 0 else { throw FieldlogError(.corrupt, "a page's index row has a partial record") }
        var entries = [Page.Entry]()
        entries.reserveCapacity(packed.readableBytes / record)
        try packed.withUnsafeReadableBytes { raw in
            var at = 0
            while at < raw.count {
                let seq = raw.loadUnaligned(fromByteOffset: at + 32, as: UInt64.self).bigEndian
                let flag = raw[at + 40]
                guard let id = EventID(bytes: UnsafeRawBufferPointer(rebasing: raw[at ..< at + 32])), seq >= 1, seq <= UInt64(Int64.max), flag <= 1 else {
                    throw FieldlogError(.corrupt, "a page's index row has a bad record")
                }
                entries.append(Page.Entry(id: id, dot: Dot(origin, seq), purged: flag == 1))
                at += record
            }
        }
        return try inSeqOrder(entries, seq: \.dot.seq)
    }

    /// The rows of `entries`, whole, in their order, each selected as `columns` and made by
    /// `read` into its id, whether it is purged, and what is returned. An origin's entries close together in seq (a laptop far behind: a run of one origin)
    /// are read by range through the (origin, seq) index, the others by id (one lookup each in
    /// the id index cost twice as much for a new laptop's pages); rows of a range not asked
    /// for (not entitled, quarantined) are read and left. Nil if a row is missing or its purge
    /// is not as its entry says (purged since, when read outside the page's snapshot).
    private func whole<T>(_ entries: [Page.Entry], columns: String, _ tx: PostgresConnection,
                          _ read: (PostgresRow) throws -> (id: EventID, purged: Bool, value: T)) async throws -> [T]? {
        guard !entries.isEmpty else { return [] }
        var origins = [String](), lows = [Int64](), highs = [Int64](), ids = [String]()
        for (origin, some) in Dictionary(grouping: entries, by: \.dot.replica) {
            let seqs = some.map(\.dot.seq)
            let (low, high) = (seqs.min()!, seqs.max()!)
            if some.count >= 16 && high - low < UInt64(2 * some.count) {
                origins.append(origin.rawValue)
                lows.append(Int64(low))
                highs.append(Int64(high))
            } else {
                ids += some.map(\.id.hex)
            }
        }
        var found = [EventID: (purged: Bool, value: T)]()
        found.reserveCapacity(entries.count)
        for try await row in try await tx.query("""
            SELECT \(unescaped: columns)
            FROM unnest(\(origins)::text[], \(lows)::bigint[], \(highs)::bigint[]) AS r(o, lo, hi) JOIN events ON origin = r.o AND seq BETWEEN r.lo AND r.hi
            UNION ALL
            SELECT \(unescaped: columns) FROM events WHERE id = ANY(\(ids)::text[])
            """, logger: logger) {
            let (id, purged, value) = try read(row)
            if found[id] == nil { found[id] = (purged, value) }
        }
        var out = [T]()
        out.reserveCapacity(entries.count)
        for entry in entries {
            guard let row = found[entry.id], row.purged == entry.purged else { return nil }
            out.append(row.value)
        }
        return out
    }

    /// An event from a row of `eventColumns`.
    static func event(_ row: PostgresRow) throws -> Event {
        var cells = RawCells(row)
        return try EventTable.event(from: EventTable.StoredEvent(
            id: try cells.text(), origin: try cells.text(), seq: try cells.int64(), org: try cells.text(), scope: try cells.text(), ctx: try cells.text(),
            recordedAt: try cells.int64(), keyID: try cells.text(), payload: try cells.data(), sig: try cells.data(), prev: try cells.optionalText(),
            purged: try cells.bool()))
    }

    /// `eventColumns` as one cell a row: a row value, which PostgreSQL sends in its binary
    /// record form (PostgresNIO's work per cell cost more than packing the event; concatenating
    /// the columns into one bytea in SQL cost PostgreSQL twice what this does). Read by
    /// `withColumns(record:)`.
    static let recordColumns = "ROW(\(eventColumns))"

    /// The binary form of a row value of `eventColumns` (PostgreSQL's `record_send`): the number
    /// of columns, then for each its type's OID, its length (-1: NULL) and its bytes, all
    /// big-endian; texts in UTF-8 (the connection's encoding), int8 as 8 bytes, bool as one.
    private static let recordTypes: [PostgresDataType] = [.text, .text, .int8, .text, .text, .text, .int8, .text, .bytea, .bytea, .text, .bool]

    /// The columns of a `recordColumns` cell, as bytes where the cell holds them, given to `body`.
    static func withColumns<T>(record: ByteBuffer, _ body: (EventTable.ColumnBytes) throws -> T) throws -> T {
        try record.withUnsafeReadableBytes { raw in
            var at = 0, column = 0
            func bad() -> FieldlogError { FieldlogError(.corrupt, "an event row's record is malformed") }
            func int32() throws -> Int32 {
                guard raw.count - at >= 4 else { throw bad() }
                defer { at += 4 }
                return Int32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
            }
            /// The next column's bytes (nil: NULL), checked to be of its type.
            func field() throws -> UnsafeRawBufferPointer? {
                guard column < recordTypes.count, UInt32(bitPattern: try int32()) == recordTypes[column].rawValue else { throw bad() }
                column += 1
                let n = Int(try int32())
                if n == -1 { return nil }
                guard n >= 0, raw.count - at >= n else { throw bad() }
                defer { at += n }
                return UnsafeRawBufferPointer(rebasing: raw[at..<at + n])
            }
            func bytes() throws -> UnsafeRawBufferPointer {
                guard let b = try field() else { throw bad() }
                return b
            }
            func int64() throws -> Int64 {
                let b = try bytes()
                guard b.count == 8 else { throw bad() }
                return Int64(bigEndian: b.loadUnaligned(as: Int64.self))
            }
            guard try int32() == Int32(recordTypes.count) else { throw bad() }
            let (id, origin, seq, org, scope, ctx, recordedAt) = (try bytes(), try bytes(), try int64(), try bytes(), try bytes(), try bytes(), try int64())
            let (keyID, payload, signature, prev, purged) = (try bytes(), try bytes(), try bytes(), try field(), try bytes())
            guard at == raw.count, purged.count == 1, purged[0] <= 1 else { throw bad() }
            return try body(EventTable.ColumnBytes(id: id, origin: origin, seq: seq, org: org, scope: scope, ctx: ctx, recordedAt: recordedAt, keyID: keyID,
                                                   payload: payload, signature: signature, prev: prev, purged: purged[0] == 1))
        }
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

    public func eventCount() async throws -> Int {
        Int(try await rows("SELECT count(*) FROM events").first?.decode(Int64.self) ?? 0)
    }

    public func quarantine(idPrefix: String, at time: Int64) async throws -> [String] {
        try await transaction { tx in
            let ids = try await tx.query("SELECT id FROM events WHERE id >= \(idPrefix) AND id < \(idPrefix + "g") ORDER BY id LIMIT 2",
                                         logger: logger).decode(String.self).all()
            guard ids.count <= 1 else { throw ServerError(.ambiguous, "\(idPrefix) matches more than one event: give more of its id") }
            for id in ids { try await tx.query("INSERT INTO quarantine(id, at) VALUES (\(id), \(time)) ON CONFLICT DO NOTHING", logger: logger) }
            return ids
        }
    }
}
