import Crypto
import Foundation

/// A device's signing key (Ed25519), generated on the laptop and kept only sealed in its keyring.
///
/// It signs every event the device writes (over the event id, `Protocol/encoding.md` §7) and the
/// certificates the device issues (`Protocol/trust.md`).
public struct DeviceKey: Sendable {
    let privateKey: Curve25519.Signing.PrivateKey

    public static func generate() -> DeviceKey { DeviceKey(privateKey: Curve25519.Signing.PrivateKey()) }

    init(privateKey: Curve25519.Signing.PrivateKey) { self.privateKey = privateKey }

    /// Rebuilds a key from its 32-byte seed.
    public init(seed: Data) throws {
        guard seed.count == 32 else { throw FieldlogError(.corrupt, "a device key must be 32 bytes") }
        privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// The 32-byte seed (secret).
    var seed: Data { privateKey.rawRepresentation }

    /// The raw 32-byte public key.
    public var publicKey: Data { privateKey.publicKey.rawRepresentation }

    public var fingerprint: KeyFingerprint { KeyFingerprint(publicKey: publicKey) }

    /// A 64-byte Ed25519 signature over `message`.
    public func sign(_ message: Data) throws -> Data { try privateKey.signature(for: message) }
}

/// A public key's name: the first 16 bytes of SHA-256(`fieldlog/device-key/v1` ‖ key), in hex.
public struct KeyFingerprint: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(publicKey: Data) {
        var hash = SHA256()
        hash.update(data: Data("fieldlog/device-key/v1".utf8))
        hash.update(data: publicKey)
        hex = Hex.encode(Data(hash.finalize()).prefix(16))
    }

    /// Accepts exactly 32 lowercase hex characters.
    public init?(hex: String) {
        guard hex.utf8.count == 32, hex.utf8.allSatisfy(Hex.isLowerHexDigit) else { return nil }
        self.hex = hex
    }

    /// For reading aloud over the phone: eight groups of four.
    public var grouped: String {
        stride(from: 0, to: 32, by: 4).map { i in
            String(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 4)])
        }.joined(separator: " ")
    }

    public var description: String { hex }
    public static func < (a: KeyFingerprint, b: KeyFingerprint) -> Bool { a.hex < b.hex }
}

/// Checks Ed25519 signatures under one public key (parsed once).
public struct SignatureChecker: Sendable {
    let key: Curve25519.Signing.PublicKey

    public init?(publicKey: Data) {
        guard publicKey.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return nil }
        self.key = key
    }

    public func isValid(_ signature: Data, for message: Data) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: message)
    }
}
