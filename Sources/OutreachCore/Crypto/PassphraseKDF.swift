import Crypto
import CryptoExtras
import Foundation

/// Derives a key-encryption key from a person's passphrase.
///
/// New wraps use scrypt (memory-hard: a guessing rig pays 32 MiB per guess, not just CPU):
/// N = 2^15, r = 8, p = 1, about 0.1 s in a release build here, paid once per `unlock`, not per
/// command (figures in BENCHMARKS.md). Wraps made by fieldlog 0.1 used PBKDF2-HMAC-SHA256
/// (600,000 rounds); they still open, and `unlock` rewraps them with scrypt.
public struct PassphraseKDF: Sendable, Equatable {
    public enum Algorithm: String, Sendable { case scrypt, pbkdf2 = "pbkdf2-sha256" }

    public static let scryptN = 1 << 15
    public static let scryptR = 8
    public static let scryptP = 1
    public static let pbkdf2Rounds = 600_000

    public let algorithm: Algorithm
    public let salt: Data
    /// scrypt's N, or PBKDF2's rounds.
    public let cost: Int
    public let blockSize: Int
    public let parallelism: Int

    public init(salt: Data, algorithm: Algorithm = .scrypt, cost: Int = PassphraseKDF.scryptN, blockSize: Int = PassphraseKDF.scryptR,
                parallelism: Int = PassphraseKDF.scryptP) {
        self.algorithm = algorithm
        self.salt = salt
        self.cost = cost
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    public static func fresh() -> PassphraseKDF {
        PassphraseKDF(salt: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public func deriveKey(_ passphrase: String) throws -> SymmetricKey {
        switch algorithm {
        case .scrypt:
            return try KDF.Scrypt.deriveKey(from: Data(passphrase.utf8), salt: salt, outputByteCount: 32, rounds: cost, blockSize: blockSize,
                                            parallelism: parallelism, maxMemory: 128 * cost * blockSize * parallelism + (1 << 20))
        case .pbkdf2:
            return try KDF.Insecure.PBKDF2.deriveKey(from: Data(passphrase.utf8), salt: salt, using: .sha256, outputByteCount: 32, rounds: cost)
        }
    }

    /// Whether a wrap made with these parameters should be made again with today's.
    public var isOutdated: Bool { algorithm != .scrypt || cost < Self.scryptN || blockSize < Self.scryptR }

    var json: JSONValue {
        switch algorithm {
        case .scrypt:
            return ["alg": "scrypt", "salt": .string(salt.base64EncodedString()), "n": .int(Int64(cost)), "r": .int(Int64(blockSize)),
                    "p": .int(Int64(parallelism))]
        case .pbkdf2:
            return ["alg": "pbkdf2-sha256", "salt": .string(salt.base64EncodedString()), "rounds": .int(Int64(cost))]
        }
    }

    init(json: JSONValue) throws {
        let weak = FieldlogError(.corrupt, "unsupported or weak key derivation parameters")
        guard let salt = json["salt"]?.stringValue.flatMap({ Data(base64Encoded: $0) }), salt.count >= 16 else { throw weak }
        switch json["alg"]?.stringValue {
        case "scrypt":
            guard let n = json["n"]?.intValue, let r = json["r"]?.intValue, let p = json["p"]?.intValue,
                  n >= 1 << 14, n <= 1 << 20, n & (n - 1) == 0, (1...32).contains(r), (1...16).contains(p)
            else { throw weak }
            self.init(salt: salt, algorithm: .scrypt, cost: Int(n), blockSize: Int(r), parallelism: Int(p))
        case "pbkdf2-sha256":
            guard let rounds = json["rounds"]?.intValue, rounds >= 100_000, rounds <= 10_000_000 else { throw weak }
            self.init(salt: salt, algorithm: .pbkdf2, cost: Int(rounds))
        default:
            throw weak
        }
    }
}

/// What a new passphrase must be: at least 12 characters, or four words.
public enum PassphrasePolicy {
    /// Refuses a passphrase that is too easy to guess, saying why.
    public static func check(_ passphrase: String) throws {
        let words = passphrase.split(whereSeparator: { $0.isWhitespace || $0 == "-" }).filter { $0.count >= 2 }
        guard passphrase.count >= 12 || words.count >= 4 else {
            throw FieldlogError(.badInput, "the passphrase is too short: it needs at least 12 characters or four words",
                                hint: "it is all that protects these records if the laptop is lost, e.g. four words you can type with cold hands")
        }
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
