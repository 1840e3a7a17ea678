import Foundation
import GRDB

/// A key grant kept by the store, as it arrived (`Protocol/trust.md` §5b): the box sealed to
/// this device and the label it was sealed under. Only the keyring opens it.
public struct StoredGrant: Sendable {
    public let keyID: String
    public let scope: Scope
    public let org: String
    public let epoch: Int64
    /// The `key.rotated` / `key.granted` event it came in.
    public let grantedBy: Dot
    public let encapsulated: Data
    public let box: Data
}

extension Store {
    /// Keeps granted keys as they arrived (their boxes, sealed to this device), in the
    /// transaction that stores their notices (append and import).
    static func keep(_ grants: [KeptGrant], replica: ReplicaID, _ db: Database) throws {
        for kept in grants {
            let notice = kept.notice
            guard let grant = notice.grants.first(where: { $0.replica == replica }) else { continue }
            try db.execute(sql: """
                INSERT INTO key_grants(key_id, scope, org, epoch, origin, seq, enc, box) VALUES (?,?,?,?,?,?,?,?)
                ON CONFLICT(key_id) DO NOTHING
                """, arguments: [kept.keyID, notice.label.scope.rawValue, notice.label.org, notice.label.epoch,
                                 notice.dot.replica.rawValue, Int64(notice.dot.seq), grant.encapsulated, grant.box])
        }
    }

    /// Every key grant kept, oldest epoch first, with the revocations on record (a key granted by
    /// an event a revocation has since cut off opens what was sealed under it, never written under).
    public func grants() throws -> (grants: [StoredGrant], revocations: [ReplicaID: UInt64]) {
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key_id, scope, org, epoch, origin, seq, enc, box FROM key_grants ORDER BY epoch, key_id")
            let grants = rows.compactMap { row -> StoredGrant? in
                guard let origin = ReplicaID(row[4] as String) else { return nil }
                return StoredGrant(keyID: row[0], scope: Scope(row[1] as String), org: row[2], epoch: row[3],
                                   grantedBy: Dot(origin, UInt64(row[5] as Int64)), encapsulated: row[6], box: row[7])
            }
            return (grants, try Self.revocations(db))
        }
    }
}
