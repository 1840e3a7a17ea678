import Crypto
import Foundation
import OutreachCore

/// Bearer and enrolment tokens: a kind prefix, the partnership's name and a dot when the server
/// hosts several (`docs/server-storage.md`), then 32 random bytes, base64url; only their SHA-256
/// is stored. The prefix (`fle_` enrolment, `fld_` device) keeps a token from starting with "-"
/// (which a command line reads as an option) and says what a leaked one is. The partnership
/// part only routes the token to that partnership's storage, where it must then be found.
public enum Tokens {
    public enum Kind: String, Sendable {
        case enrolment = "fle_", device = "fld_"
    }

    public static func generate(_ kind: Kind, partnership: String? = nil) -> String {
        kind.rawValue + (partnership.map { $0 + "." } ?? "") + randomText()
    }

    /// The partnership a token names (nil: the server's default one, as every token before 0.5).
    /// Whatever a client sends: only a known prefix, then text up to a dot, names one.
    public static func partnership(of token: String) -> String? {
        guard token.hasPrefix(Kind.device.rawValue) || token.hasPrefix(Kind.enrolment.rawValue) else { return nil }
        let rest = token.dropFirst(Kind.device.rawValue.count)
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        return String(rest[..<dot])
    }

    static func randomText() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }
}
