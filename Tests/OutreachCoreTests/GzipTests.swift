import Foundation
import Testing
@testable import OutreachCore

@Suite struct GzipTests {
    @Test(arguments: [0, 1, 100, 513, 4096, 65_535, 65_536, 65_537, 200_000, 1_000_000])
    func roundTrips(_ size: Int) throws {
        var rng = SeededRNG(seed: UInt64(size))
        // Half compressible, half random: both shapes of real bodies.
        let data = Data((0..<size).map { i in i % 2 == 0 ? UInt8(i % 7) : UInt8.random(in: 0...255, using: &rng) })
        let packed = try Gzip.compress(data)
        #expect(try Gzip.decompress(packed, maxSize: size + 1) == data)
    }

    @Test func refusesDamageTruncationAndBombs() throws {
        let packed = try Gzip.compress(Data(repeating: 65, count: 100_000))
        #expect(throws: Gzip.TooLarge.self) { try Gzip.decompress(packed, maxSize: 1000) }
        #expect(throws: FieldlogError.self) { try Gzip.decompress(packed.prefix(packed.count / 2), maxSize: 1 << 20) }
        #expect(throws: FieldlogError.self) { try Gzip.decompress(Data("not gzip at all".utf8), maxSize: 1 << 20) }
    }

    /// Pieces compressed apart and laid end to end, in any order and repeated, make one gzip
    /// member that expands to their bytes in that order, here and in the system's gzip.
    @Test func piecesMakeOneMember() throws {
        var rng = SeededRNG(seed: 20261125)
        let raws = (0..<12).map { n in
            Data((0..<Int.random(in: 0...40_000, using: &rng)).map { i in n % 3 == 0 ? UInt8.random(in: 0...255, using: &rng) : UInt8(ascii: "a") + UInt8(i % 26) })
        }
        let pieces = try raws.map { try Gzip.Piece($0) }
        for round in 0..<20 {
            let order = (0..<Int.random(in: 0...30, using: &rng)).map { _ in Int.random(in: 0..<raws.count, using: &rng) }
            var member = Gzip.Assembly()
            var expected = Data()
            for k in order {
                member.append(pieces[k])
                expected += raws[k]
            }
            try member.append(raw: Data("tail \(round)".utf8))
            expected += Data("tail \(round)".utf8)
            let bytes = member.finished()
            #expect(try Gzip.decompress(bytes, maxSize: expected.count) == expected, "round \(round)")
            if round % 5 == 0 { #expect(try Self.systemGunzip(bytes) == expected, "round \(round), gzip -dc") }
        }
    }

    /// `gzip -dc`: another implementation's reading, trailer and CRC checked.
    static func systemGunzip(_ bytes: Data) throws -> Data {
        let dir = TempDir()
        let file = dir.url.appendingPathComponent("member.gz")
        try bytes.write(to: file)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-dc", file.path]
        let out = Pipe()
        gzip.standardOutput = out
        try gzip.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        return data
    }
}
