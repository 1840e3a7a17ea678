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
}
