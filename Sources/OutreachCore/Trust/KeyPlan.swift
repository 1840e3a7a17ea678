import Foundation

/// What a device should do about keys, worked out from the fold, the roster and its keyring
/// (`Protocol/trust.md` §5b). Pure: the same facts give the same plan.
///
/// For each scope this device writes in (its organisation's, and the partnership's):
/// - **rotate** when a revocation of a device that held the scope's key is not in the causal past
///   of the rotation that made the current key (or no rotation ever happened): the revoked device
///   may hold the current key. The new key is sealed to every remaining device that announced an
///   agreement key, this one included. A revoked device plans nothing.
/// - otherwise **grant** the current key, if this device holds it, to every remaining device that
///   announced an agreement key and neither said it held the key nor was granted it (a laptop
///   that was offline when the key rotated, or upgraded since).
public struct KeyPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public let scope: Scope
        /// For a rotation, the new epoch; for a grant, the epoch of the key granted.
        public let epoch: Int64
        /// The key granted (nil for a rotation: a new key is drawn when the step is written).
        public let keyID: String?
        /// Replica → agreement key, sorted by replica.
        public let recipients: [Recipient]
        public var isRotation: Bool { keyID == nil }
    }

    public struct Recipient: Sendable, Equatable {
        public let replica: ReplicaID
        public let agreementKey: Data
    }

    public var steps: [Step] = []
    /// Scopes whose newest key (by the log) this device has not been given yet.
    public var waiting: [Scope] = []

    /// The plan for the device `me` holding `keyring`. `forceRotation` rotates those scopes
    /// whatever the facts say (`fieldlog keys rotate`, and a revocation written now).
    public static func make(facts: KeyFacts, roster: Roster, cuts: [ReplicaID: UInt64], keyring: Keyring, me: ReplicaID,
                            forceRotation: Set<Scope> = []) -> KeyPlan {
        var plan = KeyPlan()
        guard cuts[me] == nil else { return plan }
        let mine = Recipient(replica: me, agreementKey: keyring.deviceKey.agreementKey)
        for scope in [Scope.org, .partnership] {
            let org = scope == .org ? keyring.org : ""
            func concerns(_ replica: ReplicaID) -> Bool { scope == .partnership || roster.signer(of: replica)?.org == keyring.org }
            // Devices that may hold the key: certified, not revoked, announced.
            let remaining = roster.certificates.filter { $0.role.signsEvents && cuts[$0.replica] == nil && concerns($0.replica) && $0.replica != me }
                .compactMap { c in facts.devices[c.replica].map { Recipient(replica: c.replica, agreementKey: $0.agreementKey) } }
                .sorted { $0.replica.rawValue < $1.replica.rawValue }
            let notices = facts.notices.values.filter { $0.scope == scope && $0.org == org && !Authority.isRevoked($0.dot, cuts: cuts) }
            let current = notices.filter(\.isRotation).max { ($0.epoch, $0.keyID) < ($1.epoch, $1.keyID) }
            // Revocations honoured (by the revoked device's own organisation) of devices that held this scope's key.
            let revoked = facts.revocations.values.filter { r in
                roster.signer(of: r.replica)?.org == r.org && concerns(r.replica) && !Authority.isRevoked(r.dot, cuts: cuts)
            }
            let stale = !revoked.isEmpty && revoked.contains { r in !(current?.follows(r.dot) ?? false) }
            let topEpoch = max(keyring.epoch(of: scope), notices.map(\.epoch).max() ?? 0)
            if stale || forceRotation.contains(scope) {
                plan.steps.append(Step(scope: scope, epoch: topEpoch + 1, keyID: nil,
                                       recipients: (remaining + [mine]).sorted { $0.replica.rawValue < $1.replica.rawValue }))
                continue
            }
            let keyID = current?.keyID ?? keyring.key(for: scope)?.id
            guard let keyID, keyring.key(id: keyID, scope: scope) != nil else {
                plan.waiting.append(scope)
                continue
            }
            let granted = notices.filter { $0.keyID == keyID }.reduce(into: Set<ReplicaID>()) { $0.formUnion($1.recipients) }
            let lacking = remaining.filter { !granted.contains($0.replica) && !(facts.devices[$0.replica]?.holds.contains(keyID) ?? false) }
            if !lacking.isEmpty {
                let epoch = keyring.keys(of: scope).first { $0.key.id == keyID }?.epoch ?? 0
                plan.steps.append(Step(scope: scope, epoch: epoch, keyID: keyID, recipients: lacking))
            }
        }
        return plan
    }
}
