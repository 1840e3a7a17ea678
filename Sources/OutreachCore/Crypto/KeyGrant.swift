import Crypto
import Foundation

extension DeviceKey {
    /// Derives a 32-byte key from the device key's seed under `label` (HKDF-SHA256): the seed
    /// never leaves the laptop, so neither does anything derived from it.
    private func derived(_ label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: seed), salt: Data(label.utf8), info: Data(), outputByteCount: 32)
    }

    /// This device's key-agreement key (X25519): key grants are sealed to its public half
    /// (`Protocol/trust.md` §5b). Derived from the signing key, so every device already has one.
    var agreementPrivateKey: Curve25519.KeyAgreement.PrivateKey {
        // 32 bytes are always a valid X25519 private key (it is clamped), so this cannot fail.
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: derived("fieldlog/agreement-key/v1").withUnsafeBytes { Data($0) })
    }

    /// The raw 32-byte public key other devices seal key grants to.
    public var agreementKey: Data { agreementPrivateKey.publicKey.rawRepresentation }

    /// The key this laptop seals its own caches and its server token under: never shared, and
    /// unchanged by key rotation (a rotation must not make the laptop's own files unreadable).
    var localKey: ScopeKey { ScopeKey(key: derived("fieldlog/local-key/v1")) }
}

/// One scope key sealed to one device's agreement key (`Protocol/trust.md` §5b): HPKE (RFC 9180,
/// base mode, X25519 / HKDF-SHA256 / ChaCha20-Poly1305). The `info` binds the partnership, the
/// scope, the organisation, the epoch, the key id and the recipient, so a box cannot be moved to
/// another grant or device.
public struct KeyGrant: Sendable, Equatable {
    /// What a grant is for (everything but the recipient).
    public struct Label: Sendable, Equatable {
        public let partnership: String
        public let scope: Scope
        /// The organisation whose key it is ("" for the partnership key).
        public let org: String
        public let epoch: Int64
        public let keyID: String

        func info(for replica: ReplicaID) -> Data {
            var w = ByteWriter(capacity: 128)
            w.string("fieldlog/key-grant/v1")
            w.string(partnership)
            w.string(scope.rawValue)
            w.string(org)
            w.uint64(UInt64(epoch))
            w.string(keyID)
            w.string(replica.rawValue)
            return w.data
        }
    }

    public let replica: ReplicaID
    /// HPKE's encapsulated key (the sender's ephemeral X25519 public key): 32 bytes.
    public let encapsulated: Data
    /// The sealed 32-byte scope key (48 bytes with its tag).
    public let box: Data

    static let suite = HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly

    /// Seals `key` to the device `replica` whose agreement key is `agreementKey`.
    public static func seal(_ key: ScopeKey, label: Label, to replica: ReplicaID, agreementKey: Data) throws -> KeyGrant {
        let recipient = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: agreementKey)
        var sender = try HPKE.Sender(recipientKey: recipient, ciphersuite: suite, info: label.info(for: replica))
        let box = try sender.seal(key.key.withUnsafeBytes { Data($0) })
        return KeyGrant(replica: replica, encapsulated: sender.encapsulatedKey, box: box)
    }

    /// The scope key, if this grant is to `deviceKey`'s device and holds the key `label` names.
    public func open(label: Label, with deviceKey: DeviceKey) -> ScopeKey? {
        let plain: Data
        do {
            var recipient = try HPKE.Recipient(privateKey: deviceKey.agreementPrivateKey, ciphersuite: Self.suite,
                                               info: label.info(for: replica), encapsulatedKey: encapsulated)
            plain = try recipient.open(box)
        } catch {
            return nil
        }
        guard plain.count == 32 else { return nil }
        let key = ScopeKey(key: SymmetricKey(data: plain))
        return key.id == label.keyID ? key : nil
    }

    var json: JSONValue {
        var o = [String: JSONValue]()
        o["replica"] = .string(replica.rawValue)
        o["enc"] = .string(encapsulated.base64EncodedString())
        o["box"] = .string(box.base64EncodedString())
        return .object(o)
    }

    init(replica: ReplicaID, encapsulated: Data, box: Data) {
        self.replica = replica
        self.encapsulated = encapsulated
        self.box = box
    }

    init?(json: JSONValue) {
        guard let replica = json["replica"]?.stringValue.flatMap(ReplicaID.init),
              let enc = json["enc"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), enc.count == 32,
              let box = json["box"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), box.count == 48
        else { return nil }
        self.init(replica: replica, encapsulated: enc, box: box)
    }
}

/// A `key.rotated` or `key.granted` event read (`Protocol/trust.md` §5b): a scope key of some
/// epoch, sealed to each of its recipients.
public struct KeyNotice: Sendable, Equatable {
    /// True for `key.rotated` (the key is new: its epoch begins here); false for `key.granted`
    /// (an existing key given to devices that lacked it).
    public let isRotation: Bool
    public let label: KeyGrant.Label
    public let grants: [KeyGrant]
    public let dot: Dot
    public let context: VersionVector

    public static let maxGrants = 1000
    public static let maxEpoch: Int64 = 1 << 40

    /// The notice `o` carries, if it is one and well formed: its `scope` field is the event's own
    /// scope (`org` or `partnership`), its epoch in range (a rotation's at least 1), its key id
    /// 16 hex characters, and every grant well formed.
    public init?(_ o: OpenedEvent) {
        let type = o.payload.eventType
        guard type == .keyRotated || type == .keyGranted else { return nil }
        let rotation = type == .keyRotated, f = PayloadFields(o.payload.fields)
        guard let name = f.string("scope") else { return nil }
        let scope = Scope(name)
        guard scope == o.event.scope, scope == .org || scope == .partnership else { return nil }
        let lowest: Int64 = rotation ? 1 : 0
        guard let epoch = f.int("epoch"), epoch >= lowest, epoch <= Self.maxEpoch else { return nil }
        guard let keyID = f.string("keyId"), keyID.utf8.count == 16, keyID.utf8.allSatisfy(Hex.isLowerHexDigit) else { return nil }
        guard let list = f["grants"]?.arrayValue, list.count <= Self.maxGrants else { return nil }
        let grants = list.compactMap(KeyGrant.init(json:))
        guard grants.count == list.count else { return nil }
        isRotation = rotation
        label = KeyGrant.Label(partnership: "", scope: scope, org: scope == .org ? o.event.org : "", epoch: epoch, keyID: keyID)
        self.grants = grants
        dot = o.event.dot
        context = o.event.context
    }

    /// The label with the partnership filled in (the payload does not repeat it).
    public func label(in partnership: String) -> KeyGrant.Label {
        KeyGrant.Label(partnership: partnership, scope: label.scope, org: label.org, epoch: label.epoch, keyID: label.keyID)
    }

    /// The key this notice grants to `keyring`'s device, if any.
    public func key(for keyring: Keyring, replica: ReplicaID) -> EpochKey? {
        guard let grant = grants.first(where: { $0.replica == replica }),
              let key = grant.open(label: label(in: keyring.partnershipID), with: keyring.deviceKey)
        else { return nil }
        return EpochKey(scope: label.scope, epoch: label.epoch, key: key, grantedBy: dot)
    }

    /// The key this notice grants to `keyring`'s device, whichever its replica (each grant is
    /// tried: one that is not this device's does not open). For a bundle, read before its store.
    public func key(for keyring: Keyring) -> EpochKey? {
        let full = label(in: keyring.partnershipID)
        for grant in grants {
            if let key = grant.open(label: full, with: keyring.deviceKey) { return EpochKey(scope: full.scope, epoch: full.epoch, key: key, grantedBy: dot) }
        }
        return nil
    }

    /// The payload fields of a notice granting `key` of `label` to each device in `recipients`
    /// (replica → agreement key).
    static func fields(label: KeyGrant.Label, key: ScopeKey, recipients: [(ReplicaID, Data)], reason: String?) throws -> [String: JSONValue] {
        let grants = try recipients.sorted { $0.0.rawValue < $1.0.rawValue }.map { replica, agreement in
            try KeyGrant.seal(key, label: label, to: replica, agreementKey: agreement).json
        }
        var fields = [String: JSONValue]()
        fields["scope"] = .string(label.scope.rawValue)
        fields["epoch"] = .int(label.epoch)
        fields["keyId"] = .string(label.keyID)
        fields["grants"] = .array(grants)
        if let reason { fields["reason"] = .string(reason) }
        return fields
    }
}
