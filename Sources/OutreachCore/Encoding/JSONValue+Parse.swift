import Foundation

// Reading JSON text into a `JSONValue` (the canonical writer is in `JSONValue.swift`).

/// Why a JSON text could not be read.
public struct JSONParseError: Error, CustomStringConvertible, Sendable {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A JSON text holding more values than its reader allows (`JSONValue.parse(_:maxValues:)`):
/// what a body would cost in memory once parsed is bounded before it is spent.
public struct JSONTooManyValues: Error, CustomStringConvertible, Sendable {
    public let limit: Int
    public var description: String { "the JSON holds more than \(limit) values" }
}

extension JSONValue {
    /// Parses a JSON text. Numbers must be whole Int64s (the model has no others); `5.0` and `1e3` are read as 5 and 1000.
    /// `maxValues` bounds the values (scalars, arrays, objects) read: each costs tens of bytes
    /// of memory for as little as two bytes of text, so a server sets it on what clients send.
    public static func parse(_ data: Data, maxValues: Int = .max) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self), budget: maxValues, maxValues: maxValues)
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.pos == parser.bytes.count else { throw parser.fail("trailing characters") }
            return value
        }
    }

    /// Parses a JSON text given as a string.
    public static func parse(_ text: String) throws -> JSONValue { try parse(Data(text.utf8)) }

    /// Reads a JSON text exactly as strictly as `parse` (it throws where `parse` throws), but
    /// builds only the `named` members of its top-level object, returned in the order named
    /// (nil where absent): the rest is checked and dropped. Nil when the text is valid JSON but
    /// not an object. For a reader that needs a few members of a large value, and the verdict
    /// on the whole of it.
    public static func parseMembers(_ data: Data, named: [String]) throws -> [JSONValue?]? {
        try parseMembers(data, named: Names(named))
    }

    /// `parseMembers(_:named:)` with the names prepared.
    public static func parseMembers(_ data: Data, named: Names) throws -> [JSONValue?]? {
        try data.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self), budget: .max, maxValues: .max)
            parser.names = named.keys
            parser.picked = Array(repeating: nil, count: named.keys.count)
            parser.skipSpace()
            let isObject = parser.pos < parser.bytes.count && parser.bytes[parser.pos] == UInt8(ascii: "{")
            _ = try withExtendedLifetime(named) { try parser.value(depth: 0, keep: isObject ? .named : .nothing) }
            parser.skipSpace()
            guard parser.pos == parser.bytes.count else { throw parser.fail("trailing characters") }
            return isObject ? parser.picked : nil
        }
    }

    /// What reading a value builds: all of it; nothing (read as strictly, `.null` returned); or,
    /// of an object, only the members the parser's `names` name, into its `picked` (the others
    /// read as with `.nothing`; `.null` returned).
    private enum Keep {
        case everything, nothing, named

        /// Whether the value read is built and returned.
        var builds: Bool {
            if case .everything = self { return true }
            return false
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var pos = 0
        /// Values still allowed, of `maxValues`.
        var budget: Int
        let maxValues: Int
        /// The members to build of an object read with `Keep.named`, and those built, in the order named.
        var names: [MemberKey] = []
        var picked: [JSONValue?] = []
        static let maxDepth = 64

        init(bytes: UnsafeBufferPointer<UInt8>, budget: Int, maxValues: Int) {
            self.bytes = bytes
            self.budget = budget
            self.maxValues = maxValues
        }

        func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: pos, reason: reason) }

        mutating func skipSpace() {
            while pos < bytes.count {
                switch bytes[pos] {
                case 0x20, 0x0A, 0x0D, 0x09: pos += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: String, _ value: JSONValue) throws -> JSONValue {
            for b in literal.utf8 {
                guard pos < bytes.count, bytes[pos] == b else { throw fail("expected \(literal)") }
                pos += 1
            }
            return value
        }

        mutating func value(depth: Int, keep: Keep = .everything) throws -> JSONValue {
            guard depth < Parser.maxDepth else { throw fail("nested too deeply") }
            guard pos < bytes.count else { throw fail("unexpected end") }
            budget -= 1
            guard budget >= 0 else { throw JSONTooManyValues(limit: maxValues) }
            let built: JSONValue
            switch bytes[pos] {
            case UInt8(ascii: "{"): return try object(depth: depth, keep: keep)
            case UInt8(ascii: "["): return try array(depth: depth, keep: keep)
            case UInt8(ascii: "\""):
                let s = try string(keep: keep.builds)
                built = .string(s)
            case UInt8(ascii: "t"): built = try expect("true", .bool(true))
            case UInt8(ascii: "f"): built = try expect("false", .bool(false))
            case UInt8(ascii: "n"): built = try expect("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): built = try number()
            default: throw fail("unexpected character")
            }
            return keep.builds ? built : .null
        }

        /// An object. Keys are always read and checked for duplicates, whatever is kept.
        mutating func object(depth: Int, keep: Keep) throws -> JSONValue {
            pos += 1
            var members = [String: JSONValue]()
            /// The keys seen, when values are not all kept (the duplicate check needs them).
            var seen = KeysSeen()
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return keep.builds ? .object(members) : .null }
            while true {
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = keep.builds ? MemberKey.text(try string()) : try self.key()
                skipSpace()
                guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                pos += 1
                skipSpace()
                let duplicate: Bool
                switch keep {
                case .everything:
                    duplicate = members.updateValue(try value(depth: depth + 1), forKey: key.string) != nil
                case .nothing:
                    _ = try value(depth: depth + 1, keep: .nothing)
                    duplicate = !seen.insert(key)
                case .named:
                    var named: Int?
                    for i in names.indices where names[i] == key {
                        named = i
                        break
                    }
                    let value = try value(depth: depth + 1, keep: named == nil ? .nothing : .everything)
                    if let named { picked[named] = value }
                    duplicate = !seen.insert(key)
                }
                guard !duplicate else { throw fail("duplicate key \"\(key.string)\"") }
                skipSpace()
                guard pos < bytes.count else { throw fail("unexpected end") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "}") { pos += 1; return keep.builds ? .object(members) : .null }
                throw fail("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int, keep: Keep) throws -> JSONValue {
            pos += 1
            var items = [JSONValue]()
            let building = keep.builds
            skipSpace()
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return building ? .array(items) : .null }
            while true {
                skipSpace()
                let item = try value(depth: depth + 1, keep: building ? .everything : .nothing)
                if building { items.append(item) }
                skipSpace()
                guard pos < bytes.count else { throw fail("unexpected end") }
                if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                if bytes[pos] == UInt8(ascii: "]") { pos += 1; return building ? .array(items) : .null }
                throw fail("expected ',' or ']'")
            }
        }

        /// An integer, also when written with a fraction or exponent that leaves it whole (`5.0`,
        /// `1e3`: JSON Schema counts them as integers, so a schema-valid request may carry them);
        /// a number that is not whole, or not an Int64, is refused.
        mutating func number() throws -> JSONValue {
            let negative = bytes[pos] == UInt8(ascii: "-")
            if negative { pos += 1 }
            let digitsStart = pos
            skipDigits()
            guard pos > digitsStart else { throw fail("expected a digit") }
            if pos - digitsStart > 1 && bytes[digitsStart] == UInt8(ascii: "0") { throw fail("leading zero") }
            let integerEnd = pos
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ".") || bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") else {
                // Digits alone: accumulated towards the sign, so Int64.min is read as well.
                var n: Int64 = 0
                for b in bytes[digitsStart..<integerEnd] {
                    let digit = Int64(b &- UInt8(ascii: "0"))
                    let (shifted, over) = n.multipliedReportingOverflow(by: 10)
                    let (next, past) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
                    guard !over && !past else { throw fail("integer out of range") }
                    n = next
                }
                return .int(n)
            }
            var digits = Array(bytes[digitsStart..<integerEnd])
            var exponent = 0
            if bytes[pos] == UInt8(ascii: ".") {
                pos += 1
                let fractionStart = pos
                skipDigits()
                guard pos > fractionStart else { throw fail("expected a digit after '.'") }
                digits += bytes[fractionStart..<pos]
                exponent -= pos - fractionStart
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
                pos += 1
                var exponentNegative = false
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") {
                    exponentNegative = bytes[pos] == UInt8(ascii: "-")
                    pos += 1
                }
                let exponentStart = pos
                skipDigits()
                guard pos > exponentStart else { throw fail("expected a digit in the exponent") }
                // Past 10^40 either way nothing is a whole Int64 but zero; the clamp keeps the
                // arithmetic small whatever the text says.
                var e = 0
                for b in bytes[exponentStart..<pos] { e = min(e * 10 + Int(b - UInt8(ascii: "0")), 1 << 20) }
                exponent += exponentNegative ? -e : e
            }
            while let first = digits.first, first == UInt8(ascii: "0") { digits.removeFirst() }
            if digits.isEmpty { return .int(0) }
            if exponent < 0 {
                let drop = -exponent
                guard drop <= digits.count, digits.suffix(drop).allSatisfy({ $0 == UInt8(ascii: "0") }) else {
                    throw fail("only whole numbers are allowed")
                }
                digits.removeLast(drop)
                if digits.isEmpty { return .int(0) }
            } else {
                guard digits.count + exponent <= 19 else { throw fail("integer out of range") }
                digits += Array(repeating: UInt8(ascii: "0"), count: exponent)
            }
            guard let n = Int64((negative ? "-" : "") + String(decoding: digits, as: UTF8.self)) else { throw fail("integer out of range") }
            return .int(n)
        }

        mutating func skipDigits() {
            while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
        }

        mutating func hex4() throws -> UInt32 {
            guard pos + 4 <= bytes.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[pos]
                let d: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d
                pos += 1
            }
            return v
        }

        /// An object's key, read as `string()` reads it: plain ASCII as the bytes in the text.
        mutating func key() throws -> MemberKey {
            let start = pos + 1
            var end = start
            var ascii = true
            while end < bytes.count {
                let b = bytes[end]
                if b == UInt8(ascii: "\"") {
                    guard ascii else { break }
                    pos = end + 1
                    return .ascii(UnsafeBufferPointer(rebasing: bytes[start..<end]))
                }
                if b == UInt8(ascii: "\\") || b < 0x20 { break }
                if b >= 0x80 { ascii = false }
                end += 1
            }
            return .text(try string())  // escapes, other characters, faults: as any string
        }

        /// A string; with `keep` false it is read as strictly (escapes checked) and "" returned.
        mutating func string(keep: Bool = true) throws -> String {
            pos += 1  // opening quote
            let start = pos
            // Fast path: no escapes.
            while pos < bytes.count {
                let b = bytes[pos]
                if b == UInt8(ascii: "\"") {
                    let s = keep ? String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self) : ""
                    pos += 1
                    return s
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { throw fail("control character in string") }
                pos += 1
            }
            var out = keep ? [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<pos])) : []
            while pos < bytes.count {
                let b = bytes[pos]
                if b == UInt8(ascii: "\"") {
                    pos += 1
                    return keep ? String(decoding: out, as: UTF8.self) : ""
                }
                if b < 0x20 { throw fail("control character in string") }
                if b != UInt8(ascii: "\\") { if keep { out.append(b) }; pos += 1; continue }
                pos += 1
                guard pos < bytes.count else { break }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                            throw fail("lone surrogate")
                        }
                        pos += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("bad surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail("bad escape")
                }
            }
            throw fail("unterminated string")
        }
    }
}
