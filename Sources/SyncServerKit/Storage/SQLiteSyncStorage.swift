import Foundation
import GRDB
import OutreachCore

/// The default storage: one SQLite file (`sync.sqlite`) in the server's data directory, WAL,
/// synchronous FULL (an acknowledged event survives power loss). Payloads stay sealed.
public final class SQLiteSyncStorage: SyncStorage {
    public static let fileName = "sync.sqlite"
    let db: DatabasePool
    /// Pushes and last-sync marks share flushed commits (`GroupCommit`).
    let commits: GroupCommit
    /// What never changes about recent events, remembered to build a crowd's pages (`DotFacts`),
    /// shared by a server's partnerships under each one's name (`partnership`).
    let facts: DotFacts
    let partnership: String?

    /// `facts` and `partnership`: the server's memory of recent dots, and this storage's name in it.
    public init(directory: URL, facts: DotFacts = DotFacts(), partnership: String? = nil) throws {
        (self.facts, self.partnership) = (facts, partnership)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        SQLiteProcess.prepare()
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")  // a purge leaves no copy in free pages (erasure.md §4)
        }
        db = try DatabasePool(path: directory.appendingPathComponent(Self.fileName).path, configuration: config)
        let old = try db.read { db in
            try db.tableExists("grdb_migrations") ? String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").first : nil
        }
        if let old, old == "v1" || old == "v2-signed" {
            throw ServerError(.exists, "the data directory \(directory.path) was written by fieldlog \(old == "v1" ? "0.1, before events were signed" : "0.2, before erasure changed event ids"); "
                              + "start the server on a new, empty data directory: the laptops refill it at their next sync once re-enrolled")
        }
        try Self.migrator.migrate(db)
        commits = GroupCommit(db)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v3-erasable") { db in
            try db.execute(sql: EventTable.schemaSQL)
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;
                CREATE TABLE certificates (
                    fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 32), org TEXT NOT NULL,
                    replica TEXT NOT NULL, role TEXT NOT NULL, cert TEXT NOT NULL
                ) STRICT;
                CREATE TABLE pins (org TEXT PRIMARY KEY NOT NULL, fingerprint TEXT NOT NULL) STRICT;
                CREATE TRIGGER pins_never_change BEFORE UPDATE ON pins BEGIN SELECT RAISE(ABORT, 'a pinned root never changes'); END;
                CREATE TABLE quarantine (id TEXT PRIMARY KEY NOT NULL, at INTEGER NOT NULL) STRICT;
                """)
            try db.execute(sql: """
                CREATE TABLE organisations (name TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL) STRICT;
                CREATE TABLE enrolments (
                    token_hash TEXT PRIMARY KEY NOT NULL, org TEXT NOT NULL REFERENCES organisations(name),
                    expires_at INTEGER NOT NULL, used_at INTEGER, device_id TEXT
                ) STRICT;
                CREATE TABLE devices (
                    id TEXT PRIMARY KEY NOT NULL, org TEXT NOT NULL REFERENCES organisations(name), name TEXT NOT NULL,
                    replica TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE, enrolled_at INTEGER NOT NULL,
                    last_sync_at INTEGER, revoked_at INTEGER, revoked_after INTEGER
                ) STRICT;
                """)
        }
        m.registerMigration("v4-restore-hold") { db in
            try db.execute(sql: "CREATE TABLE restore_hold (org TEXT PRIMARY KEY NOT NULL, since INTEGER NOT NULL) STRICT")
        }
        m.registerMigration("v5-token-rotation") { db in
            // A device's next token waits here until its first use; tokens may expire.
            try db.execute(sql: """
                ALTER TABLE devices ADD COLUMN next_token_hash TEXT;
                ALTER TABLE devices ADD COLUMN next_token_expires_at INTEGER;
                ALTER TABLE devices ADD COLUMN token_expires_at INTEGER;
                ALTER TABLE devices ADD COLUMN token_lifetime INTEGER;
                CREATE UNIQUE INDEX devices_next_token ON devices(next_token_hash);
                """)
        }
        m.registerMigration("v6-purged-dots") { db in
            // The dots a page built from memory asks about (`DotFacts`): those purged, found without reading the others.
            try db.execute(sql: "CREATE INDEX events_purged_dots ON events(origin, seq) WHERE purged = 1")
        }
        m.registerMigration("v7-id-prefix") { db in try EventTable.addIDPrefix(db) }
        return m
    }

    /// Puts `backup` (a directory written by `backup(to:)`) in place as the data directory
    /// `directory`, which must not hold a database yet, and holds every organisation with a
    /// laptop until one of its laptops has synced (erasure.md §5): what was erased since the
    /// backup is purged again before any new laptop can join or pull.
    public static func restore(from backup: URL, into directory: URL, at time: Int64) throws -> SQLiteSyncStorage {
        let source = backup.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: source.path) else {
            throw ServerError(.notFound, "no \(fileName) in \(backup.path): give the directory SyncServer admin backup wrote")
        }
        guard !FileManager.default.fileExists(atPath: directory.appendingPathComponent(fileName).path) else {
            throw ServerError(.exists, "\(directory.path) already holds a database: stop the server and move it aside first")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try DatabaseQueue(path: source.path).backup(to: DatabaseQueue(path: directory.appendingPathComponent(fileName).path))
        let storage = try SQLiteSyncStorage(directory: directory)
        try storage.db.write { try Self.hold($0, at: time) }
        return storage
    }

    public func holdAfterRestore(at time: Int64) async throws {
        try await db.write { try Self.hold($0, at: time) }
    }

    static func hold(_ db: Database, at time: Int64) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO restore_hold(org, since) SELECT DISTINCT org, ? FROM devices WHERE revoked_at IS NULL",
                       arguments: [time])
    }

    public var backend: String { "sqlite" }

    public func ping(within timeout: Duration) async throws {
        _ = try await db.read { try Int.fetchOne($0, sql: "SELECT 1") }
    }

    public func releaseRestoreHold(org: String?) async throws {
        try await db.write { db in
            if let org { try db.execute(sql: "DELETE FROM restore_hold WHERE org = ?", arguments: [org]) } else { try db.execute(sql: "DELETE FROM restore_hold") }
        }
    }

    // MARK: Organisations and devices

    public func addOrganisation(_ name: String, at time: Int64) async throws {
        try await db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM organisations WHERE name = ?", arguments: [name]) == nil else {
                throw ServerError(.exists, "organisation \(name) already exists")
            }
            try db.execute(sql: "INSERT INTO organisations(name, created_at) VALUES (?, ?)", arguments: [name, time])
        }
    }

    public func organisations() async throws -> [String] {
        try await db.read { try String.fetchAll($0, sql: "SELECT name FROM organisations ORDER BY name") }
    }

    public func addEnrolment(tokenHash: String, org: String, expiresAt: Int64) async throws {
        try await db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM organisations WHERE name = ?", arguments: [org]) != nil else {
                throw ServerError(.unknownOrganisation, "no organisation \(org)")
            }
            try db.execute(sql: "INSERT INTO enrolments(token_hash, org, expires_at) VALUES (?, ?, ?)", arguments: [tokenHash, org, expiresAt])
        }
    }

    public func enrolmentOrg(tokenHash: String, at time: Int64) async throws -> String? {
        try await db.read { db in
            try String.fetchOne(db, sql: "SELECT org FROM enrolments WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?", arguments: [tokenHash, time])
        }
    }

    public func enrol(tokenHash: String, device: String, replica: ReplicaID, deviceID: String, deviceTokenHash: String, trust: TrustRecord,
                      at time: Int64) async throws -> Device {
        try await db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT org, expires_at, used_at FROM enrolments WHERE token_hash = ?", arguments: [tokenHash]),
                row["used_at"] as Int64? == nil, (row["expires_at"] as Int64) > time
            else { throw ServerError(.badToken, "the enrolment token is unknown, used or expired") }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM devices WHERE replica = ?", arguments: [replica.rawValue]) == nil else {
                throw ServerError(.replicaTaken, "replica \(replica) is already enrolled")
            }
            let org: String = row["org"]
            try db.execute(sql: "UPDATE enrolments SET used_at = ?, device_id = ? WHERE token_hash = ?", arguments: [time, deviceID, tokenHash])
            try db.execute(sql: "INSERT INTO devices(id, org, name, replica, token_hash, enrolled_at) VALUES (?,?,?,?,?,?)",
                           arguments: [deviceID, org, device, replica.rawValue, deviceTokenHash, time])
            try Self.addTrust(trust, db)
            return Device(id: deviceID, org: org, name: device, replica: replica, enrolledAt: time)
        }
    }

    static func device(_ row: Row) -> Device? {
        guard let replica = ReplicaID(row["replica"]) else { return nil }
        return Device(id: row["id"], org: row["org"], name: row["name"], replica: replica, enrolledAt: row["enrolled_at"],
                      lastSyncAt: row["last_sync_at"], revokedAt: row["revoked_at"], revokedAfter: (row["revoked_after"] as Int64?).map(UInt64.init),
                      tokenExpiresAt: row["token_expires_at"], tokenLifetime: row["token_lifetime"])
    }

    public func device(tokenHash: String) async throws -> Device? {
        if let device = try await db.read({ try Self.device(tokenHash: tokenHash, $0) }) { return device }
        // A rotated token's first use: it becomes the token, and the old one stops.
        return try await db.write { db in
            try db.execute(sql: """
                UPDATE devices SET token_hash = next_token_hash, token_expires_at = next_token_expires_at,
                                   next_token_hash = NULL, next_token_expires_at = NULL
                WHERE next_token_hash = ?
                """, arguments: [tokenHash])
            return try Self.device(tokenHash: tokenHash, db)
        }
    }

    public func setNextToken(deviceID: String, tokenHash: String, expiresAt: Int64?) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE devices SET next_token_hash = ?, next_token_expires_at = ? WHERE id = ?",
                           arguments: [tokenHash, expiresAt, deviceID])
        }
    }

    public func setTokenLifetime(deviceID: String, lifetime: Int64?, at time: Int64) async throws {
        try await db.write { db in
            try db.execute(sql: "UPDATE devices SET token_lifetime = ?, token_expires_at = ? WHERE id = ?",
                           arguments: [lifetime, lifetime.map { time + $0 }, deviceID])
        }
    }

    public func devices() async throws -> [Device] {
        try await db.read { try Row.fetchAll($0, sql: "SELECT * FROM devices ORDER BY org, name").compactMap(Self.device) }
    }

    public func revoke(deviceID: String, at time: Int64) async throws -> Bool {
        try await db.write { db in
            // Its events up to what the server holds of it now still count; later ones are refused.
            try db.execute(sql: """
                UPDATE devices SET revoked_at = ?, revoked_after = coalesce((SELECT seq FROM coverage WHERE coverage.origin = devices.replica), 0)
                WHERE id = ? AND revoked_at IS NULL
                """, arguments: [time, deviceID])
            return db.changesCount > 0
        }
    }

    static func device(tokenHash: String, _ db: Database) throws -> Device? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM devices WHERE token_hash = ?"), arguments: [tokenHash]).flatMap(Self.device)
    }

    public func standing() async throws -> Standing {
        try await db.read(Self.standing)
    }

    static func standing(_ db: Database) throws -> Standing {
        var revoked = [ReplicaID: UInt64]()
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT replica, revoked_after FROM devices WHERE revoked_at IS NOT NULL")) {
            if let r = ReplicaID(row[0] as String) { revoked[r] = UInt64(row[1] as Int64? ?? 0) }
        }
        return Standing(revoked: revoked, held: Set(try String.fetchAll(db.cachedStatement(sql: "SELECT org FROM restore_hold"))))
    }

    /// One read transaction: the device by its current token, and the standing.
    public func admission(tokenHash: String) async throws -> Admission? {
        let found = try await db.read { db in
            try Self.device(tokenHash: tokenHash, db).map { Admission(device: $0, standing: try Self.standing(db)) }
        }
        if let found { return found }
        return try await admissionByNextToken(tokenHash: tokenHash)
    }

    public func markSynced(deviceID: String, at time: Int64) async throws {
        try await commits.write { try Self.mark(SyncMark(deviceID: deviceID, at: time), $0) }
    }

    private static func mark(_ mark: SyncMark, _ db: Database) throws {
        try db.cachedStatement(sql: "UPDATE devices SET last_sync_at = ? WHERE id = ?").execute(arguments: [mark.at, mark.deviceID])
    }

    // MARK: Trust

    public func trust() async throws -> TrustRecord {
        try await db.read { db in
            let partnership = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'partnership'")
            var pins = [String: KeyFingerprint]()
            for row in try Row.fetchAll(db, sql: "SELECT org, fingerprint FROM pins") { pins[row[0]] = KeyFingerprint(hex: row[1]) }
            let certs = try String.fetchAll(db, sql: "SELECT cert FROM certificates ORDER BY fingerprint").compactMap { try? DeviceCertificate(json: JSONValue.parse($0)) }
            return TrustRecord(partnership: partnership, pins: pins, certificates: certs)
        }
    }

    public func addTrust(_ record: TrustRecord) async throws {
        try await db.write { try Self.addTrust(record, $0) }
    }

    static func addTrust(_ record: TrustRecord, _ db: Database) throws {
        if let p = record.partnership {
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('partnership', ?) ON CONFLICT DO NOTHING", arguments: [p])
        }
        for (org, pin) in record.pins {
            try db.execute(sql: "INSERT INTO pins(org, fingerprint) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [org, pin.hex])
        }
        for c in record.certificates {
            try db.execute(sql: "INSERT INTO certificates(fingerprint, org, replica, role, cert) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                           arguments: [c.fingerprint.hex, c.org, c.replica.rawValue, c.role.rawValue, c.json.canonicalString()])
        }
    }

    public func quarantine(idPrefix: String, at time: Int64) async throws -> [String] {
        try await db.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM events WHERE \(EventTable.idBetween("?1", "?2")) LIMIT 2", arguments: [idPrefix, idPrefix + "g"])
            guard ids.count <= 1 else { throw ServerError(.ambiguous, "\(idPrefix) matches more than one event: give more of its id") }
            for id in ids { try db.execute(sql: "INSERT INTO quarantine(id, at) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [id, time]) }
            return ids
        }
    }

    // MARK: Events

    public func store(_ events: [Event], marking: SyncMark?) async throws -> Stored {
        guard !events.isEmpty else { return Stored(.stored(new: 0, alreadyHad: 0)) }
        do {
            let (outcome, added) = try await commits.write { db -> (Stored, [Event]) in
                let insert = try db.cachedStatement(sql: EventTable.mergeSQL)
                let lookup = try db.cachedStatement(sql: "SELECT id FROM events WHERE origin = ? AND seq = ?")
                var new = 0, had = 0
                var touched = EventTable.Touched()
                var inserted = [Page.Entry](), added = [Event]()
                // Purges first (erasure.md §3): P1 on what is held and carried; they decide which
                // events may arrive purged and which are stored purged.
                let (honoured, foreign) = try EventTable.purges(in: events, db)
                if let foreign { throw Refused(dot: foreign.dot, rule: .foreignPurge) }
                var named = try EventTable.purges(naming: events, db)
                for p in honoured { named.formUnion(p.named) }
                for received in events {
                    guard let event = EventTable.asStored(received, named: named) else {
                        throw Refused(dot: received.dot, rule: .unauthorisedPurge)
                    }
                    if try EventTable.insert(event, insert, db) {
                        new += 1
                        touched.stored(event.dot)
                        inserted.append(Page.Entry(event))
                        added.append(event)
                    } else if try String.fetchOne(lookup, arguments: [event.dot.replica.rawValue, Int64(event.dot.seq)]) == event.id.hex {
                        had += 1
                    } else {
                        throw Forked(dot: event.dot)  // rolls the whole transaction back
                    }
                }
                try EventTable.closeRuns(db, touched, from: try EventTable.vector(db))
                for p in honoured { try EventTable.purge(p.ids, org: p.event.org, by: p.event.id, db) }
                if let marking { try Self.mark(marking, db) }
                return (Stored(.stored(new: new, alreadyHad: had), inserted: inserted), added)
            }
            facts.remember(added, in: partnership)  // committed
            if events.contains(where: { $0.scope == .public }) {
                // No frame with a purged payload stays in the WAL (erasure.md §4).
                try await db.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            }
            return outcome
        } catch let forked as Forked {
            return Stored(.rejected(forked.dot))
        } catch let refused as Refused {
            return Stored(.refused(refused.dot, refused.rule))
        }
    }

    private struct Forked: Error { let dot: Dot }
    private struct Refused: Error { let dot: Dot; let rule: Authority.Rule }

    public func vector() async throws -> VersionVector {
        try await db.read { try EventTable.vector($0) }
    }

    /// A consistent copy of the whole database into `directory` (SQLite's online backup),
    /// safe while devices sync.
    public func backup(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = try DatabaseQueue(path: directory.appendingPathComponent(Self.fileName).path)
        try db.backup(to: target)
    }

    public func eventCount() async throws -> Int {
        try await db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events") ?? 0 }
    }
}
