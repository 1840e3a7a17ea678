import Foundation

/// A replica's identity: 8 random bytes written as 16 lowercase hex characters.
///
/// Each laptop store (and later each server) is one replica. The id means nothing outside the
/// system and is chosen at random, so two replicas never need to agree on names.
///
/// Held as one big-endian number, not as its text: ids key every version vector and every dot,
/// and a 16-character string is a heap object to allocate, retain and hash each time. The
/// number's order is the text's order (fixed length, lowercase hex).
public struct ReplicaID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 8 bytes, the first one most significant.
    public let bits: UInt64

    public init(bits: UInt64) { self.bits = bits }

    /// Accepts exactly 16 lowercase hex characters.
    public init?(_ text: String) {
        var text = text
        guard let bits = text.withUTF8({ Hex.word($0) }) else { return nil }
        self.bits = bits
    }

    /// Exactly 16 lowercase hex characters, as UTF-8.
    init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        guard let bits = Hex.word(text) else { return nil }
        self.bits = bits
    }

    /// The 16 lowercase hex characters.
    public var rawValue: String { Hex.encode(word: bits) }

    /// A new random replica id.
    public static func random<G: RandomNumberGenerator>(using rng: inout G) -> ReplicaID {
        // Byte by byte, first byte most significant (as ids were always drawn: seeded
        // generators in tests and benchmarks give the ids they always gave).
        ReplicaID(bits: (0..<8).reduce(0) { bits, _ in bits << 8 | UInt64(UInt8.random(in: 0...255, using: &rng)) })
    }

    public static func random() -> ReplicaID {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }

    public var description: String { rawValue }
    public static func < (a: ReplicaID, b: ReplicaID) -> Bool { a.bits < b.bits }
}
