import Crypto
import Foundation

/// The secrets a device holds: its organisation's key and the partnership's key.
///
/// Stored only sealed (under the store's master key, itself wrapped under the worker's
/// passphrase) and carried between devices only inside passphrase-sealed invites.
public struct Keyring: Sendable {
    public let partnershipID: String
    public let org: String
    public let orgKey: ScopeKey
    public let partnershipKey: ScopeKey

    public init(partnershipID: String, org: String, orgKey: ScopeKey, partnershipKey: ScopeKey) {
        self.partnershipID = partnershipID
        self.org = org
        self.orgKey = orgKey
        self.partnershipKey = partnershipKey
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
    /// events of any organisation (DESIGN §3, invariant 8).
    public func isEntitled(org eventOrg: String, scope: Scope) -> Bool {
        eventOrg == org || scope == .partnership
    }

    var json: JSONValue {
        [
            "partnership": .string(partnershipID),
            "org": .string(org),
            "orgKey": .string(orgKey.base64),
            "partnershipKey": .string(partnershipKey.base64),
        ]
    }

    init(json: JSONValue) throws {
        guard let p = json["partnership"]?.stringValue, let org = json["org"]?.stringValue,
            let ok = json["orgKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
            let pk = json["partnershipKey"]?.stringValue.flatMap(ScopeKey.init(base64:))
        else { throw FieldlogError(.corrupt, "the store's keyring is unreadable") }
        self.init(partnershipID: p, org: org, orgKey: ok, partnershipKey: pk)
    }
}
