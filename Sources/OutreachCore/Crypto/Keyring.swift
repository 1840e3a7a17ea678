import Crypto
import Foundation

/// One scope key and the epoch it belongs to (`Protocol/trust.md` §5b).
public struct EpochKey: Sendable, Equatable {
    public let scope: Scope
    /// 0 for the keys a partnership or organisation began with; each rotation is one more.
    public let epoch: Int64
    public let key: ScopeKey
    /// The `key.rotated` / `key.granted` event this device got the key from (nil: from its own
    /// keyring, i.e. from `init` or an invite). A key granted by an event that a revocation later
    /// cut off still opens what was sealed under it, but is never written under again.
    public let grantedBy: Dot?
    public var writable = true

    public init(scope: Scope, epoch: Int64, key: ScopeKey, grantedBy: Dot? = nil) {
        self.scope = scope
        self.epoch = epoch
        self.key = key
        self.grantedBy = grantedBy
    }

    public static func == (a: EpochKey, b: EpochKey) -> Bool {
        a.scope == b.scope && a.epoch == b.epoch && a.key.id == b.key.id && a.grantedBy == b.grantedBy && a.writable == b.writable
    }

    /// The key as a keyring or an invite carries it to another device: not granted by any event.
    var carried: EpochKey { EpochKey(scope: scope, epoch: epoch, key: key) }

    /// The order that picks the key to write under: the highest epoch, then the highest key id
    /// (two rotations at once end on the same key everywhere).
    static func precedes(_ a: EpochKey, _ b: EpochKey) -> Bool { (a.epoch, a.key.id) < (b.epoch, b.key.id) }
}

/// The secrets a device holds: its organisation's keys, the partnership's keys (every epoch it
/// was given), and its own signing key (`Protocol/trust.md`).
///
/// Stored sealed (under the store's master key, itself wrapped under the worker's passphrase),
/// except keys granted after a rotation, which the store keeps as they arrived: sealed to this
/// device's agreement key. Carried between devices only inside passphrase-sealed invites.
public struct Keyring: Sendable {
    public let partnershipID: String
    public let org: String
    /// Every key of this organisation's `org` scope held, oldest epoch first.
    public private(set) var orgKeys: [EpochKey]
    /// Every partnership key held, oldest epoch first.
    public private(set) var partnershipKeys: [EpochKey]
    /// This device's signing key: every event it writes is signed with it.
    public let deviceKey: DeviceKey

    public init(partnershipID: String, org: String, orgKey: ScopeKey, partnershipKey: ScopeKey, deviceKey: DeviceKey) {
        self.init(partnershipID: partnershipID, org: org, orgKeys: [EpochKey(scope: .org, epoch: 0, key: orgKey)],
                  partnershipKeys: [EpochKey(scope: .partnership, epoch: 0, key: partnershipKey)], deviceKey: deviceKey)
    }

    init(partnershipID: String, org: String, orgKeys: [EpochKey], partnershipKeys: [EpochKey], deviceKey: DeviceKey) {
        self.partnershipID = partnershipID
        self.org = org
        self.orgKeys = orgKeys.sorted(by: EpochKey.precedes)
        self.partnershipKeys = partnershipKeys.sorted(by: EpochKey.precedes)
        self.deviceKey = deviceKey
    }

    /// The organisation key new `org` events are sealed under: the writable one of the highest epoch.
    public var orgKey: ScopeKey { Self.current(orgKeys).key }
    /// The partnership key new `partnership` events are sealed under.
    public var partnershipKey: ScopeKey { Self.current(partnershipKeys).key }

    /// Every key held of `scope` (`org` or `partnership`), oldest epoch first.
    public func keys(of scope: Scope) -> [EpochKey] {
        switch scope {
        case .org: return orgKeys
        case .partnership: return partnershipKeys
        default: return []
        }
    }

    /// The key of `scope` new events are written under, with its epoch.
    public func current(_ scope: Scope) -> EpochKey? { keys(of: scope).isEmpty ? nil : Self.current(keys(of: scope)) }

    static func current(_ keys: [EpochKey]) -> EpochKey { keys.last(where: \.writable) ?? keys.last! }

    /// The key partnership codes are hashed under: the partnership's first key, which every device
    /// of the partnership holds, so a code hashes alike before and after any rotation.
    public var codeKey: ScopeKey { partnershipKeys.first { $0.epoch == 0 }?.key ?? partnershipKeys[0].key }

    /// The first key of `scope` held (epoch 0): key notices are sealed under it (`EventType.isSealedUnderFirstKey`).
    public func firstKey(for scope: Scope) -> ScopeKey? { keys(of: scope).first?.key }

    /// The key this laptop's own caches and server token are sealed under (never rotates).
    public var localKey: ScopeKey { deviceKey.localKey }

    /// The key that seals events of `scope` written by this device's organisation.
    public func key(for scope: Scope) -> ScopeKey? { current(scope)?.key }

    /// The key with id `keyID`, if this device holds it (any epoch).
    public func key(id keyID: String) -> ScopeKey? { key(id: keyID, scope: .org) ?? key(id: keyID, scope: .partnership) }

    /// The key with id `keyID` among the keys of `scope`, if this device holds it.
    public func key(id keyID: String, scope: Scope) -> ScopeKey? { keys(of: scope).first { $0.key.id == keyID }?.key }

    /// Every key id held (what `device.keyed` announces).
    public var keyIDs: [String] { (orgKeys + partnershipKeys).map(\.key.id) }

    /// The highest epoch held for `scope`.
    public func epoch(of scope: Scope) -> Int64 { keys(of: scope).last?.epoch ?? 0 }

    /// Adds a key; false if it was held already (a key keeps the epoch it first came with).
    @discardableResult
    public mutating func add(_ k: EpochKey) -> Bool {
        guard key(id: k.key.id) == nil, k.scope == .org || k.scope == .partnership else { return false }
        if k.scope == .org { orgKeys = (orgKeys + [k]).sorted(by: EpochKey.precedes) } else {
            partnershipKeys = (partnershipKeys + [k]).sorted(by: EpochKey.precedes)
        }
        return true
    }

    /// The keys from the sealed keyring only (granted ones dropped), for sealing it again.
    var sealedPart: Keyring {
        Keyring(partnershipID: partnershipID, org: org, orgKeys: orgKeys.filter { $0.grantedBy == nil },
                partnershipKeys: partnershipKeys.filter { $0.grantedBy == nil }, deviceKey: deviceKey)
    }

    /// Keys granted by events of devices later revoked past them are kept for reading only.
    mutating func markUnwritable(where isCut: (Dot) -> Bool) {
        for i in orgKeys.indices { orgKeys[i].writable = !(orgKeys[i].grantedBy.map(isCut) ?? false) }
        for i in partnershipKeys.indices { partnershipKeys[i].writable = !(partnershipKeys[i].grantedBy.map(isCut) ?? false) }
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

    /// The same keyring for another device (a new laptop invited from this one): its own device
    /// key, and for a laptop of another organisation that organisation's new key. Every key held
    /// goes along (granted ones included), so the new laptop reads every epoch.
    public func with(deviceKey: DeviceKey, org newOrg: String? = nil, orgKey newOrgKey: ScopeKey? = nil) -> Keyring {
        let orgs = newOrgKey.map { [EpochKey(scope: .org, epoch: 0, key: $0)] } ?? orgKeys.map(\.carried)
        return Keyring(partnershipID: partnershipID, org: newOrg ?? org, orgKeys: orgs, partnershipKeys: partnershipKeys.map(\.carried), deviceKey: deviceKey)
    }

    static func keysJSON(_ keys: [EpochKey]) -> JSONValue {
        .array(keys.map { ["epoch": .int($0.epoch), "key": .string($0.key.base64)] })
    }

    static func keys(_ json: JSONValue?, scope: Scope) -> [EpochKey]? {
        guard let list = json?.arrayValue, !list.isEmpty else { return nil }
        let keys = list.compactMap { k -> EpochKey? in
            guard let epoch = k["epoch"]?.intValue, epoch >= 0, let key = k["key"]?.stringValue.flatMap(ScopeKey.init(base64:)) else { return nil }
            return EpochKey(scope: scope, epoch: epoch, key: key)
        }
        return keys.count == list.count ? keys : nil
    }

    var json: JSONValue {
        [
            "partnership": .string(partnershipID),
            "org": .string(org),
            // The current keys alone, as 0.3 wrote them, beside every epoch held.
            "orgKey": .string(orgKey.base64),
            "partnershipKey": .string(partnershipKey.base64),
            "orgKeys": Self.keysJSON(orgKeys),
            "partnershipKeys": Self.keysJSON(partnershipKeys),
            "deviceKey": .string(deviceKey.seed.base64EncodedString()),
        ]
    }

    init(json: JSONValue) throws {
        let unreadable = FieldlogError(.corrupt, "the store's keyring is unreadable")
        guard let p = json["partnership"]?.stringValue, let org = json["org"]?.stringValue,
            let seed = json["deviceKey"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), let dk = try? DeviceKey(seed: seed)
        else { throw unreadable }
        if let orgs = Self.keys(json["orgKeys"], scope: .org), let partnership = Self.keys(json["partnershipKeys"], scope: .partnership) {
            self.init(partnershipID: p, org: org, orgKeys: orgs, partnershipKeys: partnership, deviceKey: dk)
        } else {
            // Written by 0.3: one key per scope, epoch 0.
            guard let ok = json["orgKey"]?.stringValue.flatMap(ScopeKey.init(base64:)),
                  let pk = json["partnershipKey"]?.stringValue.flatMap(ScopeKey.init(base64:))
            else { throw unreadable }
            self.init(partnershipID: p, org: org, orgKey: ok, partnershipKey: pk, deviceKey: dk)
        }
    }
}

extension Keyring: Equatable {
    /// The same device with the same keys (by id, epoch and writability).
    public static func == (a: Keyring, b: Keyring) -> Bool {
        a.partnershipID == b.partnershipID && a.org == b.org && a.deviceKey.publicKey == b.deviceKey.publicKey
            && a.orgKeys == b.orgKeys && a.partnershipKeys == b.partnershipKeys
    }
}
