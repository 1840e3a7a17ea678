import Foundation
import Testing
@testable import OutreachCore

/// The version-vector algebra, over many generated clocks.
@Suite struct ClockPropertyTests {
    static let replicas = (0..<5).map { _ in ReplicaID.random() }

    static func vector(_ rng: inout SeededRNG) -> VersionVector {
        var v = VersionVector()
        for r in replicas where Bool.random(using: &rng) { v[r] = UInt64.random(in: 0...4, using: &rng) }
        return v
    }

    static func triples() -> [(VersionVector, VersionVector, VersionVector, UInt64)] {
        propertySeeds(500).map { seed in
            var rng = SeededRNG(seed: seed)
            return (vector(&rng), vector(&rng), vector(&rng), seed)
        }
    }

    /// The stored-context reader gives what the JSON parser gives: the vector for what this code
    /// writes, the same vector or the same refusal for anything else.
    @Test func storedContextsReadAsTheJSONParserReadsThem() throws {
        for (a, _, _, seed) in Self.triples() {
            #expect(try VersionVector(storedJSON: a.json.canonicalString()) == a, "seed \(seed)")
            #expect(a.storedJSON == a.json.canonicalString(), "seed \(seed): the stored form is the canonical JSON")
        }
        let r = Self.replicas[0].rawValue, q = Self.replicas[1].rawValue
        let odd = ["{}", "{ }", "{\"\(r)\":3}", "{\"\(r)\": 3}", "{\"\(r)\":3,\"\(q)\":18446744073709551615}", "{\"\(r)\":3,\"\(r)\":4}",
                   "{\"\(r)\":-1}", "{\"\(r)\":1.5}", "{\"\(r.uppercased())\":1}", "{\"\(r)\":1", "[]", "", "{\"\(r)\":1}x", "{\"abc\":1}"]
        for text in odd {
            let viaJSON = Result { try VersionVector(json: try JSONValue.parse(Data(text.utf8))) }
            let stored = Result { try VersionVector(storedJSON: text) }
            switch (viaJSON, stored) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(text)")
            case (.failure, .failure): break
            default: Issue.record("\(text): the JSON parser gives \(viaJSON), the stored reader \(stored)")
            }
        }
    }

    @Test func mergeIsCommutativeAssociativeAndIdempotent() {
        for (a, b, c, seed) in Self.triples() {
            #expect(a.merged(with: b) == b.merged(with: a), "seed \(seed)")
            #expect(a.merged(with: b).merged(with: c) == a.merged(with: b.merged(with: c)), "seed \(seed)")
            #expect(a.merged(with: a) == a, "seed \(seed)")
        }
    }

    @Test func mergeIsTheLeastUpperBound() {
        for (a, b, c, seed) in Self.triples() {
            let m = a.merged(with: b)
            #expect(m.covers(a) && m.covers(b), "seed \(seed)")
            // Anything covering both covers the merge.
            if c.covers(a) && c.covers(b) { #expect(c.covers(m), "seed \(seed)") }
        }
    }

    @Test func compareIsConsistentWithMerge() {
        for (a, b, _, seed) in Self.triples() {
            let m = a.merged(with: b)
            switch a.compare(b) {
            case .equal: #expect(a == b && m == a, "seed \(seed)")
            case .before: #expect(m == b && a != b, "seed \(seed)")
            case .after: #expect(m == a && a != b, "seed \(seed)")
            case .concurrent: #expect(m != a && m != b, "seed \(seed)")
            }
            // compare is antisymmetric.
            let flipped: ClockOrder = switch b.compare(a) {
            case .before: .after
            case .after: .before
            case let other: other
            }
            #expect(a.compare(b) == flipped, "seed \(seed)")
        }
    }

    @Test func coversADotExactlyUpToItsEntry() {
        var v = VersionVector()
        let r = Self.replicas[0]
        v[r] = 3
        #expect(v.covers(Dot(r, 3)))
        #expect(!v.covers(Dot(r, 4)))
        #expect(!v.covers(Dot(Self.replicas[1], 1)))
    }

    @Test func zeroEntriesAreNotStored() {
        var v = VersionVector()
        v[Self.replicas[0]] = 0
        #expect(v == VersionVector())
        #expect(VersionVector([Self.replicas[1]: 0]).isEmpty)
    }

    @Test func vectorJSONRoundTrips() throws {
        for (a, _, _, seed) in Self.triples().prefix(50) {
            #expect(try VersionVector(json: JSONValue.parse(a.json.canonicalString())) == a, "seed \(seed)")
        }
        #expect(throws: FieldlogError.self) { try VersionVector(json: ["not-a-replica": 1]) }
    }
}
