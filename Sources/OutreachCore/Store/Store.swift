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
        SQLiteProcess.prepare()
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")  // an acknowledged event survives power loss
            // What SQLite frees is overwritten with zeros, so a purge leaves no copy in free pages (erasure.md §4).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            // Up to 64 MiB of pages in memory (SQLite's default is 2 MiB): a sync stores events
            // under random ids, and each insert into the id index otherwise reads its page back
            // from the file (a first sync of 100k events: 35 ms a page instead of 46).
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        do {
            return try DatabaseQueue(path: url.path, configuration: config)
        } catch {
            throw FieldlogError(.corrupt, "cannot open the store at \(url.path): \(error)", hint: "run fieldlog check")
        }
    }

    /// Creates a new store, private from its first byte, for `replica` of `org` in `partnership`
    /// with `roster`; `secrets` go into its metadata as given (the wrapped master key and the
    /// sealed keyring: the store holds them, only the vault above it opens them).
    static func create(at directory: URL, device: String, replica: ReplicaID, org: String, partnership: String, roster: Roster,
                       secrets: [String: String]) throws -> Store {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", input: .storeDirectory)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let info = StoreInfo(storeID: Hex.random(bytes: 8), replica: replica, org: org, device: device,
                             partnershipID: partnership, createdAt: WallClock.nowMillis())
        let url = databaseURL(directory)
        // Private from the first byte: SQLite gives the WAL and shared-memory files the database
        // file's mode, so the file is made 0600 before SQLite opens it.
        let fd = Foundation.open(url.path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FieldlogError(.io, "cannot create \(url.path): \(String(cString: strerror(errno)))", input: .storeDirectory) }
        close(fd)
        let pool = try connect(url)
        try migrator.migrate(pool)
        try pool.write { db in
            var values: [String: String] = [
                "format": format,
                "storeId": info.storeID, "replica": info.replica.rawValue, "org": org, "device": device,
                "partnership": info.partnershipID, "createdAt": String(info.createdAt),
            ]
            values.merge(secrets) { a, _ in a }
            for (k, v) in values { try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [k, v]) }
            try save(roster, db)
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

    // MARK: Metadata

    func metaValueIfAny(_ key: String) throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) }
    }

    func setMetaValue(_ key: String, _ value: String) throws { try setMetaValues([key: value]) }

    /// Sets metadata values in one transaction.
    func setMetaValues(_ values: [String: String]) throws {
        try db.write { db in
            for (key, value) in values { try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value]) }
        }
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
            [try String.fetchOne(db, sql: "SELECT id FROM events WHERE \(EventTable.idBelow("?1")) ORDER BY id8 DESC, id DESC LIMIT 1", arguments: [id.hex]),
             try String.fetchOne(db, sql: "SELECT id FROM events WHERE \(EventTable.idAbove("?1")) ORDER BY id8, id LIMIT 1", arguments: [id.hex])]
                .compactMap { $0 }
        }
    }

    /// The events held among `ids`, by id.
    public func events(ids: some Sequence<EventID>) throws -> [EventID: Event] {
        try db.read { db in
            let row = try db.cachedStatement(sql: "SELECT \(EventTable.columns) FROM events WHERE \(EventTable.idIs("?1"))")
            var out = [EventID: Event]()
            for id in ids where out[id] == nil {
                if let r = try Row.fetchOne(row, arguments: [id.hex]) { out[id] = try EventTable.event(from: r) }
            }
            return out
        }
    }

    /// Events whose id begins with `prefix` (lowercase hex).
    public func events(idPrefix prefix: String) throws -> [Event] {
        try events(sql: "SELECT \(EventTable.columns) FROM events WHERE \(EventTable.idBetween("?1", "?2")) ORDER BY id",
                   arguments: [prefix, prefix + "g"])
    }

    func events(sql: String, arguments: StatementArguments = []) throws -> [Event] {
        try db.read { db in
            var out = [Event]()
            let statement = try db.makeStatement(sql: sql)
            try statement.setArguments(arguments)
            try EventTable.step(statement.sqliteStatement, db) { out.append(try $0.event()) }
            return out
        }
    }


}
