import Crypto
import Foundation
import GRDB
import GRDBSQLite

/// SQLite copies bound values (`SQLITE_TRANSIENT`).
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One laptop's local log: a single SQLite file (`fieldlog.sqlite` in the store directory).
///
/// Writes happen in one transaction each and are committed (WAL) before a command reports
/// success. The event table cannot be updated or deleted from, even by hand (SQLite triggers).
public final class Store: Sendable {
    public static let fileName = "fieldlog.sqlite"

    public let directory: URL
    public let info: StoreInfo
    let db: DatabaseQueue

    private init(directory: URL, db: DatabaseQueue, info: StoreInfo) {
        self.directory = directory
        self.db = db
        self.info = info
    }

    static func databaseURL(_ directory: URL) -> URL { directory.appendingPathComponent(fileName) }

    public static func exists(at directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: databaseURL(directory).path)
    }

    /// One connection per process (a command is one process), in WAL mode.
    private static func connect(_ url: URL) throws -> DatabaseQueue {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")  // an acknowledged event survives power loss
        }
        do {
            return try DatabaseQueue(path: url.path, configuration: config)
        } catch {
            throw FieldlogError(.corrupt, "cannot open the store at \(url.path): \(error)", hint: "run fieldlog check")
        }
    }

    /// Creates a new store with a new replica id; the master key is wrapped under `passphrase`.
    /// Returns the store and its master key (to unlock the session without deriving again).
    public static func create(at directory: URL, org: String, device: String, keyring: Keyring, passphrase: String) throws -> (Store, SymmetricKey) {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", hint: "use --store DIR for another one")
        }
        let masterKey = SymmetricKey(size: .bits256)
        let wrapped = try PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)
        return (try create(at: directory, org: org, device: device, keyring: keyring, masterKey: masterKey, wrapped: wrapped), masterKey)
    }

    /// Creates a store around an already wrapped master key (tests reuse one derivation).
    static func create(at directory: URL, org: String, device: String, keyring: Keyring, masterKey: SymmetricKey, wrapped: PassphraseSealed) throws -> Store {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", hint: "use --store DIR for another one")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let sealedKeyring = try ChaChaPoly.seal(keyring.json.canonicalData(), using: masterKey,
                                               authenticating: Data("fieldlog/keyring/v1".utf8)).combined
        let info = StoreInfo(storeID: Hex.random(bytes: 8), replica: ReplicaID.random(), org: org, device: device,
                             partnershipID: keyring.partnershipID, createdAt: Clock.nowMillis())
        let url = databaseURL(directory)
        let pool = try connect(url)
        try migrator.migrate(pool)
        try pool.write { db in
            let values: [String: String] = [
                "format": "fieldlog-store/1",
                "storeId": info.storeID, "replica": info.replica.rawValue, "org": org, "device": device,
                "partnership": info.partnershipID, "createdAt": String(info.createdAt),
                "masterKey": wrapped.json.canonicalString(),
                "keyring": sealedKeyring.base64EncodedString(),
            ]
            for (k, v) in values { try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [k, v]) }
        }
        chmod(url.path, 0o600)
        return Store(directory: directory, db: pool, info: info)
    }

    /// Opens an existing store.
    public static func open(at directory: URL) throws -> Store {
        guard exists(at: directory) else {
            throw FieldlogError(.noStore, "no store at \(directory.path)", hint: "run fieldlog init, or pass --store DIR")
        }
        let pool = try connect(databaseURL(directory))
        let superseded = try pool.read { try migrator.hasBeenSuperseded($0) }
        guard !superseded else {
            throw FieldlogError(.corrupt, "this store was written by a newer fieldlog", hint: "upgrade fieldlog; the store is untouched")
        }
        try migrator.migrate(pool)
        let meta = try pool.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM meta").map { ($0[0] as String, $0[1] as String) })
        }
        guard let storeID = meta["storeId"], let replica = meta["replica"].flatMap(ReplicaID.init), let org = meta["org"],
            let device = meta["device"], let partnership = meta["partnership"], let created = meta["createdAt"].flatMap(Int64.init)
        else { throw FieldlogError(.corrupt, "the store's metadata is incomplete", hint: "run fieldlog check") }
        let info = StoreInfo(storeID: storeID, replica: replica, org: org, device: device, partnershipID: partnership, createdAt: created)
        return Store(directory: directory, db: pool, info: info)
    }

    // MARK: Keys

    /// Unwraps the master key with the worker's passphrase (slow: a key derivation).
    public func masterKey(passphrase: String) throws -> SymmetricKey {
        let text = try metaValue("masterKey")
        let sealed = try PassphraseSealed(json: try JSONValue.parse(text))
        return SymmetricKey(data: try sealed.open(passphrase: passphrase))
    }

    /// Opens the keyring with the master key.
    public func keyring(masterKey: SymmetricKey) throws -> Keyring {
        guard let box = Data(base64Encoded: try metaValue("keyring")) else { throw FieldlogError(.corrupt, "the store's keyring is unreadable") }
        do {
            let plain = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: masterKey,
                                            authenticating: Data("fieldlog/keyring/v1".utf8))
            return try Keyring(json: try JSONValue.parse(plain))
        } catch let error as FieldlogError {
            throw error
        } catch {
            throw FieldlogError(.locked, "the unlocked session does not fit this store", hint: "run fieldlog unlock")
        }
    }

    func metaValue(_ key: String) throws -> String {
        guard let value = try db.read({ try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }) else {
            throw FieldlogError(.corrupt, "the store has no \(key)", hint: "run fieldlog check")
        }
        return value
    }

    // MARK: Reading

    /// The store's version vector.
    public func vector() throws -> VersionVector {
        try db.read { try Store.vector($0) }
    }

    static func vector(_ db: Database) throws -> VersionVector {
        var v = VersionVector()
        let rows = try Row.fetchCursor(db, sql: "SELECT origin, seq FROM coverage")
        while let row = try rows.next() {
            if let r = ReplicaID(row[0]) { v[r] = UInt64(row[1] as Int64) }
        }
        return v
    }

    /// How many events the store holds.
    public func eventCount() throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events") ?? 0 }
    }

    /// Every event, in local arrival order.
    public func allEvents() throws -> [Event] {
        try events(sql: "SELECT id, origin, seq, org, scope, ctx, recorded_at, key_id, payload FROM events ORDER BY rowid")
    }

    /// The events that a peer whose vector is `vector` lacks, per origin in seq order.
    public func events(notCoveredBy vector: VersionVector) throws -> [Event] {
        try allEvents().filter { !vector.covers($0.dot) }
    }

    /// Events whose id begins with `prefix` (lowercase hex).
    public func events(idPrefix prefix: String) throws -> [Event] {
        try events(sql: "SELECT id, origin, seq, org, scope, ctx, recorded_at, key_id, payload FROM events WHERE id >= ? AND id < ? ORDER BY id",
                   arguments: [prefix, prefix + "g"])
    }

    func events(sql: String, arguments: StatementArguments = []) throws -> [Event] {
        try db.read { db in
            var out = [Event]()
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() { out.append(try Store.event(from: row)) }
            return out
        }
    }

    /// An event from a row; `verify` recomputes its id from its contents (what `check` does).
    static func event(from row: Row, verify: Bool = false) throws -> Event {
        guard let id = EventID(hex: row[0]), let origin = ReplicaID(row[1]) else {
            throw FieldlogError(.corrupt, "an event row has a bad id or origin", hint: "run fieldlog check")
        }
        let ctx = try VersionVector(json: try JSONValue.parse(row[5] as String))
        let dot = Dot(origin, UInt64(row[2] as Int64))
        if verify {
            return try Event(claimedID: id, dot: dot, org: row[3], scope: Scope(row[4]), context: ctx, recordedAt: row[6], keyID: row[7], sealedPayload: row[8])
        }
        return Event(storedID: id, dot: dot, org: row[3], scope: Scope(row[4]), context: ctx, recordedAt: row[6], keyID: row[7], sealedPayload: row[8])
    }

    /// Inserts one event through a prepared statement, binding values directly: the bulk paths
    /// (append, import) spend their time here, and GRDB's generic argument boxing cost more than
    /// SQLite itself.
    /// Returns whether a row was inserted (false only with `mergeSQL` when the event was already there).
    @discardableResult
    static func insert(_ event: Event, _ statement: Statement, _ db: Database) throws -> Bool {
        let s = statement.sqliteStatement
        sqlite3_reset(s)
        func text(_ index: Int32, _ value: String) {
            var v = value
            v.withUTF8 { b in _ = sqlite3_bind_text(s, index, b.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(b.count), sqliteTransient) }
        }
        text(1, event.id.hex)
        text(2, event.dot.replica.rawValue)
        sqlite3_bind_int64(s, 3, Int64(event.dot.seq))
        text(4, event.org)
        text(5, event.scope.rawValue)
        text(6, event.context.json.canonicalString())
        sqlite3_bind_int64(s, 7, event.recordedAt)
        text(8, event.keyID)
        event.sealedPayload.withUnsafeBytes { b in _ = sqlite3_bind_blob(s, 9, b.baseAddress, Int32(b.count), sqliteTransient) }
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    static let insertSQL = "INSERT INTO events(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload) VALUES (?,?,?,?,?,?,?,?,?)"
    /// For merging: a dot already held inserts nothing (then the caller compares ids).
    static let mergeSQL = insertSQL + " ON CONFLICT DO NOTHING"

    static func setCoverage(_ db: Database, _ replica: ReplicaID, _ seq: UInt64) throws {
        try db.execute(sql: "INSERT INTO coverage(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > coverage.seq",
                       arguments: [replica.rawValue, Int64(seq)])
    }
}
