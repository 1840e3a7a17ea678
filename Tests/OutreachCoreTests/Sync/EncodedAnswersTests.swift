import Foundation
import Testing
@testable import OutreachCore
@testable import SyncServerKit

/// A sync answer written from kept event encodings is byte for byte the canonical JSON of the
/// answer, whatever it holds, however often its events were sent before.
@Suite struct EncodedAnswersTests {
    @Test func answersFromKeptEncodingsAreTheCanonicalJSON() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        for n in 0..<12 {
            let (p, _) = try log.registerPerson(name: "R\"ose \\ \(n)", note: "line\nbreak ✓", at: t0 + Int64(n))
            try log.logContact(NewContact(person: p, setting: .van, zone: "Z\(n % 3)"), at: t0 + Int64(n))
        }
        let events = try log.store.allEvents()
        let certificates = try log.store.roster().certificates
        let encoded = EncodedEvents(capacity: 7)  // small: the cache starts again several times
        var rng = SeededRNG(seed: 20261125)
        for round in 0..<60 {
            var chosen = events.shuffled(using: &rng).prefix(Int.random(in: 0...events.count, using: &rng)).map { $0 }
            if round % 3 == 0 { chosen = chosen.map { Bool.random(using: &rng) ? $0.purged : $0 } }
            let vector = try log.store.vector()
            let response = SyncResponseV2(vector: vector, covered: vector, events: chosen, more: round % 2 == 0, stored: round, alreadyHad: round / 2,
                                          certificates: round % 4 == 0 ? certificates : nil, certDigest: "digest-\(round)")
            #expect(encoded.answer(response) == response.json.canonicalData(), "round \(round)")
        }
        // A purged copy and a full copy of one event are kept apart.
        let one = events[3]
        #expect(encoded.bytes(of: one) == one.json.canonicalData())
        #expect(encoded.bytes(of: one.purged) == one.purged.json.canonicalData())
        #expect(encoded.bytes(of: one) != encoded.bytes(of: one.purged))
    }
}
