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
}
