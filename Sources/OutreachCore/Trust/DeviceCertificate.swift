import Foundation

/// Binds a device key to its partnership, organisation, device name, replica and role, signed
/// by its issuer (`Protocol/trust.md` §1, byte layout in `Protocol/encoding.md` §8).
public struct DeviceCertificate: Hashable, Sendable {
    public enum Role: String, Sendable, CaseIterable {
        /// The organisation's first device: self-signed, signs events, may certify.
        case root
        /// Any other device: signs events, may certify.
        case device
        /// A one-time key in an invite: certifies exactly the one device it names, signs no events.
        case invite

        /// Whether a key of this role signs events.
        public var signsEvents: Bool { self != .invite }
    }

    public let partnership: String
    public let org: String
    public let device: String
    public let replica: ReplicaID
    public let role: Role
    /// The certified Ed25519 public key (32 bytes).
    public let key: Data
    public let issuedAt: Int64
    public let issuer: KeyFingerprint
    public let signature: Data

    public var fingerprint: KeyFingerprint { KeyFingerprint(publicKey: key) }
    public var isSelfSigned: Bool { issuer == fingerprint }

    static let domain = "fieldlog/device-cert/v1"

    /// The bytes the issuer signs.
    static func signedBytes(partnership: String, org: String, device: String, replica: ReplicaID, role: Role, key: Data,
                            issuedAt: Int64, issuer: KeyFingerprint) -> Data {
        var w = ByteWriter(capacity: 256)
        w.string(domain)
        w.string(partnership)
        w.string(org)
        w.string(device)
        w.string(replica.rawValue)
        w.string(role.rawValue)
        w.bytes(key)
        w.uint64(UInt64(bitPattern: issuedAt))
        w.string(issuer.hex)
        return w.data
    }

    var signedBytes: Data {
        Self.signedBytes(partnership: partnership, org: org, device: device, replica: replica, role: role, key: key, issuedAt: issuedAt, issuer: issuer)
    }

    /// Issues a certificate for `key`, signed by `issuerKey` (the key itself for a root).
    public static func issue(partnership: String, org: String, device: String, replica: ReplicaID, role: Role, key: Data,
                             issuedAt: Int64, by issuerKey: DeviceKey) throws -> DeviceCertificate {
        let issuer = issuerKey.fingerprint
        let bytes = signedBytes(partnership: partnership, org: org, device: device, replica: replica, role: role, key: key,
                                issuedAt: issuedAt, issuer: issuer)
        return DeviceCertificate(partnership: partnership, org: org, device: device, replica: replica, role: role, key: key,
                                 issuedAt: issuedAt, issuer: issuer, signature: try issuerKey.sign(bytes))
    }

    /// A root: the key certifies itself.
    public static func root(partnership: String, org: String, device: String, replica: ReplicaID, key: DeviceKey, issuedAt: Int64) throws -> DeviceCertificate {
        try issue(partnership: partnership, org: org, device: device, replica: replica, role: .root, key: key.publicKey, issuedAt: issuedAt, by: key)
    }

    init(partnership: String, org: String, device: String, replica: ReplicaID, role: Role, key: Data, issuedAt: Int64,
         issuer: KeyFingerprint, signature: Data) {
        self.partnership = partnership
        self.org = org
        self.device = device
        self.replica = replica
        self.role = role
        self.key = key
        self.issuedAt = issuedAt
        self.issuer = issuer
        self.signature = signature
    }

    /// Whether the signature verifies under `issuerKey` (the issuer's public key).
    func isSigned(by issuerKey: Data) -> Bool {
        SignatureChecker(publicKey: issuerKey)?.isValid(signature, for: signedBytes) ?? false
    }

    /// The wire and storage form (`Protocol/schemas/certificate.schema.json`).
    public var json: JSONValue {
        [
            "partnership": .string(partnership), "org": .string(org), "device": .string(device), "replica": .string(replica.rawValue),
            "role": .string(role.rawValue), "key": .string(Hex.encode(key)), "issuedAt": .int(issuedAt), "issuer": .string(issuer.hex),
            "sig": .string(signature.base64EncodedString()),
        ]
    }

    static let members: Set<String> = ["partnership", "org", "device", "replica", "role", "key", "issuedAt", "issuer", "sig"]

    /// Reads a certificate strictly: exactly its members, each well formed (the signature is
    /// checked when a roster admits it).
    public init(json: JSONValue) throws {
        guard let o = json.objectValue, Set(o.keys) == Self.members else { throw FieldlogError.malformed("a device certificate has missing or unknown members") }
        guard let partnership = o["partnership"]?.stringValue, Event.isName(partnership),
              let org = o["org"]?.stringValue, Event.isOrgName(org),
              let device = o["device"]?.stringValue, Event.isName(device),
              let replica = o["replica"]?.stringValue.flatMap(ReplicaID.init),
              let role = o["role"]?.stringValue.flatMap(Role.init(rawValue:)),
              let keyHex = o["key"]?.stringValue, keyHex.utf8.count == 64, keyHex.utf8.allSatisfy(Hex.isLowerHexDigit), let key = Hex.decode(keyHex),
              let issuedAt = o["issuedAt"]?.intValue,
              let issuer = o["issuer"]?.stringValue.flatMap(KeyFingerprint.init(hex:)),
              let sig = o["sig"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), sig.count == 64
        else { throw FieldlogError.malformed("a device certificate is malformed") }
        self.init(partnership: partnership, org: org, device: device, replica: replica, role: role, key: Data(key),
                  issuedAt: issuedAt, issuer: issuer, signature: sig)
    }
}
