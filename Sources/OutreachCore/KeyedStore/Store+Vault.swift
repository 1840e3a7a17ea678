import Crypto
import Foundation

/// The secrets a store holds sealed: the master key wrapped under the worker's passphrase, the
/// keyring sealed under the master key, the server token sealed under the local key. The store
/// keeps their bytes in its metadata; they are sealed and opened only here.
extension Store {
    private static let keyringAAD = Data("fieldlog/keyring/v1".utf8)

    /// Creates a new store for a device whose keyring, replica and roster are `setup`; the master
    /// key is wrapped under `passphrase`. Returns the store and its master key (to unlock the
    /// session without deriving again).
    public static func create(at directory: URL, device: String, setup: DeviceSetup, passphrase: String) throws -> (Store, SymmetricKey) {
        guard !exists(at: directory) else {
            throw FieldlogError(.storeExists, "a store already exists at \(directory.path)", input: .storeDirectory)
        }
        let masterKey = SymmetricKey(size: .bits256)
        let wrapped = try PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)
        return (try create(at: directory, device: device, setup: setup, masterKey: masterKey, wrapped: wrapped), masterKey)
    }

    /// Creates a store around an already wrapped master key (tests reuse one derivation).
    static func create(at directory: URL, device: String, setup: DeviceSetup, masterKey: SymmetricKey, wrapped: PassphraseSealed) throws -> Store {
        let keyring = setup.keyring
        guard let mine = setup.roster.signer(of: setup.replica), mine.key == keyring.deviceKey.publicKey, mine.org == keyring.org else {
            throw FieldlogError(.notPermitted, "this laptop's key is not certified for \(keyring.org)", hint: "make a new invite on an enrolled laptop")
        }
        let sealedKeyring = try ChaChaPoly.seal(keyring.json.canonicalData(), using: masterKey, authenticating: keyringAAD).combined
        return try create(at: directory, device: device, replica: setup.replica, org: keyring.org, partnership: keyring.partnershipID,
                          roster: setup.roster, secrets: ["masterKey": wrapped.json.canonicalString(), "keyring": sealedKeyring.base64EncodedString()])
    }

    /// Unwraps the master key with the worker's passphrase (slow: a key derivation).
    public func masterKey(passphrase: String) throws -> SymmetricKey {
        SymmetricKey(data: try wrappedMasterKey().open(passphrase: passphrase))
    }

    private func wrappedMasterKey() throws -> PassphraseSealed {
        try PassphraseSealed(json: try JSONValue.parse(try metaValue("masterKey")))
    }

    /// Whether the master key's wrap uses outdated parameters (then `unlock` wraps it again).
    public func masterKeyWrapIsOutdated() throws -> Bool {
        try wrappedMasterKey().kdf.isOutdated
    }

    /// Wraps the same master key again under `passphrase` with today's parameters.
    public func rewrapMasterKey(_ masterKey: SymmetricKey, passphrase: String) throws {
        let wrapped = try PassphraseSealed.seal(masterKey.withUnsafeBytes { Data($0) }, passphrase: passphrase)
        try setMetaValue("masterKey", wrapped.json.canonicalString())
    }

    /// Changes the passphrase, and the master key with it: the keyring is sealed again under a
    /// new master key wrapped under `new`, in one transaction, so neither the old passphrase nor
    /// a copy of the old unlocked key opens anything afterwards. Returns the new master key.
    public func changePassphrase(from old: String, to new: String) throws -> SymmetricKey {
        let keyring = try keyring(masterKey: try masterKey(passphrase: old))
        let master = SymmetricKey(size: .bits256)
        let wrapped = try PassphraseSealed.seal(master.withUnsafeBytes { Data($0) }, passphrase: new)
        let sealedKeyring = try ChaChaPoly.seal(keyring.sealedPart.json.canonicalData(), using: master, authenticating: Self.keyringAAD).combined
        try setMetaValues(["masterKey": wrapped.json.canonicalString(), "keyring": sealedKeyring.base64EncodedString()])
        return master
    }

    /// Opens the keyring with the master key, with the keys granted to this device since.
    public func keyring(masterKey: SymmetricKey) throws -> Keyring {
        guard let box = Data(base64Encoded: try metaValue("keyring")) else { throw FieldlogError(.corrupt, "the store's keyring is unreadable") }
        do {
            let plain = try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: masterKey, authenticating: Self.keyringAAD)
            return try withGrantedKeys(try Keyring(json: try JSONValue.parse(plain)))
        } catch let error as FieldlogError {
            throw error
        } catch {
            throw FieldlogError(.locked, "the unlocked session does not fit this store", hint: "run fieldlog unlock")
        }
    }

    // MARK: The server token

    /// Remembers the sync server and this device's bearer token (sealed under the laptop's local
    /// key, bound to this store: the token never sits in the file in clear).
    public func setServer(url: String, deviceToken: String, keyring: Keyring, expiresAt: Int64? = nil, at time: Int64 = WallClock.nowMillis()) throws {
        let sealed = try keyring.localKey.seal(Data(deviceToken.utf8), aad: tokenAAD)
        try setServer(url: url, sealedToken: sealed, expiresAt: expiresAt, at: time)
    }

    /// The device's bearer token, opened with the keyring.
    public func deviceToken(keyring: Keyring) throws -> String? {
        guard let box = try sealedDeviceToken() else { return nil }
        // 0.3 sealed it under the organisation's first key; the local key since key rotation.
        let plain = try (try? keyring.localKey.open(box, aad: tokenAAD)) ?? keyring.orgKeys[0].key.open(box, aad: tokenAAD)
        return String(decoding: plain, as: UTF8.self)
    }

    private var tokenAAD: Data { Data("fieldlog/device-token/v1/\(info.storeID)".utf8) }
}
