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
            let answer = try encoded.answer(response, .json)
            #expect(answer.data == canonical, "round \(round)")
            #expect(try Gzip.decompress(answer.gzipped(), maxSize: 1 << 24) == canonical, "round \(round), gzipped")
            let packed = try encoded.answer(response, .packed)
            #expect(try PackedPage.decode(packed.packed) == response, "round \(round), packed")
            #expect(Data(packed.packedBuffer.readableBytesView) == packed.packed, "round \(round), written straight into a buffer")
        }
        // A purged copy and a full copy of one event are kept apart.
        let one = events[3]
        let vector = try log.store.vector()
        func answer(_ list: [Event], in encoded: EncodedEvents, partnership: String? = nil) throws -> (json: Data, gzipped: Data, packed: Data) {
            let response = SyncResponseV2(vector: vector, covered: vector, events: list, more: false, stored: 0, alreadyHad: 0, certificates: nil, certDigest: "d")
            let json = try encoded.answer(response, .json, partnership: partnership)
            #expect(json.data == response.json.canonicalData())
            return (json.data, try json.gzipped(), try encoded.answer(response, .packed, partnership: partnership).packed)
        }
        for _ in 0..<2 {  // the second time from the kept bytes
            let both = try answer([one, one.purged], in: encoded)
            #expect(try PackedPage.decode(both.packed).events == [one, one.purged])
            #expect(try Gzip.decompress(both.gzipped, maxSize: 1 << 20) == both.json)
        }
        // Another copy under the same id with another signature (a forgery in another
        // partnership's storage) is never given the first copy's bytes, nor its runs.
        let other = Event(storedID: one.id, dot: one.dot, prev: one.prev, org: one.org, scope: one.scope, context: one.context, recordedAt: one.recordedAt,
                          keyID: one.keyID, sealedPayload: one.sealedPayload, purgedDigest: nil, signature: Data(repeating: 7, count: 64))
        let fresh = EncodedEvents(longestRun: 1)  // every event after the first is a run of its own
        for _ in 0..<2 {
            let mine = try answer([events[0], one], in: fresh, partnership: "leeds")
            let forged = try answer([events[0], other], in: fresh, partnership: "forged")
            #expect(try Gzip.decompress(mine.gzipped, maxSize: 1 << 20) == mine.json)
            #expect(try Gzip.decompress(forged.gzipped, maxSize: 1 << 20) == forged.json)
            #expect(forged.json != mine.json)
            #expect(try PackedPage.decode(forged.packed).events == [events[0], other])
            #expect(try PackedPage.decode(mine.packed).events == [events[0], one])
        }
    }

    /// The server's answer comes from the page's index and the kept bytes: only the rows not
    /// kept are read whole, and an answer whose index and rows disagree is refused, never sent.
    /// A server's storage holding a Basis laptop's 30 events, and answers served from it
    /// through one `EncodedEvents`, as the server's exchange does.
    struct Served {
        let dir = TempDir()
        let log: FieldLog
        let events: [Event]
        let storage: SQLiteSyncStorage
        let pushed: PushOutcome
        let encoded = EncodedEvents()

        init() async throws {
            log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
            for n in 0..<30 { _ = try log.registerPerson(name: "P\(n)", at: t0 + Int64(n)) }
            events = try log.store.allEvents()
            storage = try SQLiteSyncStorage(directory: dir.sub("server"))
            pushed = try await storage.push(events)
        }

        /// The answer to a laptop holding `after`: how many rows the storage read whole, the page, the answer.
        func serve(_ form: EncodedEvents.Form, after: VersionVector = VersionVector(), limit: Int = 1000) async throws
            -> (read: Int, page: Page, answer: EncodedAnswer) {
            let lookup = encoded.lookup(form, partnership: nil)
            let page = try await storage.page(for: "basis", after: after, limit: limit, known: lookup.knows)
            let response = SyncResponseV2(vector: page.vector, covered: page.covered, events: page.events, more: page.more, stored: 0, alreadyHad: 0)
            return (page.events.count, page, try encoded.answer(SyncService.Exchange(response: response, entries: page.entries), lookup))
        }
    }

    @Test func onlyTheRowsNotKeptAreReadWhole() async throws {
        let served = try await Served()
        let (log, events, encoded) = (served.log, served.events, served.encoded)
        #expect(served.pushed == .stored(new: events.count, alreadyHad: 0))
        func serve(_ form: EncodedEvents.Form, after: VersionVector) async throws -> (read: Int, page: Page, answer: EncodedAnswer) {
            try await served.serve(form, after: after)
        }
        let all = SyncResponseV2(vector: try log.store.vector(), covered: try log.store.vector(), events: events, more: false, stored: 0, alreadyHad: 0)
        let half = VersionVector(try log.store.vector().entries.mapValues { $0 / 2 })
        let first = try await serve(.packed, after: half)
        #expect(first.read > 0 && first.read < events.count)
        let second = try await serve(.packed, after: VersionVector())
        #expect(second.read == events.count - first.read, "what the first answer sent is not read again")
        #expect(try PackedPage.decode(second.answer.packed) == all)
        #expect(try await serve(.packed, after: VersionVector()).read == 0)
        // JSON bytes are kept apart from packed ones.
        let json = try await serve(.json, after: VersionVector())
        #expect(json.read == events.count && json.answer.data == all.json.canonicalData())
        // An index that names other events than the rows read is an error, not an answer.
        let lookup = encoded.lookup(.json, partnership: "elsewhere")
        _ = lookup.knows(events.map(Page.Entry.init))
        let wrong = SyncResponseV2(vector: all.vector, covered: all.covered, events: Array(events.dropFirst()), more: false, stored: 0, alreadyHad: 0)
        #expect(throws: FieldlogError.self) { try encoded.answer(SyncService.Exchange(response: wrong, entries: events.map(Page.Entry.init)), lookup) }
    }

    /// A page with more after it (a laptop catching up) is answered from what is kept and what
    /// is read, but what it read is not kept: a new laptop's first sync would otherwise push
    /// the evening's events out of memory. A last page keeps what it read.
    @Test func aCatchUpPageKeepsNothingItRead() async throws {
        let served = try await Served()
        let (events, encoded) = (served.events, served.encoded)
        func serve(limit: Int) async throws -> (read: Int, page: Page, answer: EncodedAnswer) { try await served.serve(.packed, limit: limit) }
        let catchUp = try await serve(limit: 10)
        #expect(catchUp.page.more && catchUp.read == 10)
        #expect(try PackedPage.decode(catchUp.answer.packed).events == Array(events.prefix(10)))
        #expect(!catchUp.page.entries.contains { encoded.keepsFullCopy(of: $0.id) })
        #expect(try await serve(limit: 10).read == 10, "read again: nothing was kept")
        let last = try await serve(limit: 1000)
        #expect(!last.page.more && last.read == events.count)
        #expect(events.allSatisfy { encoded.keepsFullCopy(of: $0.id) })
        #expect(try await serve(limit: 10).read == 0, "now kept")
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
        func answer(_ list: [Event], _ form: EncodedEvents.Form) throws -> EncodedAnswer {
            try encoded.answer(SyncResponseV2(vector: vector, covered: vector, events: list, more: false, stored: 0, alreadyHad: 0), form)
        }
        _ = try answer(events, .json).gzipped()
        _ = try answer(events, .packed).packed
        let victim = events[9]
        #expect(encoded.keepsFullCopy(of: victim.id) && encoded.runsKept > 0)
        // Its tombstone is served: every full copy goes.
        let purged = events.map { $0.id == victim.id ? $0.purged : $0 }
        let after = try answer(purged, .json)
        #expect(!encoded.keepsFullCopy(of: victim.id))
        #expect(try Gzip.decompress(after.gzipped(), maxSize: 1 << 24) == after.data)
        #expect(try PackedPage.decode(answer(purged, .packed).packed).events == purged)
        // A page read before the purge is still answered right, and nothing of it is kept again.
        let stale = try answer(events, .json)
        #expect(try Gzip.decompress(stale.gzipped(), maxSize: 1 << 24) == stale.data)
        #expect(try PackedPage.decode(answer(events, .packed).packed).events == events)
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
        func answer(_ events: ArraySlice<Event>) throws -> EncodedAnswer {
            try encoded.answer(SyncResponseV2(vector: vector, covered: vector, events: Array(events), more: false, stored: 0, alreadyHad: 0,
                                              certificates: nil, certDigest: "d"), .json)
        }
        let whole = try answer(events[...]), later = try answer(events.dropFirst(7))
        #expect(try Gzip.decompress(whole.gzipped(), maxSize: 1 << 24) == whole.data)
        let kept = encoded.runsKept
        try #require(whole.runs.count >= 3)
        #expect(kept == whole.runs.count)
        #expect(try Gzip.decompress(later.gzipped(), maxSize: 1 << 24) == later.data)
        #expect(encoded.runsKept == kept, "the later answer's runs are the whole one's")
        #expect(Set(whole.runs.map { whole.keys[$0].map(\.id) }).isSuperset(of: later.runs.map { later.keys[$0].map(\.id) }))
        // And one with an event left out of its second run shares all runs but that one.
        var gap = events
        gap.remove(at: whole.runs[1].lowerBound + 1)
        _ = try answer(gap[...]).gzipped()
        #expect(encoded.runsKept == kept + 1)
    }
}
