import Foundation
import Logging
import NIOCore
import OutreachCore
import PostgresNIO
import SyncServerKit

/// The server's storage in PostgreSQL (`SyncServer serve --database-url`): the same interface,
/// the same rules and the same test suite as `SQLiteSyncStorage`, for a partnership that wants
/// the server on more than one machine. Several server instances may share one database: every
/// rule holds by constraints, transactions and advisory locks, never by an instance's memory.
public final class PostgresSyncStorage: SyncStorage {
    let pool: PostgresPool
    /// The partnership's own schema (nil: the default partnership's, the database's default).
    let schema: String?
    /// Whether `close()` stops the pool (a partnership's storage shares its server's).
    private let ownsPool: Bool
    let url: DatabaseURL
    let logger: Logger
    /// What never changes about recent events, remembered to build a crowd's pages (`DotFacts`).
    let facts: DotFacts

    private init(url: DatabaseURL, schema: String?, pool: PostgresPool?, parts: Int, logger: Logger, facts: DotFacts) {
        self.url = url
        self.facts = facts
        self.logger = logger
        self.schema = schema
        ownsPool = pool == nil
        self.pool = pool ?? PostgresPool(url, parts: parts, logger: logger)
    }

    /// Connects (giving up after `timeout` with a clear error: postgres-nio would retry a wrong
    /// password for ever), then creates or migrates the schema. Call `close()` when done.
    /// `schema`: a partnership's own (`PostgresPartnerships`), reached through `pool`.
    /// `facts`: what it remembers of recent dots (tests give one that remembers nothing).
    /// Without `pool`, it opens one of its own, in `parts` (`PostgresPool`).
    static func open(_ url: DatabaseURL, schema: String?, pool: PostgresPool?, parts: Int = 1, logger: Logger,
                     timeout: Duration = .seconds(15), facts: DotFacts = DotFacts()) async throws -> PostgresSyncStorage {
        let storage = PostgresSyncStorage(url: url, schema: schema, pool: pool, parts: parts, logger: logger, facts: facts)
        do {
            try await storage.answering(within: timeout, stopping: pool == nil)
            try await storage.migrate()
        } catch {
            await storage.close()
            throw error
        }
        return storage
    }

    /// The default partnership's storage, with a pool of its own (in `parts`).
    public static func open(_ url: DatabaseURL, parts: Int = 1, logger: Logger = Logger(label: "fieldlog.sync.postgres"),
                            timeout: Duration = .seconds(15)) async throws -> PostgresSyncStorage {
        try await open(url, schema: nil, pool: nil, parts: parts, logger: logger, timeout: timeout)
    }

    /// Stops the connection pool, if this storage owns it.
    public func close() async {
        if ownsPool { await pool.close() }
    }

    /// A connection pointed at this partnership's schema: every use of the database goes through here.
    func lease<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await pool.lease(schema: schema, logger: logger, body)
    }

    /// Runs `query` and returns its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await lease { try await $0.query(query, logger: logger).collect() }
    }

    /// Runs a statement that returns nothing.
    func execute(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    /// Throws unless the database answers within `timeout`; at start (`stopping`) a silence also
    /// stops the pool, which would otherwise retry a wrong password for ever.
    func answering(within timeout: Duration, stopping: Bool) async throws {
        let url = url
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await self.execute("SELECT 1"); return true }
            group.addTask { try await Task.sleep(for: timeout); return false }
            let answered = try await group.next() ?? false
            group.cancelAll()
            if !answered {
                if stopping { pool.cancel() }  // fails the query still waiting for a connection
                throw ServerError(.notFound, "PostgreSQL at \(url) did not answer within \(timeout): is it running, and are the user and password right?")
            }
        }
    }

    public var backend: String { "postgresql" }

    public func ping(within timeout: Duration) async throws {
        try await answering(within: timeout, stopping: false)
    }

    func migrate() async throws {
        try await lease { conn in
            try await conn.query("SELECT pg_advisory_lock(\(PostgresSchema.Lock.migrations), 0)", logger: logger)
            do {
                try await conn.query("CREATE TABLE IF NOT EXISTS fieldlog_migrations (name TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
                var done = Set<String>()
                for try await name in try await conn.query("SELECT name FROM fieldlog_migrations", logger: logger).decode(String.self) { done.insert(name) }
                for migration in PostgresSchema.migrations where !done.contains(migration.name) {
                    try await conn.withTransaction(logger: logger) { tx in
                        for statement in PostgresSchema.statements(migration.sql) {
                            try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await tx.query("INSERT INTO fieldlog_migrations(name) VALUES (\(migration.name))", logger: logger)
                    }
                    logger.notice("database migrated", metadata: ["migration": "\(migration.name)", "database": "\(url)"])
                }
            } catch {
                _ = try? await conn.query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.migrations), 0)", logger: logger)
                throw error
            }
            try await conn.query("SELECT pg_advisory_unlock(\(PostgresSchema.Lock.migrations), 0)", logger: logger)
        }
    }

    /// Runs `body` in one transaction (rolled back if it throws, and then its error is thrown).
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await lease { conn in try await conn.withTransaction(logger: logger) { try await body($0) } }
        } catch let e as PostgresTransactionError {
            if let closure = e.closureError, e.rollbackError == nil { throw closure }
            throw e
        }
    }

    /// Runs `body` in one read-only, repeatable-read transaction (a page's reads agree with its
    /// vector), begun in one statement.
    func snapshot<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await lease { conn in
            try await conn.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
            let value: T
            do {
                value = try await body(conn)
            } catch {
                _ = try? await conn.query("ROLLBACK", logger: logger)
                throw error
            }
            try await conn.query("COMMIT", logger: logger)
            return value
        }
    }

    // MARK: Organisations and devices

    public func addOrganisation(_ name: String, at time: Int64) async throws {
        guard try await !rows("INSERT INTO organisations(name, created_at) VALUES (\(name), \(time)) ON CONFLICT DO NOTHING RETURNING name").isEmpty else { throw ServerError(.exists, "organisation \(name) already exists") }
    }

    public func organisations() async throws -> [String] {
        try await strings("SELECT name FROM organisations ORDER BY name COLLATE \"C\"")
    }

    public func addEnrolment(tokenHash: String, org: String, expiresAt: Int64) async throws {
        guard try await !rows("""
            INSERT INTO enrolments(token_hash, org, expires_at) SELECT \(tokenHash), name, \(expiresAt) FROM organisations WHERE name = \(org) RETURNING org
            """).isEmpty else { throw ServerError(.unknownOrganisation, "no organisation \(org)") }
    }

    public func enrolmentOrg(tokenHash: String, at time: Int64) async throws -> String? {
        try await strings("SELECT org FROM enrolments WHERE token_hash = \(tokenHash) AND used_at IS NULL AND expires_at > \(time)").first
    }

    public func enrol(tokenHash: String, device: String, replica: ReplicaID, deviceID: String, deviceTokenHash: String, trust: TrustRecord,
                      at time: Int64) async throws -> Device {
        try await transaction { tx in
            // Used once, even by two instances at the same moment: the update is the test.
            let orgs = try await tx.query("""
                UPDATE enrolments SET used_at = \(time), device_id = \(deviceID)
                WHERE token_hash = \(tokenHash) AND used_at IS NULL AND expires_at > \(time) RETURNING org
                """, logger: logger).decode(String.self).all()
            guard let org = orgs.first else { throw ServerError(.badToken, "the enrolment token is unknown, used or expired") }
            let added = try await tx.query("""
                INSERT INTO devices(id, org, name, replica, token_hash, enrolled_at)
                VALUES (\(deviceID), \(org), \(device), \(replica.rawValue), \(deviceTokenHash), \(time)) ON CONFLICT (replica) DO NOTHING RETURNING id
                """, logger: logger).decode(String.self).all()
            guard !added.isEmpty else { throw ServerError(.replicaTaken, "replica \(replica) is already enrolled") }
            try await Self.addTrust(trust, tx, logger)
            return Device(id: deviceID, org: org, name: device, replica: replica, enrolledAt: time)
        }
    }

    static let deviceColumns = "id, org, name, replica, enrolled_at, last_sync_at, revoked_at, revoked_after, token_expires_at, token_lifetime"

    func devices(_ query: PostgresQuery, _ conn: PostgresConnection? = nil) async throws -> [Device] {
        let rows = if let conn { try await conn.query(query, logger: logger).collect() } else { try await rows(query) }
        var out = [Device]()
        for row in rows {
            let (id, org, name, replica, enrolled, synced, revoked, after, expires, lifetime) =
                try row.decode((String, String, String, String, Int64, Int64?, Int64?, Int64?, Int64?, Int64?).self)
            if let device = Self.device(id, org, name, replica, enrolled, synced, revoked, after, expires, lifetime) { out.append(device) }
        }
        return out
    }

    /// A device from its `deviceColumns`, in order (nil if one it needs is missing or its replica is malformed).
    static func device(_ id: String?, _ org: String?, _ name: String?, _ replica: String?, _ enrolled: Int64, _ synced: Int64?, _ revoked: Int64?,
                       _ after: Int64?, _ expires: Int64?, _ lifetime: Int64?) -> Device? {
        guard let id, let org, let name, let replica = replica.flatMap(ReplicaID.init) else { return nil }
        return Device(id: id, org: org, name: name, replica: replica, enrolledAt: enrolled, lastSyncAt: synced, revokedAt: revoked,
                      revokedAfter: after.map(UInt64.init), tokenExpiresAt: expires, tokenLifetime: lifetime)
    }

    public func device(tokenHash: String) async throws -> Device? {
        if let device = try await devices("SELECT \(unescaped: Self.deviceColumns) FROM devices WHERE token_hash = \(tokenHash)").first { return device }
        // A rotated token's first use: it becomes the token, and the old one stops.
        return try await devices("""
            UPDATE devices SET token_hash = next_token_hash, token_expires_at = next_token_expires_at,
                               next_token_hash = NULL, next_token_expires_at = NULL
            WHERE next_token_hash = \(tokenHash) RETURNING \(unescaped: Self.deviceColumns)
            """).first
    }

    public func setNextToken(deviceID: String, tokenHash: String, expiresAt: Int64?) async throws {
        try await execute("UPDATE devices SET next_token_hash = \(tokenHash), next_token_expires_at = \(expiresAt) WHERE id = \(deviceID)")
    }

    public func setTokenLifetime(deviceID: String, lifetime: Int64?, at time: Int64) async throws {
        try await execute("UPDATE devices SET token_lifetime = \(lifetime), token_expires_at = \(lifetime.map { time + $0 }) WHERE id = \(deviceID)")
    }

    public func devices() async throws -> [Device] {
        try await devices("SELECT \(unescaped: Self.deviceColumns) FROM devices ORDER BY org COLLATE \"C\", name COLLATE \"C\"")
    }

    public func revoke(deviceID: String, at time: Int64) async throws -> Bool {
        try await revoke(deviceID: deviceID, at: time, afterOriginLock: nil)
    }

    /// `afterOriginLock` runs between the two steps (a test holds the revocation there).
    func revoke(deviceID: String, at time: Int64, afterOriginLock: (@Sendable () async throws -> Void)?) async throws -> Bool {
        try await transaction { tx in
            // Waits for a push of its events under way, so the cut is what the server holds.
            // Locks in this order only: the origin's, then the device's row (as a push does).
            try await tx.query("SELECT \(unescaped: PostgresSchema.Lock.takeOrigin("replica")) FROM devices WHERE id = \(deviceID)",
                               logger: logger)
            try await afterOriginLock?()
            let revoked = try await tx.query("""
                UPDATE devices SET revoked_at = \(time), revoked_after = coalesce((SELECT seq FROM coverage WHERE coverage.origin = devices.replica), 0)
                WHERE id = \(deviceID) AND revoked_at IS NULL RETURNING id
                """, logger: logger).decode(String.self).all()
            return !revoked.isEmpty
        }
    }

    public func markSynced(deviceID: String, at time: Int64) async throws {
        try await execute("UPDATE devices SET last_sync_at = \(time) WHERE id = \(deviceID)")
    }

    public func holdAfterRestore(at time: Int64) async throws {
        try await execute("""
            INSERT INTO restore_hold(org, since) SELECT DISTINCT org, \(time) FROM devices WHERE revoked_at IS NULL ON CONFLICT DO NOTHING
            """)
    }

    public func standing() async throws -> Standing {
        try await standing(andDeviceOf: nil).standing
    }

    /// One statement: the device by its current token, then the standing.
    public func admission(tokenHash: String) async throws -> Admission? {
        let (device, standing) = try await standing(andDeviceOf: tokenHash)
        if let device { return Admission(device: device, standing: standing) }
        return try await admissionByNextToken(tokenHash: tokenHash)
    }

    /// The revoked devices' rows ('r') and the held organisations' ('h'), in one statement;
    /// with `tokenHash`, the device whose current token it is ('d') first.
    func standing(andDeviceOf tokenHash: String?) async throws -> (device: Device?, standing: Standing) {
        let rest = """
            SELECT 'r'::text, NULL::text, NULL::text, NULL::text, replica, 0::bigint, NULL::bigint, NULL::bigint, revoked_after, NULL::bigint, NULL::bigint
            FROM devices WHERE revoked_at IS NOT NULL
            UNION ALL SELECT 'h', NULL, org, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL FROM restore_hold
            """
        let query: PostgresQuery = if let tokenHash {
            "SELECT 'd'::text, \(unescaped: Self.deviceColumns) FROM devices WHERE token_hash = \(tokenHash) UNION ALL \(unescaped: rest)"
        } else {
            "\(unescaped: rest)"
        }
        var device: Device?
        var standing = Standing(revoked: [:], held: [])
        for row in try await rows(query) {
            let (kind, id, org, name, replica, enrolled, synced, revoked, after, expires, lifetime) =
                try row.decode((String, String?, String?, String?, String?, Int64, Int64?, Int64?, Int64?, Int64?, Int64?).self)
            switch kind {
            case "d": device = Self.device(id, org, name, replica, enrolled, synced, revoked, after, expires, lifetime)
            case "r": if let r = replica.flatMap(ReplicaID.init) { standing.revoked[r] = UInt64(after ?? 0) }
            default: if let org { standing.held.insert(org) }
            }
        }
        return (device, standing)
    }

    public func releaseRestoreHold(org: String?) async throws {
        if let org { try await execute("DELETE FROM restore_hold WHERE org = \(org)") } else { try await execute("DELETE FROM restore_hold") }
    }

    // MARK: Trust

    public func trust() async throws -> TrustRecord {
        let partnership = try await strings("SELECT value FROM meta WHERE key = 'partnership'").first
        var pins = [String: KeyFingerprint]()
        for row in try await rows("SELECT org, fingerprint FROM pins") {
            let (org, hex) = try row.decode((String, String).self)
            pins[org] = KeyFingerprint(hex: hex)
        }
        let certs = try await strings("SELECT cert FROM certificates ORDER BY fingerprint").compactMap { try? DeviceCertificate(json: JSONValue.parse($0)) }
        return TrustRecord(partnership: partnership, pins: pins, certificates: certs)
    }

    public func addTrust(_ record: TrustRecord) async throws {
        try await transaction { try await Self.addTrust(record, $0, logger) }
    }

    static func addTrust(_ record: TrustRecord, _ tx: PostgresConnection, _ logger: Logger) async throws {
        if let p = record.partnership {
            try await tx.query("INSERT INTO meta(key, value) VALUES ('partnership', \(p)) ON CONFLICT DO NOTHING", logger: logger)
        }
        for (org, pin) in record.pins {
            try await tx.query("INSERT INTO pins(org, fingerprint) VALUES (\(org), \(pin.hex)) ON CONFLICT DO NOTHING", logger: logger)
        }
        for c in record.certificates {
            try await tx.query("""
                INSERT INTO certificates(fingerprint, org, replica, role, cert)
                VALUES (\(c.fingerprint.hex), \(c.org), \(c.replica.rawValue), \(c.role.rawValue), \(c.json.canonicalString())) ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// The first column of every row, as text.
    func strings(_ query: PostgresQuery) async throws -> [String] {
        try await rows(query).map { try $0.decode(String.self) }
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func all() async throws -> [Element] {
        var out = [Element]()
        for try await element in self { out.append(element) }
        return out
    }
}
