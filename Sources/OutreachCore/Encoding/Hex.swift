import Foundation

/// Lowercase hexadecimal, the form every id in the system is written in.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A big-endian number as 16 lowercase hex characters.
    public static func encode(word: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { out in
            write(word: word, into: out, at: 0)
            return 16
        }
    }

    /// Writes `word`'s 16 hex characters into `out` from `offset`.
    static func write(word: UInt64, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        for i in 0..<16 { out[offset + i] = digits[Int(truncatingIfNeeded: word >> (60 - 4 * UInt64(i))) & 0x0F] }
    }

    /// The number 16 lowercase hex characters spell (the first most significant); nil for any
    /// other text.
    static func word(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard text.count == 16 else { return nil }
        return word(text, at: 0)
    }

    /// The number the 16 lowercase hex characters from `offset` spell; nil if any is not one.
    /// Eight characters at a time, as one 64-bit word each (a server packing a new laptop's
    /// pages reads ~200 hex characters an event: character by character it was a third of that).
    static func word(_ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64? {
        precondition(offset >= 0 && text.count - offset >= 16, "16 hex characters")
        let raw = UnsafeRawBufferPointer(text)
        guard let high = eight(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self).bigEndian),
              let low = eight(raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).bigEndian) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    /// The number eight lowercase hex characters spell, given as one word (the first
    /// character its most significant byte); nil if any byte is not one.
    @inline(__always)
    private static func eight(_ x: UInt64) -> UInt32? {
        let ones: UInt64 = 0x0101_0101_0101_0101, top: UInt64 = 0x8080_8080_8080_8080
        guard x & top == 0 else { return nil }  // ASCII: then no byte's sum below carries into the next
        // A byte's top bit after adding 0x80 - lo is set when it is at least lo; after adding
        // 0x7F - hi, when it is above hi.
        func within(_ lo: UInt64, _ hi: UInt64) -> UInt64 { (x &+ ones &* (0x80 - lo)) & ~(x &+ ones &* (0x7F - hi)) & top }
        let digits = within(0x30, 0x39), letters = within(0x61, 0x66)
        guard digits | letters == top else { return nil }
        let nibbles = (x & 0x0F0F_0F0F_0F0F_0F0F) &+ (letters >> 7) &* 9  // "a" is 0x61: 1 + 9
        // Pairs of nibbles into bytes, then pairs of bytes, then the two halves.
        let bytes = (nibbles >> 4 | nibbles) & 0x00FF_00FF_00FF_00FF
        let halves = (bytes >> 8 | bytes) & 0x0000_FFFF_0000_FFFF
        return UInt32(truncatingIfNeeded: halves >> 16 | halves)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i]), let lo = value(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always)
    static func isLowerHexDigit(_ c: UInt8) -> Bool {
        c &- 0x30 < 10 || c &- 0x61 < 6
    }

    /// Whether `text` is exactly `length` lowercase hex digits: over its UTF-8 bytes in one
    /// buffer (every event row read back checks its id and origin: a server answering a crowd
    /// reads millions).
    static func isLowerHex(_ text: String, length: Int) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count == length else { return false }
            for c in bytes where !isLowerHexDigit(c) { return false }
            return true
        }
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }

    /// `count` random bytes as hex.
    public static func random(bytes count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return encode((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}
