import Foundation
import GRDB

extension Store {
    /// Remembers the sync server and this device's bearer token, sealed above the store.
    func setServer(url: String, sealedToken: Data, expiresAt: Int64?, at time: Int64) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('server', ?), ('deviceToken', ?), ('tokenSavedAt', ?)",
                           arguments: [url, sealedToken.base64EncodedString(), String(time)])
            if let expiresAt {
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('tokenExpiresAt', ?)", arguments: [String(expiresAt)])
            } else {
                try db.execute(sql: "DELETE FROM meta WHERE key = 'tokenExpiresAt'")
            }
        }
    }

    /// Whether the device token should be replaced at this sync: once a week, sooner when the
    /// server gave it a shorter life (half of it), and at once for a token saved before 0.4.
    public func tokenRotationDue(now: Int64 = WallClock.nowMillis()) throws -> Bool {
        guard let saved = try metaValueIfAny("tokenSavedAt").flatMap(Int64.init) else { return true }
        var interval: Int64 = 7 * 86_400_000
        if let expires = try metaValueIfAny("tokenExpiresAt").flatMap(Int64.init) { interval = min(interval, (expires - saved) / 2) }
        return now - saved >= interval
    }

    /// How this laptop trusts its server: the partnership's own certificate authority (PEM) if
    /// one was given at `init`, and whether plain HTTP to another machine was allowed (`--insecure`).
    public func setServerTrust(ca: String?, insecure: Bool) throws {
        try db.write { db in
            if let ca { try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('serverCA', ?)", arguments: [ca]) }
            if insecure { try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('insecure', '1')") }
        }
    }

    public func serverTrust() throws -> (ca: String?, insecure: Bool) {
        try db.read { db in
            (try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'serverCA'"),
             try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'insecure'") == "1")
        }
    }

    /// The server's URL, if this store was enrolled (readable while locked).
    public func serverURL() throws -> String? {
        try db.read { try String.fetchOne($0, sql: "SELECT value FROM meta WHERE key = 'server'") }
    }

    /// The device's bearer token as sealed (nil before enrolment).
    func sealedDeviceToken() throws -> Data? {
        try metaValueIfAny("deviceToken").flatMap { Data(base64Encoded: $0) }
    }

    // MARK: What the sync server is known to hold

    /// The server vector of the last sync, and when it was (nil before the first sync).
    public func lastSync() throws -> (vector: VersionVector, at: Int64)? {
        try db.read { db in
            guard let v = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'serverVector'"),
                let at = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'lastSyncAt'").flatMap(Int64.init)
            else { return nil }
            return (try VersionVector(json: JSONValue.parse(v)), at)
        }
    }

    /// The London day (its start) on which retention last ran by itself here, if ever.
    public func retentionRanOn() throws -> Int64? {
        try metaValueIfAny("retentionRanOn").flatMap(Int64.init)
    }

    public func rememberRetentionRun(day: Int64) throws {
        try setMetaValue("retentionRanOn", String(day))
    }

    /// Remembers what the server held at a sync, on its own.
    func rememberSync(serverVector: VersionVector, at time: Int64) throws {
        try db.write { try Self.rememberSync(serverVector: serverVector, at: time, $0) }
    }

    /// Remembers what the server held at a sync, in `db`'s transaction (a page's import does).
    static func rememberSync(serverVector: VersionVector, at time: Int64, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('serverVector', ?), ('lastSyncAt', ?)",
                       arguments: [serverVector.json.canonicalString(), String(time)])
    }
}
