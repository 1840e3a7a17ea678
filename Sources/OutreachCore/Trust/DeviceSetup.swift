import Foundation

/// What a new laptop starts from: its keyring (with its own signing key), its replica id, and its
/// roster with its own certificate accepted (`Protocol/trust.md` §2, "where pins come from").
public struct DeviceSetup: Sendable {
    public let keyring: Keyring
    public let replica: ReplicaID
    public let roster: Roster

    public init(keyring: Keyring, replica: ReplicaID, roster: Roster) {
        self.keyring = keyring
        self.replica = replica
        self.roster = roster
    }

    /// The first laptop of a new partnership: new keys, and the root of its organisation.
    public static func founding(org: String, device: String, partnershipID: String = Hex.random(bytes: 8), now: Int64) throws -> DeviceSetup {
        let key = DeviceKey.generate()
        let keyring = Keyring(partnershipID: partnershipID, org: org, orgKey: .generate(), partnershipKey: .generate(), deviceKey: key)
        return try root(keyring: keyring, device: device, roster: Roster(partnership: partnershipID), now: now)
    }

    /// A new organisation's root device joining a partnership whose roster is `roster`.
    public static func root(keyring: Keyring, device: String, roster: Roster, replica: ReplicaID = .random(), now: Int64) throws -> DeviceSetup {
        guard roster.pins[keyring.org] == nil else {
            throw FieldlogError(.notPermitted, "\(keyring.org) already has a root device",
                                hint: "invite this laptop from one of \(keyring.org)'s own laptops (fieldlog device invite NAME)")
        }
        var roster = roster
        let cert = try DeviceCertificate.root(partnership: keyring.partnershipID, org: keyring.org, device: device, replica: replica,
                                              key: keyring.deviceKey, issuedAt: now)
        let outcome = roster.admit([cert], pinning: .only(keyring.org))
        guard outcome.accepted == [cert] else {
            throw FieldlogError(.notPermitted, "this laptop cannot become \(keyring.org)'s root: \(outcome.refused.first?.reason ?? "refused")")
        }
        return DeviceSetup(keyring: keyring, replica: replica, roster: roster)
    }

    /// A device certified by `issuer` (an invite key, or any certifying device of the same
    /// organisation), with its own fresh key.
    public static func certified(keyring: Keyring, device: String, replica: ReplicaID, roster: Roster, issuer: DeviceKey, now: Int64) throws -> DeviceSetup {
        var roster = roster
        let cert = try DeviceCertificate.issue(partnership: keyring.partnershipID, org: keyring.org, device: device, replica: replica,
                                               role: .device, key: keyring.deviceKey.publicKey, issuedAt: now, by: issuer)
        let outcome = roster.admit([cert], pinning: .never)
        guard outcome.accepted == [cert] else {
            throw FieldlogError(.notPermitted, "this laptop's certificate is not accepted: \(outcome.refused.first?.reason ?? "refused")",
                                hint: "make a new invite on an enrolled laptop")
        }
        return DeviceSetup(keyring: keyring, replica: replica, roster: roster)
    }
}
