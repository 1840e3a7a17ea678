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
        let encoded = EncodedEvents(capacity: 7, runCapacity: 3000)  // small: the caches start again several times
        var rng = SeededRNG(seed: 20261125)
        for round in 0..<60 {
            var chosen = events.shuffled(using: &rng).prefix(Int.random(in: 0...events.count, using: &rng)).map { $0 }
            if round % 3 == 0 { chosen = chosen.map { Bool.random(using: &rng) ? $0.purged : $0 } }
            let vector = try log.store.vector()
            let response = SyncResponseV2(vector: vector, covered: vector, events: chosen, more: round % 2 == 0, stored: round, alreadyHad: round / 2,
                                          certificates: round % 4 == 0 ? certificates : nil, certDigest: "digest-\(round)")
            let canonical = response.json.canonicalData()
            let answer = encoded.answer(response)
            #expect(answer.data == canonical, "round \(round)")
            #expect(try Gzip.decompress(answer.gzipped(), maxSize: 1 << 24) == canonical, "round \(round), gzipped")
        }
        // A purged copy and a full copy of one event are kept apart.
        let one = events[3]
        #expect(encoded.bytes(of: one) == one.json.canonicalData())
        #expect(encoded.bytes(of: one.purged) == one.purged.json.canonicalData())
        #expect(encoded.bytes(of: one) != encoded.bytes(of: one.purged))
        // Another copy under the same id with another signature (a forgery in another
        // partnership's storage) is never given the first copy's bytes, nor its runs.
        let other = Event(storedID: one.id, dot: one.dot, prev: one.prev, org: one.org, scope: one.scope, context: one.context, recordedAt: one.recordedAt,
                          keyID: one.keyID, sealedPayload: one.sealedPayload, purgedDigest: nil, signature: Data(repeating: 7, count: 64))
        let fresh = EncodedEvents(longestRun: 1)  // every event after the first is a run of its own
        #expect(fresh.bytes(of: one) == one.json.canonicalData())
        #expect(fresh.bytes(of: other) == other.json.canonicalData())
        let vector = try log.store.vector()
        let answer = { (e: Event) in fresh.answer(SyncResponseV2(vector: vector, covered: vector, events: [events[0], e], more: false, stored: 0,
                                                                   alreadyHad: 0, certificates: nil, certDigest: "d")) }
        #expect(try Gzip.decompress(answer(one).gzipped(), maxSize: 1 << 20) == answer(one).data)
        #expect(try Gzip.decompress(answer(other).gzipped(), maxSize: 1 << 20) == answer(other).data)
        #expect(answer(other).data != answer(one).data)
        // The same holds for the packed bytes kept (PackedPage).
        #expect(fresh.packed([one, one.purged]) == [one.packed, one.purged.packed])
        #expect(fresh.packed([other, one]) == [other.packed, one.packed] && other.packed != one.packed)
        #expect(try PackedPage.decode(answer(other).packed).events == [events[0], other])
    }

    /// Once this server serves an event's tombstone (or stores the purge that erased it), it
    /// keeps no byte of the event's full copy: not its JSON, its packed form or any run holding
    /// it, and an answer built from a page read before the purge does not bring them back.
    @Test func whatAPurgeErasedIsNotKeptInMemory() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        for n in 0..<40 { _ = try log.registerPerson(name: "P\(n)", at: t0 + Int64(n)) }
        let events = try log.store.allEvents()
        let vector = try log.store.vector()
        let encoded = EncodedEvents(longestRun: 4)
        func answer(_ list: [Event]) -> EncodedAnswer {
            encoded.answer(SyncResponseV2(vector: vector, covered: vector, events: list, more: false, stored: 0, alreadyHad: 0))
        }
        let before = answer(events)
        _ = try before.gzipped()
        _ = before.packed
        let victim = events[9]
        #expect(encoded.keepsFullCopy(of: victim.id) && encoded.runsKept > 0)
        // Its tombstone is served: every full copy goes.
        let purged = events.map { $0.id == victim.id ? $0.purged : $0 }
        let after = answer(purged)
        #expect(!encoded.keepsFullCopy(of: victim.id))
        #expect(try Gzip.decompress(after.gzipped(), maxSize: 1 << 24) == after.data)
        #expect(try PackedPage.decode(after.packed).events == purged)
        // A page read before the purge is still answered right, and nothing of it is kept again.
        let stale = answer(events)
        #expect(try Gzip.decompress(stale.gzipped(), maxSize: 1 << 24) == stale.data)
        #expect(try PackedPage.decode(stale.packed).events == events)
        #expect(!encoded.keepsFullCopy(of: victim.id))
        // The other events stay kept.
        #expect(encoded.keepsFullCopy(of: events[0].id) && encoded.keepsFullCopy(of: events[39].id))
        // A purge stored by this server (forget, as the push path calls it) does the same.
        encoded.forget([events[20].id])
        #expect(!encoded.keepsFullCopy(of: events[20].id))
    }

    /// Two answers holding the same run of events cut it into the same pieces wherever the run
    /// starts in each, so the second answer is compressed from the first's pieces.
    @Test func answersSharingEventsShareCompressedRuns() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        for n in 0..<400 { _ = try log.registerPerson(name: "P\(n)", at: t0 + Int64(n)) }
        let events = try log.store.allEvents()
        let vector = try log.store.vector()
        // No forced cuts: only the events' own ids decide (one in 32 starts a run; with 400
        // events, none would be a one-in-300,000 chance).
        let encoded = EncodedEvents(longestRun: .max)
        func answer(_ events: ArraySlice<Event>) -> EncodedAnswer {
            encoded.answer(SyncResponseV2(vector: vector, covered: vector, events: Array(events), more: false, stored: 0, alreadyHad: 0,
                                          certificates: nil, certDigest: "d"))
        }
        let whole = answer(events[...]), later = answer(events.dropFirst(7))
        #expect(try Gzip.decompress(whole.gzipped(), maxSize: 1 << 24) == whole.data)
        let kept = encoded.runsKept
        try #require(whole.runs.count >= 3)
        #expect(kept == whole.runs.count)
        #expect(try Gzip.decompress(later.gzipped(), maxSize: 1 << 24) == later.data)
        #expect(encoded.runsKept == kept, "the later answer's runs are the whole one's")
        #expect(Set(whole.runs.map { $0.map(\.id) }).isSuperset(of: later.runs.map { $0.map(\.id) }))
        // And one with an event left out of its second run shares all runs but that one.
        var gap = events
        gap.remove(at: whole.runs[1].startIndex + 1)
        _ = try answer(gap[...]).gzipped()
        #expect(encoded.runsKept == kept + 1)
    }
}
