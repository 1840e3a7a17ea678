import Crypto
import CryptoExtras
import Foundation

/// Derives a key-encryption key from a person's passphrase (PBKDF2-HMAC-SHA256).
///
/// 600,000 rounds, the OWASP figure for PBKDF2-SHA256: about 0.08 s in a release build here,
/// paid once per `unlock`, not per command.
public struct PassphraseKDF: Sendable, Equatable {
    public static let defaultRounds = 600_000
    public let salt: Data
    public let rounds: Int

    public init(salt: Data, rounds: Int = PassphraseKDF.defaultRounds) {
        self.salt = salt
        self.rounds = rounds
    }

    public static func fresh() -> PassphraseKDF {
        PassphraseKDF(salt: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public func deriveKey(_ passphrase: String) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(from: Data(passphrase.utf8), salt: salt, using: .sha256,
                                          outputByteCount: 32, rounds: rounds)
    }

    var json: JSONValue { ["alg": "pbkdf2-sha256", "salt": .string(salt.base64EncodedString()), "rounds": .int(Int64(rounds))] }

    init(json: JSONValue) throws {
        guard json["alg"]?.stringValue == "pbkdf2-sha256",
            let salt = json["salt"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
            let rounds = json["rounds"]?.intValue, rounds >= 100_000
        else { throw FieldlogError(.corrupt, "unsupported or weak key derivation parameters") }
        self.init(salt: salt, rounds: Int(rounds))
    }
}

/// A secret sealed under a key derived from a passphrase: used for the store's master key and for invites.
struct PassphraseSealed {
    let kdf: PassphraseKDF
    let box: Data

    static let aad = Data("fieldlog/passphrase-sealed/v1".utf8)

    static func seal(_ secret: Data, passphrase: String) throws -> PassphraseSealed {
        let kdf = PassphraseKDF.fresh()
        let kek = try kdf.deriveKey(passphrase)
        return PassphraseSealed(kdf: kdf, box: try ChaChaPoly.seal(secret, using: kek, authenticating: aad).combined)
    }

    func open(passphrase: String) throws -> Data {
        let kek = try kdf.deriveKey(passphrase)
        do {
            return try ChaChaPoly.open(ChaChaPoly.SealedBox(combined: box), using: kek, authenticating: PassphraseSealed.aad)
        } catch {
            throw FieldlogError(.wrongPassphrase, "wrong passphrase", hint: "check the passphrase and try again")
        }
    }

    var json: JSONValue { ["kdf": kdf.json, "box": .string(box.base64EncodedString())] }

    init(kdf: PassphraseKDF, box: Data) {
        self.kdf = kdf
        self.box = box
    }

    init(json: JSONValue) throws {
        guard let kdfJSON = json["kdf"], let box = json["box"]?.stringValue.flatMap({ Data(base64Encoded: $0) }) else {
            throw FieldlogError(.corrupt, "a passphrase-sealed secret is unreadable")
        }
        self.init(kdf: try PassphraseKDF(json: kdfJSON), box: box)
    }
}
