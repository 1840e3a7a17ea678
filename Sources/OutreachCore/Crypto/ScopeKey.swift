import Crypto
import Foundation

/// A 256-bit key that seals the payloads of one scope (an organisation's, or the partnership's).
///
/// Its id is derived from the key itself (HMAC with a fixed label), so the id names the key
/// without revealing it and a rotated key gets a new id.
public struct ScopeKey: Sendable {
    public let key: SymmetricKey
    public let id: String

    public init(key: SymmetricKey) {
        self.key = key
        let mac = HMAC<SHA256>.authenticationCode(for: Data("fieldlog/key-id/v1".utf8), using: key)
        id = Hex.encode(Data(mac).prefix(8))
    }

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        self.init(key: SymmetricKey(data: data))
    }

    public static func generate() -> ScopeKey { ScopeKey(key: SymmetricKey(size: .bits256)) }

    /// The key's 32 bytes (a person's key rides in her registration this way).
    public var bytes: Data { key.withUnsafeBytes { Data($0) } }
    public var base64: String { bytes.base64EncodedString() }

    /// Seals `plaintext` (ChaChaPoly, random nonce) bound to `aad`; returns the combined box.
    public func seal(_ plaintext: Data, aad: Data) throws -> Data {
        try ChaChaPoly.seal(plaintext, using: key, authenticating: aad).combined
    }

    /// Seals with a nonce the caller drew from the system CSPRNG (bulk appends draw many at once).
    func seal(_ plaintext: Data, aad: Data, nonce: ChaChaPoly.Nonce) throws -> Data {
        try ChaChaPoly.seal(plaintext, using: key, nonce: nonce, authenticating: aad).combined
    }

    /// Opens a combined box; throws `tampered` if the box, the key or the aad do not match.
    public func open(_ box: Data, aad: some DataProtocol) throws -> Data {
        do {
            return try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: key, authenticating: aad)
        } catch {
            throw FieldlogError(.tampered, "a sealed payload failed to open: it was altered or sealed under another key")
        }
    }
}
