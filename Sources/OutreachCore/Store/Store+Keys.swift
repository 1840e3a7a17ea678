import Foundation
import GRDB

extension Store {
    /// The keys `notices` grant to this device (`replica`) that `keyring` lacks, each with the
    /// notice that grants it; they are added to `keyring` (each grant is opened once).
    static func grantsToMe(_ notices: some Sequence<KeyNotice>, keyring: inout Keyring, replica: ReplicaID) -> [(notice: KeyNotice, key: EpochKey)] {
        notices.compactMap { notice in
            guard let key = notice.key(for: keyring, replica: replica), keyring.add(key) else { return nil }
            return (notice, key)
        }
    }

    /// Keeps granted keys as they arrived (their boxes, sealed to this device), in the
    /// transaction that stores their notices (append and import).
    static func keep(_ grants: [(notice: KeyNotice, key: EpochKey)], replica: ReplicaID, _ db: Database) throws {
        for (notice, key) in grants {
            guard let grant = notice.grants.first(where: { $0.replica == replica }) else { continue }
            try db.execute(sql: """
                INSERT INTO key_grants(key_id, scope, org, epoch, origin, seq, enc, box) VALUES (?,?,?,?,?,?,?,?)
                ON CONFLICT(key_id) DO NOTHING
                """, arguments: [key.key.id, notice.label.scope.rawValue, notice.label.org, notice.label.epoch,
                                 notice.dot.replica.rawValue, Int64(notice.dot.seq), grant.encapsulated, grant.box])
        }
    }

    /// `keyring`'s sealed part with every key granted to this device since (trust.md §5b): keys
    /// from events a revocation has since cut off open what was sealed under them but are
    /// never written under.
    public func withGrantedKeys(_ keyring: Keyring) throws -> Keyring {
        try db.read { db in try Self.withGrantedKeys(keyring, replica: info.replica, db) }
    }

    static func withGrantedKeys(_ keyring: Keyring, replica: ReplicaID, _ db: Database) throws -> Keyring {
        var out = keyring.sealedPart
        let rows = try Row.fetchAll(db, sql: "SELECT key_id, scope, org, epoch, origin, seq, enc, box FROM key_grants ORDER BY epoch, key_id")
        for row in rows {
            guard let origin = ReplicaID(row[4] as String) else { continue }
            let label = KeyGrant.Label(partnership: keyring.partnershipID, scope: Scope(row[1] as String), org: row[2], epoch: row[3], keyID: row[0])
            let grant = KeyGrant(replica: replica, encapsulated: row[6], box: row[7])
            guard let key = grant.open(label: label, with: keyring.deviceKey) else { continue }
            out.add(EpochKey(scope: label.scope, epoch: label.epoch, key: key, grantedBy: Dot(origin, UInt64(row[5] as Int64))))
        }
        let cuts = try revocations(db)
        out.markUnwritable { Authority.isRevoked($0, cuts: cuts) }
        return out
    }
}
