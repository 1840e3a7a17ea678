import Foundation

/// A replica's identity: 8 random bytes written as 16 lowercase hex characters.
///
/// Each laptop store (and later each server) is one replica. The id means nothing outside the
/// system and is chosen at random, so two replicas never need to agree on names.
public struct ReplicaID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts exactly 16 lowercase hex characters.
    public init?(_ text: String) {
        guard Hex.isLowerHex(text, length: 16) else { return nil }
        rawValue = text
    }

    /// A new random replica id.
    public static func random<G: RandomNumberGenerator>(using rng: inout G) -> ReplicaID {
        let bytes = (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return ReplicaID(Hex.encode(bytes))!
    }

    public static func random() -> ReplicaID {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }

    public var description: String { rawValue }
    public static func < (a: ReplicaID, b: ReplicaID) -> Bool { a.rawValue < b.rawValue }
}
