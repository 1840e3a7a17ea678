import Crypto
import Foundation

/// An invite: what a new laptop needs to join, sealed under a one-time passphrase shown on screen.
///
/// `FIELDLOG-INVITE 2\n` then a JSON object with the key derivation parameters and the sealed box.
/// It carries the inviter's roster (certificates and pins: the new laptop trusts what the inviter
/// trusts, `Protocol/trust.md` §2) and:
/// - for the inviter's own organisation: both scope keys (every epoch it holds: `Protocol/trust.md`
///   §5b) and a one-time **invite key**, certified
///   by the inviter for exactly this device name and replica; the new laptop makes its own device
///   key and certifies it with the invite key (its private key never leaves the laptop);
/// - for another organisation (that organisation's first laptop): only the partnership keys; the
///   new laptop makes its organisation's key and becomes its root.
public struct Invite: Sendable {
    public static let magic = Data("FIELDLOG-INVITE 2\n".utf8)

    public let partnershipID: String
    public let org: String
    public let device: String
    public let replica: ReplicaID
    /// The organisation's keys, every epoch (same organisation only).
    public let orgKeys: [EpochKey]?
    /// The partnership's keys, every epoch the inviter holds (so the new laptop reads all it syncs).
    public let partnershipKeys: [EpochKey]
    public let invitedBy: String
    public let server: String?
    public let token: String?
    /// The one-time key that certifies the new device (same organisation only).
    public let inviteKey: DeviceKey?
    public let certificates: [DeviceCertificate]
    public let pins: [String: KeyFingerprint]
    /// The partnership's certificate authority for the server (PEM), if it has its own.
    public var ca: String?
    /// Plain HTTP to another machine was allowed for this server (`--insecure`).
    public var insecure = false

    /// An invite for `device` of `org` (default: the inviter's own organisation), made on an
    /// unlocked laptop whose roster is `roster`. Refused for another organisation that already
    /// has a root: its laptops must be invited by its own laptops (trust.md §2).
    public static func make(from log: FieldLog, roster: Roster, device: String, org: String? = nil, server: String? = nil, token: String? = nil,
                            now: Int64) throws -> Invite {
        let target = org ?? log.keyring.org
        var certificates = roster.certificates
        let replica = ReplicaID.random()
        var inviteKey: DeviceKey?
        if target == log.keyring.org {
            let key = DeviceKey.generate()
            certificates.append(try DeviceCertificate.issue(partnership: log.keyring.partnershipID, org: target, device: device, replica: replica,
                                                            role: .invite, key: key.publicKey, issuedAt: now, by: log.keyring.deviceKey))
            inviteKey = key
        } else if let root = roster.pins[target] {
            let name = roster.accepted[root]?.device ?? "its root"
            throw FieldlogError(.notPermitted, "\(target) already has laptops (its root is \(name), \(root.grouped))",
                                hint: "invite this laptop from one of \(target)'s own laptops: fieldlog device invite \(device) there")
        }
        return Invite(partnershipID: log.keyring.partnershipID, org: target, device: device, replica: replica,
                      orgKeys: target == log.keyring.org ? log.keyring.orgKeys : nil, partnershipKeys: log.keyring.partnershipKeys,
                      invitedBy: log.store.info.device, server: server, token: token, inviteKey: inviteKey,
                      certificates: certificates, pins: roster.pins)
    }

    init(partnershipID: String, org: String, device: String, replica: ReplicaID, orgKeys: [EpochKey]?, partnershipKeys: [EpochKey], invitedBy: String,
         server: String?, token: String?, inviteKey: DeviceKey?, certificates: [DeviceCertificate], pins: [String: KeyFingerprint]) {
        self.partnershipID = partnershipID
        self.org = org
        self.device = device
        self.replica = replica
        self.orgKeys = orgKeys
        self.partnershipKeys = partnershipKeys
        self.invitedBy = invitedBy
        self.server = server
        self.token = token
        self.inviteKey = inviteKey
        self.certificates = certificates
        self.pins = pins
    }

    /// The new laptop's keyring, replica and roster: a fresh device key, certified by the invite
    /// key (same organisation) or as its organisation's root (another organisation).
    public func setup(now: Int64) throws -> DeviceSetup {
        var roster = Roster(partnership: partnershipID, pins: pins)
        roster.admit(certificates, pinning: .never)
        let keyring = Keyring(partnershipID: partnershipID, org: org,
                              orgKeys: orgKeys?.map(\.carried) ?? [EpochKey(scope: .org, epoch: 0, key: .generate())],
                              partnershipKeys: partnershipKeys.map(\.carried), deviceKey: .generate())
        if let inviteKey {
            return try DeviceSetup.certified(keyring: keyring, device: device, replica: replica, roster: roster, issuer: inviteKey, now: now)
        }
        return try DeviceSetup.root(keyring: keyring, device: device, roster: roster, replica: replica, now: now)
    }

    /// A fresh one-time passphrase: 20 characters from an alphabet without look-alikes (about 100 bits).
    public static func generatePassphrase() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        let chars = (0..<20).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
        return stride(from: 0, to: 20, by: 5).map { String(chars[$0..<$0 + 5]) }.joined(separator: "-")
    }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "partnership": .string(partnershipID), "org": .string(org), "device": .string(device), "replica": .string(replica.rawValue),
            "partnershipKey": .string(Keyring.current(partnershipKeys).key.base64), "partnershipKeys": Keyring.keysJSON(partnershipKeys),
            "invitedBy": .string(invitedBy),
            "certificates": .array(certificates.map(\.json)), "pins": .object(pins.mapValues { .string($0.hex) }),
        ]
        o["orgKey"] = orgKeys.map { .string(Keyring.current($0).key.base64) }
        o["orgKeys"] = orgKeys.map(Keyring.keysJSON)
        o["inviteKey"] = inviteKey.map { .string($0.seed.base64EncodedString()) }
        o["server"] = server.map { .string($0) }
        o["token"] = token.map { .string($0) }
        o["ca"] = ca.map { .string($0) }
        if insecure { o["insecure"] = .bool(true) }
        return .object(o)
    }

    public func sealed(passphrase: String) throws -> Data {
        let box = try PassphraseSealed.seal(json.canonicalData(), passphrase: passphrase)
        return Invite.magic + box.json.canonicalData()
    }

    public static func open(_ data: Data, passphrase: String) throws -> Invite {
        if data.starts(with: Data("FIELDLOG-INVITE 1\n".utf8)) {
            throw FieldlogError(.malformed, "this invite was made by fieldlog 0.1, before events were signed", hint: "make a new invite with an up-to-date fieldlog")
        }
        guard data.starts(with: magic), let json = try? JSONValue.parse(data.dropFirst(magic.count)),
            let sealed = try? PassphraseSealed(json: json)
        else { throw FieldlogError(.malformed, "this file is not a fieldlog invite", hint: "use the file that fieldlog device invite wrote") }
        let plain: Data
        do { plain = try sealed.open(passphrase: passphrase) } catch {
            throw FieldlogError(.wrongPassphrase, "wrong invite passphrase", hint: "type the one-time passphrase shown when the invite was made")
        }
        guard let o = try? JSONValue.parse(plain), let p = o["partnership"]?.stringValue, let org = o["org"]?.stringValue,
            let device = o["device"]?.stringValue, let replica = o["replica"]?.stringValue.flatMap(ReplicaID.init),
            let pks = Keyring.keys(o["partnershipKeys"], scope: .partnership)
                ?? o["partnershipKey"]?.stringValue.flatMap(ScopeKey.init(base64:)).map({ [EpochKey(scope: .partnership, epoch: 0, key: $0)] }),
            let by = o["invitedBy"]?.stringValue, let certs = o["certificates"]?.arrayValue, let pins = o["pins"]?.objectValue
        else { throw FieldlogError(.malformed, "the invite is incomplete") }
        let inviteKey = try o["inviteKey"]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { try DeviceKey(seed: $0) }
        var invite = Invite(partnershipID: p, org: org, device: device, replica: replica,
                      orgKeys: Keyring.keys(o["orgKeys"], scope: .org)
                        ?? o["orgKey"]?.stringValue.flatMap(ScopeKey.init(base64:)).map { [EpochKey(scope: .org, epoch: 0, key: $0)] },
                      partnershipKeys: pks, invitedBy: by,
                      server: o["server"]?.stringValue, token: o["token"]?.stringValue, inviteKey: inviteKey,
                      certificates: try certs.map(DeviceCertificate.init(json:)),
                      pins: pins.compactMapValues { $0.stringValue.flatMap(KeyFingerprint.init(hex:)) })
        invite.ca = o["ca"]?.stringValue
        invite.insecure = o["insecure"]?.boolValue ?? false
        return invite
    }
}
