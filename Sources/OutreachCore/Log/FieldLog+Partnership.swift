import Foundation

extension FieldLog {
    /// What revoking a laptop did.
    public struct Revocation: Sendable {
        public let event: Event
        public let device: DeviceCertificate
        /// Its events up to this seq still count.
        public let upTo: UInt64
        /// The keys rotated with it (scope → new epoch) and who got the new keys.
        public let keys: KeyUpkeep
    }

    /// Revokes a laptop of this organisation (lost, stolen, retired): a `device.revoked` event
    /// that every laptop honours. Its events up to `upTo` (by default: all this laptop holds of
    /// it) still count; any later one is refused everywhere (trust.md §5a). In the same
    /// transaction the organisation's and the partnership's keys rotate, the new ones sealed to
    /// every other device (trust.md §5b): the revoked laptop cannot read what is written after.
    @discardableResult
    public func revokeDevice(named name: String, upTo: UInt64? = nil, reason: String?, at: Int64) throws -> Revocation {
        let roster = try store.roster()
        let candidates = roster.certificates.filter { $0.role.signsEvents && $0.device == name }
        guard let device = candidates.first(where: { $0.org == keyring.org }) else {
            if let other = candidates.first {
                throw FieldlogError(.notPermitted, "\(name) is a laptop of \(other.org)", hint: "only \(other.org)'s own laptops can revoke it")
            }
            throw FieldlogError(.unknownRef, "no laptop named \(name)", hint: "fieldlog device list shows them")
        }
        guard device.replica != store.info.replica else { throw FieldlogError.badInput("a laptop cannot revoke itself", hint: "revoke it from another laptop of \(keyring.org)") }
        let held = try store.vector()[device.replica]
        let cut = upTo ?? held
        let revoked = Body.DeviceRevoked(replica: device.replica, device: name, upTo: cut, reason: reason)
        let plan = try keyPlan(forceRotation: [.org, .partnership], revoking: Authority.Revocation(replica: device.replica, upTo: cut))
        let (keyDrafts, upkeep) = try keyDrafts(plan, reason: "\(name) revoked", at: at)
        let events = try store.append([Draft(payload(revoked, at: at))] + keyDrafts, keyring: keyring)
        return Revocation(event: events[0], device: device, upTo: cut, keys: upkeep)
    }
}

extension FieldLog {
    /// Adds a zone to the partnership's list (or relabels it): a coarse area, never an exact place.
    @discardableResult
    public func defineZone(_ zone: String, label: String?, at: Int64) throws -> Event {
        let name = zone.trimmingCharacters(in: .whitespaces)
        guard (1...24).contains(name.count), !name.contains(",") else { throw FieldlogError.badInput("a zone is a short name, e.g. Z3") }
        return try store.append([Draft(payload(Body.ZoneDefined(zone: name, label: label), at: at))], keyring: keyring)[0]
    }
}
