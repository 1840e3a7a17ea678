import Foundation
import GRDB

extension Store {
    /// The roster as stored: pins, then every stored certificate admitted again (signatures
    /// re-verified: a certificate edited into the file is not accepted).
    public func roster() throws -> Roster {
        try db.read { try Self.roster($0, partnership: info.partnershipID) }
    }

    static func roster(_ db: Database, partnership: String) throws -> Roster {
        var pins = [String: KeyFingerprint]()
        for row in try Row.fetchAll(db, sql: "SELECT org, fingerprint FROM pins") {
            if let f = KeyFingerprint(hex: row[1]) { pins[row[0]] = f }
        }
        var roster = Roster(partnership: partnership, pins: pins)
        let certs = try String.fetchAll(db, sql: "SELECT cert FROM certificates").compactMap { try? DeviceCertificate(json: JSONValue.parse($0)) }
        roster.admit(certs, pinning: .never)
        return roster
    }

    /// Keeps what `roster` holds that the store does not (pins are never changed).
    static func save(_ roster: Roster, _ db: Database) throws {
        for (org, pin) in roster.pins {
            try db.execute(sql: "INSERT INTO pins(org, fingerprint) VALUES (?, ?) ON CONFLICT(org) DO NOTHING", arguments: [org, pin.hex])
        }
        let insert = try db.cachedStatement(sql: "INSERT INTO certificates(fingerprint, org, replica, role, cert) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING")
        for c in roster.accepted.values {
            try insert.execute(arguments: [c.fingerprint.hex, c.org, c.replica.rawValue, c.role.rawValue, c.json.canonicalString()])
        }
    }

    /// Admits certificates from an invite, a bundle or a sync response, and keeps what was accepted.
    @discardableResult
    public func admit(_ certificates: [DeviceCertificate]) throws -> (accepted: [DeviceCertificate], refused: [Roster.Refusal]) {
        guard !certificates.isEmpty else { return ([], []) }
        return try db.write { db in
            var roster = try Self.roster(db, partnership: info.partnershipID)
            let outcome = roster.admit(certificates, pinning: .firstSight)
            if !outcome.accepted.isEmpty { try Self.save(roster, db) }
            return outcome
        }
    }

    // MARK: Set aside

    /// One event that was set aside on receipt.
    public struct SetAside: Sendable, Equatable {
        public let id: String
        public let dot: String
        public let org: String
        public let rule: String
        public let source: String
        public let receivedAt: Int64
    }

    /// Every event set aside, oldest first.
    public func setAside() throws -> [SetAside] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT id, origin, seq, org, rule, source, received_at FROM set_aside ORDER BY received_at, id").map { r in
                SetAside(id: r[0], dot: "\(r[1] as String)@\(r[2] as Int64)", org: r[3], rule: r[4], source: r[5], receivedAt: r[6])
            }
        }
    }

    public func setAsideCount() throws -> Int {
        try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM set_aside") ?? 0 }
    }
}

extension Store {
    /// Revoked devices: replica → the last seq of theirs that still counts.
    public func revocations() throws -> [ReplicaID: UInt64] {
        try db.read { try Self.revocations($0) }
    }

    static func revocations(_ db: Database) throws -> [ReplicaID: UInt64] {
        var out = [ReplicaID: UInt64]()
        for row in try Row.fetchAll(db, sql: "SELECT replica, up_to FROM revocations") {
            if let r = ReplicaID(row[0] as String) { out[r] = UInt64(row[1] as Int64) }
        }
        return out
    }

    static func note(_ revocations: [Authority.Revocation], _ db: Database) throws {
        for r in revocations {
            try db.execute(sql: """
                INSERT INTO revocations(replica, up_to) VALUES (?, ?)
                ON CONFLICT(replica) DO UPDATE SET up_to = min(up_to, excluded.up_to)
                """, arguments: [r.replica.rawValue, Int64(r.upTo)])
        }
    }
}
