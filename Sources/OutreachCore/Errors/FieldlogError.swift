/// An error a person can act on: a stable code, a message naming the problem, and a hint.
///
/// A struct over a code rather than a public enum, so new cases don't break callers.
public struct FieldlogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable machine-readable codes (`--format json` errors and tests use them).
    public enum Code: String, Sendable {
        case noStore = "no-store"
        case storeExists = "store-exists"
        case locked
        case wrongPassphrase = "wrong-passphrase"
        case unknownRef = "unknown-ref"
        case ambiguousRef = "ambiguous-ref"
        case badInput = "bad-input"
        case malformed
        case foreignBundle = "foreign-bundle"
        case tampered
        case conflict
        case corrupt
        case notPermitted = "not-permitted"
        case io
    }

    /// What a person gave that is at fault, in the library's words: a front end names its own
    /// option for it (the library never names a command-line flag).
    public enum Input: String, Sendable {
        case name, reason, unidentified, periodStart, periodEnd, months, storeDirectory, person, confirm, after
    }

    public let code: Code
    public let message: String
    public let hint: String?
    public let input: Input?

    public init(_ code: Code, _ message: String, hint: String? = nil, input: Input? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.input = input
    }

    public var description: String { hint.map { "\(message) (\($0))" } ?? message }

    public static func malformed(_ message: String) -> FieldlogError { FieldlogError(.malformed, message) }
    public static func badInput(_ message: String, hint: String? = nil, input: Input? = nil) -> FieldlogError {
        FieldlogError(.badInput, message, hint: hint, input: input)
    }
}
