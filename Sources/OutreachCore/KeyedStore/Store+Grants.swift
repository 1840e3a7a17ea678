import Foundation

extension Store {
    /// The keys `notices` grant to this device (`replica`) that `keyring` lacks, each kept with
    /// the notice that grants it; they are added to `keyring` (each grant is opened once).
    static func grantsToMe(_ notices: some Sequence<KeyNotice>, keyring: inout Keyring, replica: ReplicaID) -> [KeptGrant] {
        notices.compactMap { notice in
            guard let key = notice.key(for: keyring, replica: replica), keyring.add(key) else { return nil }
            return KeptGrant(notice: notice, keyID: key.key.id)
        }
    }

    /// `keyring`'s sealed part with every key granted to this device since (trust.md §5b): keys
    /// from events a revocation has since cut off open what was sealed under them but are
    /// never written under.
    public func withGrantedKeys(_ keyring: Keyring) throws -> Keyring {
        var out = keyring.sealedPart
        let (grants, cuts) = try grants()
        for g in grants {
            let label = KeyGrant.Label(partnership: keyring.partnershipID, scope: g.scope, org: g.org, epoch: g.epoch, keyID: g.keyID)
            let grant = KeyGrant(replica: info.replica, encapsulated: g.encapsulated, box: g.box)
            guard let key = grant.open(label: label, with: keyring.deviceKey) else { continue }
            out.add(EpochKey(scope: label.scope, epoch: label.epoch, key: key, grantedBy: g.grantedBy))
        }
        out.markUnwritable { Authority.isRevoked($0, cuts: cuts) }
        return out
    }
}
