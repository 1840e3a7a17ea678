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
    static func word(_ text: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt64? {
        var bits: UInt64 = 0
        for i in offset..<(offset + 16) {
            let c = text[i]
            guard isLowerHexDigit(c) else { return nil }
            bits = bits << 4 | UInt64(c < 0x3A ? c - 0x30 : c - 0x57)
        }
        return bits
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
