import Foundation
import Testing
@testable import OutreachCore

/// The reader takes what JSON Schema calls an integer, however it is written, and nothing else:
/// schemathesis sends `481.0` for an integer member and expects it accepted (issue 11, item 8).
@Suite struct JSONParseTests {
    @Test(arguments: [
        ("0", 0), ("-0", 0), ("42", 42), ("-7", -7), ("481.0", 481), ("5.000", 5), ("1e3", 1000), ("1E+3", 1000),
        ("2.5e1", 25), ("1200e-2", 12), ("-4.0e2", -400), ("0.0", 0), ("0e99999999999", 0), ("0.000e-5", 0),
        ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min), ("9.223372036854775807e18", Int64.max),
        ("48275310.0", 48_275_310),
    ] as [(String, Int64)])
    func wholeNumbers(_ text: String, _ value: Int64) throws {
        #expect(try JSONValue.parse(text) == .int(value))
        #expect(try JSONValue.parse("{\"n\":\(text)}")["n"]?.intValue == value)
    }

    @Test(arguments: [
        "0.5", "-1.9", "8.830556166909558e-159", "1e-1", "100e-5",      // not whole
        "9223372036854775808", "1e19", "1.7e308", "1e99999999999999",  // past Int64
        "01", "1.", ".5", "1e", "1e+", "-", "--1", "+1", "1.e3",      // not JSON numbers
    ])
    func refused(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func canonicalOutputIsUnchanged() throws {
        // A whole number written long is read as the integer; written back it is the short form.
        #expect(try JSONValue.parse("[1.0, 2e0]").canonicalString() == "[1,2]")
    }

    // MARK: Reading a few members (the check on receipt reads a payload's type alone)

    /// A JSON-like text: mostly valid, with the faults a hostile writer would try (duplicate
    /// keys, bad escapes, lone surrogates, control characters, bad numbers, deep nesting, a cut).
    static func jsonish(_ rng: inout SeededRNG, depth: Int = 0) -> String {
        // Keys that are the same string written differently: escaped, or canonically equivalent
        // (the Kelvin sign is "K"; "é" precomposed or not), as the whole parse's dictionary sees them.
        let keys = ["type", "v", "at", "by", "a", "b", "t\\u0079pe", "\\u0076", "K", "\u{212A}", "\\u212a", "\u{e9}", "e\u{301}", "\u{e9}t"]
        let scalars = ["0", "-3", "1.0", "1e3", "0.5", "01", "99999999999999999999", "true", "false", "null", "nul",
                       "\"x\"", "\"contact.logged\"", "\"a\\n\\u00e9\"", "\"\\ud800\"", "\"\\ud83d\\ude00\"", "\"\\q\"", "\"\u{1}\"", "\"\u{e9}\""]
        func pick(_ list: [String]) -> String { list[Int(rng.next() % UInt64(list.count))] }
        let roll = rng.next() % 10
        if depth > 3 || roll < 4 { return pick(scalars) }
        if roll == 4 { return String(repeating: "[", count: 70) + String(repeating: "]", count: 70) }
        let count = Int(rng.next() % 6)
        if roll < 7 {
            return "[" + (0..<count).map { _ in jsonish(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
        }
        return "{" + (0..<count).map { _ in "\"\(pick(keys))\" : " + jsonish(&rng, depth: depth + 1) }.joined(separator: ",") + "}"
    }

    /// A payload-like object: the envelope members, each sometimes missing, mistyped or doubled.
    static func payloadish(_ rng: inout SeededRNG) -> String {
        var members = [String]()
        let envelope = [("type", ["\"contact.logged\"", "\"x.y\"", "7", "\"t\\u0079pe\""]), ("v", ["1", "1.0", "\"1\"", "0.5"]),
                        ("at", ["1770000000000", "-1", "null", "1e3"]), ("by", ["\"w1\"", "2", "\"\""])]
        for (key, values) in envelope where rng.next() % 16 != 0 {
            members.append("\"\(key)\":" + (rng.next() % 5 != 0 ? values[0] : values[Int(rng.next() % UInt64(values.count))]))
        }
        for _ in 0..<Int(rng.next() % 3) { members.append("\"f\(rng.next() % 3)\":" + jsonish(&rng, depth: 1)) }
        members.shuffle(using: &rng)
        let text = "{" + members.joined(separator: ",") + "}"
        return rng.next() % 10 == 0 ? String(text.dropLast(Int(rng.next() % 3))) + (rng.next() % 2 == 0 ? " x" : "") : text
    }

    /// `parseMembers` accepts and refuses exactly what `parse` does, and builds exactly the
    /// named members; `Payload.type(in:)` answers exactly where `Payload(json:)` reads one.
    @Test func readingSomeMembersIsAsStrictAsReadingAll() throws {
        let named = ["type", "v", "a"]
        var outcomes = [String: Int]()
        for seed in propertySeeds(3000) {
            var rng = SeededRNG(seed: seed)
            let text = seed % 2 == 0 ? Self.jsonish(&rng) : Self.payloadish(&rng)
            let data = Data(text.utf8)
            let whole = try? JSONValue.parse(data)
            let some = Result { try JSONValue.parseMembers(data, named: named) }
            switch (whole, some) {
            case (nil, .failure): break
            case (let whole?, .success(let members)):
                // Nil for a value that is not an object.
                #expect(members == whole.objectValue.map { object in named.map { object[$0] } }, "seed \(seed): \(text)")
            default: Issue.record("seed \(seed): parse and parseMembers disagree on \(text)")
            }
            let payload = whole.flatMap { try? Payload(json: $0) }
            #expect(Payload.type(in: data) == payload?.type, "seed \(seed): \(text)")
            outcomes[whole == nil ? "refused" : payload == nil ? "not a payload" : "payload", default: 0] += 1
        }
        // Each kind of text is met often enough for the agreement to mean something.
        #expect(outcomes.values.allSatisfy { $0 > 200 } && outcomes.count == 3, "\(outcomes)")
    }

    @Test func aSkippedMemberIsStillReadWhole() throws {
        // Nothing skipped is trusted: a fault deep in a member not built is refused as `parse` refuses it.
        for text in ["{\"type\":\"x\",\"f\":{\"a\":1,\"a\":2}}", "{\"type\":\"x\",\"f\":{\"a\":1,\"\\u0061\":2}}",
                     // The same key by canonical equivalence (the Kelvin sign is "K"), as parse's dictionary sees it.
                     "{\"type\":\"x\",\"f\":{\"K\":1,\"\u{212A}\":2}}", "{\"type\":\"x\",\"type\":\"y\"}", "{\"f\":[\"\\ud800\"],\"type\":\"x\"}", "{\"f\":01}",
                     "{\"f\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}", "{\"f\":\"\u{1}\"}",
                     // Past 16 keys the keys seen are hashed: a duplicate is still found.
                     "{\"f\":{" + (0..<20).map { "\"k\($0)\":\($0)," }.joined() + "\"k3\":0}}"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parseMembers(Data(text.utf8), named: ["type"]) }
        }
        let many = "{\"f\":{" + (0..<20).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + "},\"type\":\"x\"}"
        #expect(try JSONValue.parseMembers(Data(many.utf8), named: ["type", "v"]) == ["x", nil])
    }
}
