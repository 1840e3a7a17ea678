import Foundation
import NIOCore
import OutreachCore
import PostgresNIO
import SyncServerKit

/// A page's rows read from PostgreSQL: the packed index, the rows the caller lacks, and the
/// binary row values they come in.
extension PostgresSyncStorage {
    /// The index's rows (`origin, packed`: one origin's events each, as 41-byte records of id,
    /// seq and purged flag in any order), in order, each origin's events sorted by seq.
    func indexed(_ rows: PostgresRowSequence) async throws -> [Page.Entry] {
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
    func whole<T>(_ entries: [Page.Entry], columns: String, _ tx: PostgresConnection,
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
}
