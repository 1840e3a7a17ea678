import Crypto
import Foundation

/// The secrets a device holds: its organisation's key, the partnership's key, and its own
/// signing key (`Protocol/trust.md`).
///
/// Stored only sealed (under the store's master key, itself wrapped under the worker's
/// passphrase) and carried between devices only inside passphrase-sealed invites.
public struct Keyring: Sendable {
    public let partnershipID: String
    public let org: String
    public let orgKey: ScopeKey
    public let partnershipKey: ScopeKey
    /// This device's signing key: every event it writes is signed with it.
    public let deviceKey: DeviceKey

    public init(partnershipID: String, org: String, orgKey: ScopeKey, partnershipKey: ScopeKey, deviceKey: DeviceKey) {
        self.partnershipID = partnershipID
        self.org = org
        self.orgKey = orgKey
        self.partnershipKey = partnershipKey
        self.deviceKey = deviceKey
    }

    /// The key that seals events of `scope` written by this device's organisation.
    public func key(for scope: Scope) -> ScopeKey? {
        switch scope {
        case .org: return orgKey
        case .partnership: return partnershipKey
        default: return nil
        }
    }

    /// The key with id `keyID`, if this device holds it.
    public func key(id keyID: String) -> ScopeKey? {
        if orgKey.id == keyID { return orgKey }
        if partnershipKey.id == keyID { return partnershipKey }
        return nil
    }

    /// True when this device may hold `event`: anything of its own organisation, and partnership
    /// and public events of any organisation (DESIGN §3, invariant 8).
    public func isEntitled(org eventOrg: String, scope: Scope) -> Bool {
        Self.entitles(org: org, eventOrg: eventOrg, scope: scope)
    }

    /// Whether a device of `org` may hold an event of `eventOrg` in `scope` (the one rule).
    public static func entitles(org: String, eventOrg: String, scope: Scope) -> Bool {
        eventOrg == org || scope == .partnership || scope == .public
    }

    /// The same keyring with another device key (a new laptop invited from this one).
    public func with(deviceKey: DeviceKey, org newOrg: String? = nil, orgKey newOrgKey: ScopeKey? = nil) -> Keyring {
        Keyring(partnershipID: partnershipID, org: newOrg ?? org, orgKey: newOrgKey ?? orgKey, partnershipKey: partnershipKey, deviceKey: deviceKey)
    }

    var json: JSONValue {
        [
            "partnership": .string(partnershipID),
            "org": .string(org),
            "orgKey": .string(orgKey.base64),
            "partnershipKey": .string(partnershipKey.base64),
            "deviceKey": .string(deviceKey.seed.base64EncodedString()),
        ]
    }

    init(json: JSONValue) throws {
        guard let p = json["partnership"]?.stringValue, let org = json["org"]?.stringValue,
            let ok = json["orgKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
            let pk = json["partnershipKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
            let seed = json["deviceKey"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), let dk = try? DeviceKey(seed: seed)
        else { throw FieldlogError(.corrupt, "the store's keyring is unreadable") }
        self.init(partnershipID: p, org: org, orgKey: ok, partnershipKey: pk, deviceKey: dk)
    }
}
