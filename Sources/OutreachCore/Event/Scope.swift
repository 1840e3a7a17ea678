/// Who may read an event: its organisation only, or both charities of the partnership.
///
/// The envelope carries the scope in clear so that a server can route without reading payloads.
/// Unknown scopes from newer versions are kept as their raw text.
public struct Scope: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// Only the writing organisation's devices hold the key.
    public static let org = Scope("org")
    /// Every device of the partnership holds the key.
    public static let partnership = Scope("partnership")
    /// Readable by everyone, the server included: the payload is canonical JSON in clear, under
    /// `clearKeyID`. Only `events.purged` is written in it (`Protocol/erasure.md`).
    public static let `public` = Scope("public")

    /// The key id of a `public` event: no key.
    public static let clearKeyID = "0000000000000000"

    public var description: String { rawValue }
}
