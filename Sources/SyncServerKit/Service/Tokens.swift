import Crypto
import Foundation

/// Bearer and enrolment tokens: a kind prefix then 32 random bytes, base64url; only their
/// SHA-256 is stored. The prefix (`fle_` enrolment, `fld_` device) keeps a token from starting
/// with "-" (which a command line reads as an option) and says what a leaked one is.
public enum Tokens {
    public enum Kind: String, Sendable {
        case enrolment = "fle_", device = "fld_"
    }

    public static func generate(_ kind: Kind) -> String {
        kind.rawValue + randomText()
    }

    static func randomText() -> String {
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
