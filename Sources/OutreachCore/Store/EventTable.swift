import Foundation
import GRDB
import GRDBSQLite

/// SQLite copies bound values (`SQLITE_TRANSIENT`).
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The event log table and its vector, shared by a laptop's store and the sync server's:
/// one schema, one append-only rule, one bulk insert.
public enum EventTable {
    /// The event table (append-only, enforced by triggers) and the coverage vector (only grows).
    ///
    /// An event is found by its id through `id8`, its first 8 hex digits, and their index
    /// (`idIs`). The id is unique without an index of its own: it is the SHA-256 of the event's
    /// contents, its dot among them, and a dot is unique; two rows with one id would be a
    /// SHA-256 collision. An index of whole ids was the largest part of what a first sync wrote
    /// (random 64-character keys: every commit rewrote most of its pages); this one is a
    /// quarter of its size (docs/server-storage.md, BENCHMARKS.md). Ids sharing 8 digits (a few
    /// in a million, more if someone enrolled grinds them) only make a lookup read a row more.
    public static let schemaSQL = """
        CREATE TABLE events (
            rowid       INTEGER PRIMARY KEY,
            id          TEXT NOT NULL CHECK (length(id) = 64),
            origin      TEXT NOT NULL CHECK (length(origin) = 16),
            seq         INTEGER NOT NULL CHECK (seq >= 1),
            org         TEXT NOT NULL CHECK (org <> ''),
            scope       TEXT NOT NULL CHECK (scope <> ''),
            ctx         TEXT NOT NULL,
            recorded_at INTEGER NOT NULL,
            key_id      TEXT NOT NULL,
            payload     BLOB NOT NULL,
            sig         BLOB NOT NULL CHECK (length(sig) = 64),
            prev        TEXT CHECK (prev IS NULL OR length(prev) = 64),
            -- 1 once purged (Protocol/erasure.md): payload then holds the 32-byte SHA-256 the id commits to.
            purged      INTEGER NOT NULL DEFAULT 0 CHECK (purged IN (0, 1) AND (purged = 0 OR length(payload) = 32)),
            -- The id's first 8 digits, computed when read (`idIs`): the key of the id index.
            id8         TEXT GENERATED ALWAYS AS (substr(id, 1, 8)) VIRTUAL,
            UNIQUE (origin, seq)
        ) STRICT;
        CREATE INDEX events_id8 ON events(id8);

        -- Events named by an honoured events.purged (Protocol/erasure.md): the one authority for
        -- the one exception to append-only. Only grows.
        CREATE TABLE purges (
            id  TEXT NOT NULL CHECK (length(id) = 64),
            org TEXT NOT NULL,
            by  TEXT NOT NULL CHECK (length(by) = 64),
            PRIMARY KEY (id, org)
        ) STRICT;
        CREATE TRIGGER purges_no_update BEFORE UPDATE ON purges
        BEGIN SELECT RAISE(ABORT, 'a purge is never undone'); END;
        CREATE TRIGGER purges_no_delete BEFORE DELETE ON purges
        BEGIN SELECT RAISE(ABORT, 'a purge is never undone'); END;

        -- The only UPDATE allowed: an authorised purge, which replaces the payload by its digest
        -- and changes nothing else.
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        WHEN NOT (OLD.purged = 0 AND NEW.purged = 1 AND length(NEW.payload) = 32
                  AND NEW.rowid = OLD.rowid AND NEW.id = OLD.id AND NEW.origin = OLD.origin AND NEW.seq = OLD.seq
                  AND NEW.org = OLD.org AND NEW.scope = OLD.scope AND NEW.ctx = OLD.ctx AND NEW.recorded_at = OLD.recorded_at
                  AND NEW.key_id = OLD.key_id AND NEW.sig = OLD.sig AND NEW.prev IS OLD.prev
                  AND EXISTS (SELECT 1 FROM purges WHERE purges.id = OLD.id AND purges.org = OLD.org))
        BEGIN SELECT RAISE(ABORT, 'fieldlog events are append-only: only an authorised purge may rewrite one'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'fieldlog events are append-only: DELETE is refused'); END;

        -- Per origin, every event up to seq that this store is entitled to is held. Only grows.
        CREATE TABLE coverage (
            origin TEXT PRIMARY KEY NOT NULL CHECK (length(origin) = 16),
            seq    INTEGER NOT NULL CHECK (seq >= 0)
        ) STRICT;
        CREATE TRIGGER coverage_only_grows BEFORE UPDATE ON coverage WHEN NEW.seq < OLD.seq
        BEGIN SELECT RAISE(ABORT, 'a version vector never goes back'); END;
        CREATE TRIGGER coverage_no_delete BEFORE DELETE ON coverage
        BEGIN SELECT RAISE(ABORT, 'a version vector never goes back'); END;
        """

    /// For a store made before `id8` (its ids have an index of their own, and keep it): the
    /// column and its index, so that `idIs` finds events the same way in every store.
    public static func addIDPrefix(_ db: Database) throws {
        guard try !db.columns(in: "events").contains(where: { $0.name == "id8" }) else { return }
        try db.execute(sql: """
            ALTER TABLE events ADD COLUMN id8 TEXT GENERATED ALWAYS AS (substr(id, 1, 8)) VIRTUAL;
            CREATE INDEX events_id8 ON events(id8);
            """)
    }

    /// The condition that finds the event whose id is `value` (an SQL expression: a numbered
    /// parameter such as `?1`, or a column) through the `id8` index, in a table aliased `table`.
    /// Joined to a table of ids, write `ids CROSS JOIN events`: SQLite takes a non-unique index
    /// for as selective as the other table's, and would otherwise read every event.
    public static func idIs(_ value: String, in table: String? = nil) -> String {
        let t = table.map { $0 + "." } ?? ""
        return "\(t)id8 = substr(\(value), 1, 8) AND \(t)id = \(value)"
    }

    /// The condition for ids from `low` (inclusive) to `high` (exclusive), both SQL expressions,
    /// through the `id8` index (a prefix of an id lies between the prefixes of the bounds).
    public static func idBetween(_ low: String, _ high: String) -> String {
        "id8 >= substr(\(low), 1, 8) AND id8 <= substr(\(high), 1, 8) AND id >= \(low) AND id < \(high)"
    }

    /// The condition for ids before `id` (an SQL expression), through the `id8` index; order
    /// by `id8 DESC, id DESC` to have the nearest first.
    public static func idBelow(_ id: String) -> String { "id8 <= substr(\(id), 1, 8) AND id < \(id)" }

    /// The condition for ids after `id`, through the `id8` index; order by `id8, id`.
    public static func idAbove(_ id: String) -> String { "id8 >= substr(\(id), 1, 8) AND id > \(id)" }

    public static let columns = "id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged"
    public static let insertSQL = "INSERT INTO events(\(columns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    /// For merging: a dot already held inserts nothing (then the caller compares ids).
    public static let mergeSQL = insertSQL + " ON CONFLICT DO NOTHING"

    /// Inserts one event through a prepared statement, binding values directly: the bulk paths
    /// spend their time here, and GRDB's generic argument boxing cost more than SQLite itself.
    /// Returns whether a row was inserted (false only with `mergeSQL` when the dot was held).
    @discardableResult
    public static func insert(_ event: Event, _ statement: Statement, _ db: Database) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        func text(_ index: Int32, _ value: String) { bind(value, at: index, s) }
        bind(event.id, at: 1, s)
        bind(event.dot.replica, at: 2, s)
        sqlite3_bind_int64(s, 3, Int64(event.dot.seq))
        text(4, event.org)
        text(5, event.scope.rawValue)
        event.context.storedJSONBytes.withUnsafeBufferPointer { bindText($0, at: 6, s) }
        sqlite3_bind_int64(s, 7, event.recordedAt)
        text(8, event.keyID)
        (event.purgedDigest ?? event.sealedPayload).withUnsafeBytes { b in _ = sqlite3_bind_blob(s, 9, b.baseAddress, Int32(b.count), sqliteTransient) }
        event.signature.withUnsafeBytes { b in _ = sqlite3_bind_blob(s, 10, b.baseAddress, Int32(b.count), sqliteTransient) }
        if let prev = event.prev { bind(prev, at: 11, s) } else { sqlite3_bind_null(s, 11) }
        sqlite3_bind_int64(s, 12, event.isPurged ? 1 : 0)
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else { throw failure(rc, db) }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    /// Binds `value` as text to parameter `index` of a raw statement (SQLite copies it), for the
    /// paths that step statements through SQLite's own calls.
    public static func bind(_ value: String, at index: Int32, _ statement: SQLiteStatement) {
        var v = value
        v.withUTF8 { bindText($0, at: index, statement) }
    }

    /// Binds an event id's hex text (written on the stack: no string for SQLite to copy from).
    public static func bind(_ id: EventID, at index: Int32, _ statement: SQLiteStatement) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { out in
            id.write(hexInto: out)
            bindText(UnsafeBufferPointer(out), at: index, statement)
        }
    }

    /// Binds a replica id's hex text.
    public static func bind(_ replica: ReplicaID, at index: Int32, _ statement: SQLiteStatement) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { out in
            Hex.write(word: replica.bits, into: out, at: 0)
            bindText(UnsafeBufferPointer(out), at: index, statement)
        }
    }

    private static func bindText(_ b: UnsafeBufferPointer<UInt8>, at index: Int32, _ statement: SQLiteStatement) {
        _ = sqlite3_bind_text(statement, index, b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(b.count), sqliteTransient)
    }

    /// An event from a row selected with `columns` (after `offset` other columns); `verify`
    /// recomputes its id from its contents.
    public static func event(from row: Row, offset o: Int = 0, verify: Bool = false) throws -> Event {
        try event(from: StoredEvent(id: row[o], origin: row[o + 1], seq: row[o + 2], org: row[o + 3], scope: row[o + 4], ctx: row[o + 5], recordedAt: row[o + 6],
                                    keyID: row[o + 7], payload: row[o + 8], sig: row[o + 9], prev: row[o + 10], purged: (row[o + 11] as Int64) == 1), verify: verify)
    }

    /// An event as every backend stores it (SQLite on laptops and the server, PostgreSQL on the
    /// server).
    public static func event(from row: StoredEvent, verify: Bool = false) throws -> Event {
        try event(id: EventID(hex: row.id), origin: ReplicaID(row.origin), seq: row.seq, prev: row.prev.flatMap(EventID.init(hex:)), org: row.org,
                  scope: row.scope, ctx: row.ctx, recordedAt: row.recordedAt, keyID: row.keyID, payload: row.payload, sig: row.sig,
                  purged: row.purged, verify: verify)
    }

    /// An event from its stored columns, its ids already read (nil where malformed): the one
    /// decoder every row reader goes through. `verify` recomputes its id from its contents.
    static func event(id: EventID?, origin: ReplicaID?, seq: Int64, prev: EventID?, org: String, scope: String, ctx: String, recordedAt: Int64,
                      keyID: String, payload: Data, sig: Data, purged: Bool, verify: Bool = false) throws -> Event {
        guard let id, let origin, seq >= 1 else {
            throw FieldlogError(.corrupt, "an event row has a bad id or origin", hint: "run fieldlog check")
        }
        let context = try VersionVector(storedJSON: ctx)
        let dot = Dot(origin, UInt64(seq))
        let (sealed, digest) = purged ? (Data(), Optional(payload)) : (payload, nil)
        if verify {
            return try Event(claimedID: id, dot: dot, prev: prev, org: org, scope: Scope(scope), context: context, recordedAt: recordedAt,
                             keyID: keyID, sealedPayload: sealed, purgedDigest: digest, signature: sig)
        }
        return Event(storedID: id, dot: dot, prev: prev, org: org, scope: Scope(scope), context: context, recordedAt: recordedAt, keyID: keyID,
                     sealedPayload: sealed, purgedDigest: digest, signature: sig)
    }

    /// The current row of a statement stepped through SQLite's own calls: columns read without
    /// a generic row, and ids parsed from SQLite's own text, with no string made for them.
    public struct RawRow {
        public let statement: SQLiteStatement
        public init(_ statement: SQLiteStatement) { self.statement = statement }

        public func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(statement, i) }
        public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(statement, i) == SQLITE_NULL }

        /// The column's text as bytes (valid until the statement steps again).
        private func text(_ i: Int32) -> UnsafeBufferPointer<UInt8> {
            guard let p = sqlite3_column_text(statement, i) else { return UnsafeBufferPointer(start: nil, count: 0) }
            return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(statement, i)))
        }

        public func string(_ i: Int32) -> String { String(decoding: text(i), as: UTF8.self) }
        public func eventID(_ i: Int32) -> EventID? { EventID(utf8: text(i)) }
        public func replica(_ i: Int32) -> ReplicaID? { ReplicaID(utf8: text(i)) }

        /// The column's bytes (text or blob; valid until the statement steps again).
        public func bytes(_ i: Int32) -> UnsafeRawBufferPointer {
            guard let p = sqlite3_column_blob(statement, i) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
            return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(statement, i)))
        }

        /// The packed form of the event whose `columns` start at column `o`, with no `Event`
        /// built (`Event.packed(stored:)`).
        public func packed(at o: Int32 = 0) throws -> [UInt8] {
            try Event.packed(stored: ColumnBytes(id: bytes(o), origin: bytes(o + 1), seq: int64(o + 2), org: bytes(o + 3), scope: bytes(o + 4),
                                                 ctx: bytes(o + 5), recordedAt: int64(o + 6), keyID: bytes(o + 7), payload: bytes(o + 8),
                                                 signature: bytes(o + 9), prev: isNull(o + 10) ? nil : bytes(o + 10), purged: int64(o + 11) == 1))
        }

        public func data(_ i: Int32) -> Data { Data(bytes(i)) }

        /// The event whose `columns` start at column `o` (as `event(from:)` reads a stored one).
        public func event(at o: Int32 = 0) throws -> Event {
            try EventTable.event(id: eventID(o), origin: replica(o + 1), seq: int64(o + 2), prev: isNull(o + 10) ? nil : eventID(o + 10),
                                 org: string(o + 3), scope: string(o + 4), ctx: string(o + 5), recordedAt: int64(o + 6), keyID: string(o + 7),
                                 payload: data(o + 8), sig: data(o + 9), purged: int64(o + 11) == 1)
        }
    }

    /// Steps `statement` (its arguments bound) through SQLite's own calls, handing each row to `body`.
    public static func step(_ statement: SQLiteStatement, _ db: Database, _ body: (RawRow) throws -> Void) throws {
        let row = RawRow(statement)
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw failure(rc, db) }
            try body(row)
        }
    }

    /// The error of a statement stepped through SQLite's own calls that returned `rc`.
    private static func failure(_ rc: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
    }

    /// One stored event's columns as bytes where a database's row holds them (valid only while
    /// it does): texts as UTF-8, `payload` the digest once purged. `Event.packed(stored:)`
    /// packs them with no `Event` built.
    public struct ColumnBytes {
        public var id, origin: UnsafeRawBufferPointer
        public var seq: Int64
        public var org, scope, ctx: UnsafeRawBufferPointer
        public var recordedAt: Int64
        public var keyID, payload, signature: UnsafeRawBufferPointer
        public var prev: UnsafeRawBufferPointer?
        public var purged: Bool

        public init(id: UnsafeRawBufferPointer, origin: UnsafeRawBufferPointer, seq: Int64, org: UnsafeRawBufferPointer, scope: UnsafeRawBufferPointer,
                    ctx: UnsafeRawBufferPointer, recordedAt: Int64, keyID: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
                    signature: UnsafeRawBufferPointer, prev: UnsafeRawBufferPointer?, purged: Bool) {
            (self.id, self.origin, self.seq, self.org, self.scope, self.ctx) = (id, origin, seq, org, scope, ctx)
            (self.recordedAt, self.keyID, self.payload, self.signature, self.prev, self.purged) = (recordedAt, keyID, payload, signature, prev, purged)
        }

        /// The row's id read from its text (nil if it is not one).
        public var eventID: EventID? { EventID(utf8: id.assumingMemoryBound(to: UInt8.self)) }
    }

    /// One stored event's columns, as `schemaSQL` names them (`payload` holds the digest once purged).
    public struct StoredEvent: Sendable {
        public var id, origin: String
        public var seq: Int64
        public var org, scope, ctx: String
        public var recordedAt: Int64
        public var keyID: String
        public var payload, sig: Data
        public var prev: String?
        public var purged: Bool

        public init(id: String, origin: String, seq: Int64, org: String, scope: String, ctx: String, recordedAt: Int64, keyID: String,
                    payload: Data, sig: Data, prev: String?, purged: Bool) {
            (self.id, self.origin, self.seq, self.org, self.scope, self.ctx) = (id, origin, seq, org, scope, ctx)
            (self.recordedAt, self.keyID, self.payload, self.sig, self.prev, self.purged) = (recordedAt, keyID, payload, sig, prev, purged)
        }

        /// The columns of `event` as stored.
        public init(_ event: Event) {
            self.init(id: event.id.hex, origin: event.dot.replica.rawValue, seq: Int64(event.dot.seq), org: event.org, scope: event.scope.rawValue,
                      ctx: event.context.storedJSON, recordedAt: event.recordedAt, keyID: event.keyID,
                      payload: event.purgedDigest ?? event.sealedPayload, sig: event.signature, prev: event.prev?.hex, purged: event.isPurged)
        }
    }

    /// The coverage vector.
    public static func vector(_ db: Database) throws -> VersionVector {
        var v = VersionVector()
        let rows = try Row.fetchCursor(db.cachedStatement(sql: "SELECT origin, seq FROM coverage"))
        while let row = try rows.next() {
            if let r = ReplicaID(row[0]) { v[r] = UInt64(row[1] as Int64) }
        }
        return v
    }

    /// Raises an origin's coverage (never lowers it).
    public static func setCoverage(_ db: Database, _ replica: ReplicaID, _ seq: UInt64) throws {
        try db.cachedStatement(sql: "INSERT INTO coverage(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > coverage.seq")
            .execute(arguments: [replica.rawValue, Int64(seq)])
    }

    /// The origins whose coverage a transaction may raise, with the seqs it stored of each: the
    /// runs those close are found without asking the database for each event.
    public struct Touched: Sendable {
        private(set) var seqs: [ReplicaID: Set<UInt64>] = [:]
        public init() {}

        /// An event stored at `dot`.
        public mutating func stored(_ dot: Dot) { seqs[dot.replica, default: []].insert(dot.seq) }

        /// An origin whose coverage moved for another reason (a page's covered vector).
        public mutating func touch(_ replica: ReplicaID) { if seqs[replica] == nil { seqs[replica] = [] } }
    }

    /// Raises each touched origin's coverage over the run of events now held just above it: the
    /// seqs stored in this transaction, then what the database held already.
    public static func closeRuns(_ db: Database, _ touched: Touched, from vector: VersionVector) throws {
        let next = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE origin = ? AND seq = ?")
        for (replica, stored) in touched.seqs {
            var seq = vector[replica]
            while try stored.contains(seq + 1) || Bool.fetchOne(next, arguments: [replica.rawValue, Int64(seq + 1)]) != nil { seq += 1 }
            try setCoverage(db, replica, seq)
        }
    }
}
