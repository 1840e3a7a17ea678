import Foundation

extension FieldLog {
    /// What a round of key upkeep did.
    public struct KeyUpkeep: Sendable, Equatable {
        /// Scopes whose key was rotated, with the new epoch.
        public var rotated: [Scope: Int64] = [:]
        /// Devices given a key they lacked.
        public var granted = 0
        /// Scopes whose newest key this laptop has not been given yet.
        public var waiting: [Scope] = []
        public var wroteAnything: Bool { !rotated.isEmpty || granted > 0 }
    }

    /// Announces this device's agreement key and the keys it holds (`device.keyed`), once per
    /// agreement key: other devices seal the keys of later epochs to it (trust.md §5b). Returns
    /// the event, or nil if it was announced already.
    @discardableResult
    public func announceKeys(at: Int64 = WallClock.nowMillis()) throws -> Event? {
        let agreement = keyring.deviceKey.agreementKey.base64EncodedString()
        guard try store.metaValueIfAny("keysAnnounced") != agreement else { return nil }
        let body = Body.DeviceKeyed(agreementKey: keyring.deviceKey.agreementKey, holds: keyring.keyIDs.sorted())
        let event = try store.append([Draft(payload(body, at: at))], keyring: keyring)[0]
        try store.setMetaValue("keysAnnounced", agreement)
        return event
    }

    /// The plan for this laptop now (see `KeyPlan`); with `revoking`, as if that revocation,
    /// about to be written in the same append, were held.
    public func keyPlan(forceRotation: Set<Scope> = [], revoking: Authority.Revocation? = nil) throws -> KeyPlan {
        var cuts = try store.revocations()
        if let revoking { Authority.merge([revoking], into: &cuts) }
        return KeyPlan.make(facts: try state(.withoutContacts).keys, roster: try store.roster(), cuts: cuts, keyring: keyring,
                            me: store.info.replica, forceRotation: forceRotation)
    }

    /// Rotates what must rotate and grants what is lacking (after a sync or an import), in one
    /// transaction. Returns what it did; the keys it made are this laptop's at once.
    @discardableResult
    public func upkeepKeys(at: Int64 = WallClock.nowMillis()) throws -> KeyUpkeep {
        try carryOut(try keyPlan(), reason: "a revoked laptop held the key", at: at)
    }

    /// Rotates the organisation's and the partnership's keys now (`fieldlog keys rotate`).
    @discardableResult
    public func rotateKeys(reason: String?, at: Int64 = WallClock.nowMillis()) throws -> KeyUpkeep {
        try carryOut(try keyPlan(forceRotation: [.org, .partnership]), reason: reason ?? "rotated on demand", at: at)
    }

    /// The drafts for `plan`'s steps: a new random key for each rotation, sealed to each recipient.
    func keyDrafts(_ plan: KeyPlan, reason: String?, at: Int64) throws -> (drafts: [Draft], upkeep: KeyUpkeep) {
        var upkeep = KeyUpkeep(waiting: plan.waiting)
        var drafts = [Draft]()
        for step in plan.steps {
            let key = step.keyID.flatMap { keyring.key(id: $0, scope: step.scope) } ?? ScopeKey.generate()
            let label = KeyGrant.Label(partnership: keyring.partnershipID, scope: step.scope, org: step.scope == .org ? keyring.org : "",
                                       epoch: step.epoch, keyID: key.id)
            let fields = try KeyNotice.fields(label: label, key: key, recipients: step.recipients.map { ($0.replica, $0.agreementKey) },
                                              reason: step.isRotation ? reason : nil)
            let notice = Payload(type: step.isRotation ? .keyRotated : .keyGranted, occurredAt: at, author: author, fields: fields)
            drafts.append(Draft(step.scope, notice))
            if step.isRotation { upkeep.rotated[step.scope] = step.epoch } else { upkeep.granted += step.recipients.count }
        }
        return (drafts, upkeep)
    }

    private func carryOut(_ plan: KeyPlan, reason: String?, at: Int64) throws -> KeyUpkeep {
        let (drafts, upkeep) = try keyDrafts(plan, reason: reason, at: at)
        if !drafts.isEmpty { try store.append(drafts, keyring: keyring) }
        return upkeep
    }

    /// This log with the keyring as the store holds it now (after a rotation or an import that
    /// granted keys: a long-lived process picks up the new keys).
    public func reloaded() throws -> FieldLog {
        FieldLog(store: store, keyring: try store.withGrantedKeys(keyring), author: author)
    }
}
