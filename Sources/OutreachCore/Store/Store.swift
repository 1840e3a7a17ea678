import Crypto
import Foundation
import GRDB

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
            // What SQLite frees is overwritten with zeros, so a purge leaves no copy in free pages (erasure.md §4).
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            return try DatabaseQueue(path: url.path, configuration: config)
        } catch {
            throw FieldlogError(.corrupt, "cannot open the store at \(url.path): \(error)", hint: "run fieldlog check")
        }
    }

    /// Creates a new store for a device whose keyring, replica and roster are `setup`; the master
    /// key is wrapped under `passphrase`. Returns the store and its master key (to unlock the
    /// session without deriving again).
    public static func create(at directory: URL, device: String, setup: DeviceSetup, passphrase: String) throws -> (Store, SymmetricKey) {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", input: .storeDirectory)
        }
        let masterKey = SymmetricKey(size: .bits256)
        let wrapped = try PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)
        return (try create(at: directory, device: device, setup: setup, masterKey: masterKey, wrapped: wrapped), masterKey)
    }

    /// Creates a store around an already wrapped master key (tests reuse one derivation).
    static func create(at directory: URL, device: String, setup: DeviceSetup, masterKey: SymmetricKey, wrapped: PassphraseSealed) throws -> Store {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", input: .storeDirectory)
        }
        let keyring = setup.keyring
        guard let mine = setup.roster.signer(of: setup.replica), mine.key == keyring.deviceKey.publicKey, mine.org == keyring.org else {
            throw FieldlogError(.notPermitted, "this laptop's key is not certified for \(keyring.org)", hint: "make a new invite on an enrolled laptop")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let sealedKeyring = try ChaChaPoly.seal(keyring.json.canonicalData(), using: masterKey,
                                               authenticating: Data("fieldlog/keyring/v1".utf8)).combined
        let info = StoreInfo(storeID: Hex.random(bytes: 8), replica: setup.replica, org: keyring.org, device: device,
                             partnershipID: keyring.partnershipID, createdAt: WallClock.nowMillis())
        let url = databaseURL(directory)
        // Private from the first byte: SQLite gives the WAL and shared-memory files the database
        // file's mode, so the file is made 0600 before SQLite opens it.
        let fd = Foundation.open(url.path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FieldlogError(.io, "cannot create \(url.path): \(String(cString: strerror(errno)))", input: .storeDirectory) }
        close(fd)
        let pool = try connect(url)
        try migrator.migrate(pool)
        try pool.write { db in
            let values: [String: String] = [
                "format": format,
                "storeId": info.storeID, "replica": info.replica.rawValue, "org": keyring.org, "device": device,
                "partnership": info.partnershipID, "createdAt": String(info.createdAt),
                "masterKey": wrapped.json.canonicalString(),
                "keyring": sealedKeyring.base64EncodedString(),
            ]
            for (k, v) in values { try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [k, v]) }
            try save(setup.roster, db)
        }
        restrictFiles(directory)
        return Store(directory: directory, db: pool, info: info)
    }

    /// The store's directory 0700 and its database files 0600 (those that exist), on every open:
    /// another user of the laptop reads nothing, whatever a copy or a restore left behind.
    static func restrictFiles(_ directory: URL) {
        chmod(directory.path, 0o700)
        for suffix in ["", "-wal", "-shm"] { chmod(databaseURL(directory).path + suffix, 0o600) }
    }

    /// Opens an existing store.
    public static func open(at directory: URL) throws -> Store {
        guard exists(at: directory) else {
            throw FieldlogError(.noStore, "no store at \(directory.path)", input: .storeDirectory)
        }
        // A store copied or restored with looser modes is made private again, before SQLite opens
        // it (a WAL it creates then takes the database file's mode).
        restrictFiles(directory)
        let pool = try connect(databaseURL(directory))
        let oldFormat = try pool.read { db in
            try db.tableExists("meta") ? String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'format'") : nil
        }
        if oldFormat == "fieldlog-store/2" {
            throw FieldlogError(.corrupt, "this store was made by fieldlog 0.2, before erasure changed how event ids are computed, and cannot be upgraded in place",
                                hint: "sync it with fieldlog 0.2 first, then move \(directory.path) aside and join again from an invite made on an up-to-date laptop")
        }
        if oldFormat == "fieldlog-store/1" {
            throw FieldlogError(.corrupt, "this store was made by fieldlog 0.1, before events were signed, and cannot be upgraded in place",
                                hint: "sync it with fieldlog 0.1 first, then move \(directory.path) aside and join again from an invite made on an up-to-date laptop")
        }
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

    /// Whether the master key's wrap uses outdated parameters (then `unlock` wraps it again).
    public func masterKeyWrapIsOutdated() throws -> Bool {
        try PassphraseSealed(json: try JSONValue.parse(try metaValue("masterKey"))).kdf.isOutdated
    }

    /// Wraps the same master key again under `passphrase` with today's parameters.
    public func rewrapMasterKey(_ masterKey: SymmetricKey, passphrase: String) throws {
        let wrapped = try PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)
        try db.write { try $0.execute(sql: "UPDATE meta SET value = ? WHERE key = 'masterKey'", arguments: [wrapped.json.canonicalString()]) }
    }

    /// Changes the passphrase, and the master key with it: the keyring is sealed again under a
    /// new master key wrapped under `new`, in one transaction, so neither the old passphrase nor
    /// a copy of the old unlocked key opens anything afterwards. Returns the new master key.
    public func changePassphrase(from old: String, to new: String) throws -> SymmetricKey {
        let keyring = try keyring(masterKey: try masterKey(passphrase: old))
        let master = SymmetricKey(size: .bits256)
        let wrapped = try PassphraseSealed.seal(master.withUnsafeBytes { Data($0) }, passphrase: new)
        let sealedKeyring = try ChaChaPoly.seal(keyring.sealedPart.json.canonicalData(), using: master, authenticating: Data("fieldlog/keyring/v1".utf8)).combined
        try db.write { db in
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'masterKey'", arguments: [wrapped.json.canonicalString()])
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'keyring'", arguments: [sealedKeyring.base64EncodedString()])
        }
        return master
    }

    /// Opens the keyring with the master key, with the keys granted to this device since.
    public func keyring(masterKey: SymmetricKey) throws -> Keyring {
        guard let box = Data(base64Encoded: try metaValue("keyring")) else { throw FieldlogError(.corrupt, "the store's keyring is unreadable") }
        do {
            let plain = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: masterKey,
                                            authenticating: Data("fieldlog/keyring/v1".utf8))
            return try withGrantedKeys(try Keyring(json: try JSONValue.parse(plain)))
        } catch let error as FieldlogError {
            throw error
        } catch {
            throw FieldlogError(.locked, "the unlocked session does not fit this store", hint: "run fieldlog unlock")
        }
    }

    func metaValueIfAny(_ key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    func setMetaValue(_ key: String, _ value: String) throws {
        try db.write { try $0.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value]) }
    }

    func metaValue(_ key: String) throws -> String {
        guard let value = try metaValueIfAny(key) else {
            throw FieldlogError(.corrupt, "the store has no \(key)", hint: "run fieldlog check")
        }
        return value
    }

    // MARK: Reading

    /// The store's version vector.
    public func vector() throws -> VersionVector {
        try db.read { try EventTable.vector($0) }
    }


    /// How many events the store holds: the last row id, since rows are numbered from 1 and never
    /// deleted (a trigger refuses it); counting them would read every page of an index, ~35 ms
    /// at a million events for every command that prints a ref.
    public func eventCount() throws -> Int {
        try Int(contentMark())
    }

    /// Changes whenever an event is stored: the last row id. (The vector alone does not: an
    /// event beyond a gap is stored without moving it.)
    public func contentMark() throws -> Int64 {
        // (Not a count: counting a million rows reads every page of an index; rows are never
        // deleted, a trigger refuses it, so every event stored moves the last row id.)
        try db.read { try Int64.fetchOne($0, sql: "SELECT coalesce(max(rowid), 0) FROM events") ?? 0 }
    }

    /// Every event, in local arrival order.
    public func allEvents() throws -> [Event] {
        try events(sql: "SELECT \(EventTable.columns) FROM events ORDER BY rowid")
    }

    /// The events that a peer whose vector is `vector` lacks, by origin then ascending seq,
    /// at most `limit` of them: one indexed query per origin this store holds events of.
    public func events(notCoveredBy vector: VersionVector, limit: Int = .max) throws -> [Event] {
        try db.read { db in
            var out = [Event]()
            let origins = try String.fetchAll(db, sql: "SELECT origin FROM coverage ORDER BY origin").compactMap(ReplicaID.init)
            let statement = try db.cachedStatement(sql: "SELECT \(EventTable.columns) FROM events WHERE origin = ? AND seq > ? ORDER BY seq LIMIT ?")
            for origin in origins where out.count < limit {
                let rows = try Row.fetchCursor(statement, arguments: [origin.rawValue, Int64(vector[origin]), Int64(min(limit - out.count, Int(Int32.max)))])
                while let row = try rows.next() { out.append(try EventTable.event(from: row)) }
            }
            return out
        }
    }

    /// The last `limit` events stored (written here or received), last first.
    public func latestEvents(_ limit: Int) throws -> [Event] {
        try events(sql: "SELECT \(EventTable.columns) FROM events ORDER BY rowid DESC LIMIT ?", arguments: [limit])
    }

    /// The ids just before and just after `id` in sorted order (through the id index: a ref
    /// needs no list of every id).
    public func neighbourIDs(of id: EventID) throws -> [String] {
        try db.read { db in
            [try String.fetchOne(db, sql: "SELECT id FROM events WHERE id < ? ORDER BY id DESC LIMIT 1", arguments: [id.hex]),
             try String.fetchOne(db, sql: "SELECT id FROM events WHERE id > ? ORDER BY id LIMIT 1", arguments: [id.hex])].compactMap { $0 }
        }
    }

    /// Events whose id begins with `prefix` (lowercase hex).
    public func events(idPrefix prefix: String) throws -> [Event] {
        try events(sql: "SELECT \(EventTable.columns) FROM events WHERE id >= ? AND id < ? ORDER BY id",
                   arguments: [prefix, prefix + "g"])
    }

    func events(sql: String, arguments: StatementArguments = []) throws -> [Event] {
        try db.read { db in
            var out = [Event]()
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while let row = try rows.next() { out.append(try EventTable.event(from: row)) }
            return out
        }
    }


}
