import Foundation
import Testing
@testable import OutreachCore

/// Folding a store with reading and folding overlapped (`Fold.addStored`, `Handoff`): the same
/// state as the fold from scratch, whatever the runs, and nothing lost or doubled on the way.
@Suite struct StoredFoldTests {
    @Test func aStoreFoldedInRunsWhileTheNextAreReadIsTheFoldFromScratch() throws {
        var amended = 0
        for seed in propertySeeds(4) {
            let (events, certificates) = try IncrementalFoldTests.rawHistory(seed: seed)
            let dir = TempDir()
            let log = try TestKeys.log("basis", device: "b9", in: dir.sub("b9"))
            // Arrival order is not causal order: retractions and corrections may come before their targets.
            var rng = SeededRNG(seed: seed &+ 3000)
            try log.store.importEvents(events.shuffled(using: &rng), certificates: certificates, from: .carried("test"), keyring: log.keyring)
            let stored = try log.store.allEvents()
            let expected = Fold.fold(stored, keyring: log.keyring)
            amended += expected.retracted.count
            for run: Int64 in [1, 7, 64, 100_000] {
                var fold = Fold()
                let outcome = try fold.addStored(after: 0, store: log.store, keyring: log.keyring, run: run)
                #expect(fold.state == expected, "seed \(seed), runs of \(run): differs from the fold from scratch")
                #expect(outcome.count == stored.count && outcome.lastRow == Int64(stored.count))
                #expect(outcome.changedEarlier == stored.compactMap(log.keyring.open).contains(where: StateSnapshot.changesEarlierEvents))
            }
            // From a row on: the first half folded (as a snapshot holds it), then the rest stored after it.
            let half = stored.count / 2
            var later = Fold()
            later.add(Array(stored.prefix(half)).compactMap(log.keyring.open), source: NoSource())
            let rest = try later.addStored(after: Int64(half), store: log.store, keyring: log.keyring, run: 9)
            #expect(rest.count == stored.count - half && rest.lastRow == Int64(stored.count))
            #expect(later.state == expected, "seed \(seed): the second half folded onto the first differs")
            #expect(try later.addStored(after: Int64(stored.count), store: log.store, keyring: log.keyring) == Fold.StoredFolding(lastRow: Int64(stored.count)),
                    "nothing past the last row")
        }
        if propertySeeds(4).count > 1 { #expect(amended > 0, "the histories hold retractions") }
    }

    @Test func theHandoffGivesEveryItemInOrderAndStopsTheProducerWhenTheConsumerFails() throws {
        var got = [Int]()
        try Handoff<Int>.run(ahead: 2, produce: { yield in
            for n in 0..<1000 { guard yield(n) else { return } }
        }, consume: { got.append($0) })
        #expect(got == Array(0..<1000))

        // The consumer fails: the producer is told to stop, and the error reaches the caller.
        struct Stop: Error {}
        let produced = Counter()
        #expect(throws: Stop.self) {
            try Handoff<Int>.run(ahead: 2, produce: { yield in
                for n in 0..<1_000_000 { _ = produced.next(); guard yield(n) else { return } }
            }, consume: { if $0 == 10 { throw Stop() } })
        }
        #expect(produced.value < 20, "the producer went on after the consumer stopped: \(produced.value)")

        // The producer fails: what it yielded before is consumed, then its error is thrown.
        got = []
        #expect(throws: Stop.self) {
            try Handoff<Int>.run(produce: { yield in
                for n in 0..<5 { _ = yield(n) }
                throw Stop()
            }, consume: { got.append($0) })
        }
        #expect(got == [0, 1, 2, 3, 4])
    }
}

/// A purge drops every sealed cache (`Protocol/erasure.md` §4); a state or report read that began
/// before the purge must not write back what it read from before it.
@Suite struct CacheAfterPurgeTests {
    /// Every cache blob opened with the laptop's local key, as one byte string.
    static func cachesOpened(_ log: FieldLog) throws -> Data {
        let names = try log.store.db.read { try String.fetchAll($0, sql: "SELECT name FROM cache") }
        var all = Data()
        for name in names {
            let box = try #require(try log.store.cache(name))
            all += try log.keyring.localKey.open(box, aad: Data("fieldlog/cache/\(name)/\(log.store.info.storeID)".utf8))
        }
        return all
    }

    @Test func aStateFoldedBeforeAnErasureIsNotWrittenAfterIt() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (jade, _) = try log.registerPerson(name: "Jade Quillfeather", descriptor: "green coat", at: t0)
        try log.logContact(NewContact(person: jade, setting: .van, zone: "Z1"), at: t0 + 1)
        // Given a whole fold read while she was not erased yet (a command folding the log)...
        let generation = try log.store.cacheGeneration()
        var fold = Fold()
        let read = try fold.addStored(after: 0, store: log.store, keyring: log.keyring)
        #expect(fold.state.people[jade]?.name == "Jade Quillfeather")
        // ...when she is erased meanwhile (another command, or a sync bringing a purge)...
        try log.erase(try log.planErasure(of: jade), reason: "asked at the drop-in", at: t0 + 2)
        #expect(try log.store.cacheGeneration() == generation + 1)
        // ...the fold of before is not written back: no cache holds her name or descriptor.
        try StateSnapshot.write(fold, folded: read.lastRow, pageRows: Array(repeating: read.lastRow, count: StateSnapshot.pageNames.count),
                                changed: Set(0...Fold.contactPages), unlessPurgedSince: generation, store: log.store, keyring: log.keyring)
        #expect(try log.store.cache(StateSnapshot.coreName) == nil)
        // A read after the erasure writes a snapshot without her.
        let state = try log.state()
        #expect(state.people[jade]?.name == nil)
        let cached = try Self.cachesOpened(log)
        #expect(!cached.isEmpty && cached.range(of: Data("Quillfeather".utf8)) == nil && cached.range(of: Data("green coat".utf8)) == nil)
        // A cache written with the generation of now is written.
        #expect(try log.store.setCaches([("test/x", Data([1]))], unlessPurgedSince: try log.store.cacheGeneration()))
        #expect(try !log.store.setCaches([("test/y", Data([1]))], unlessPurgedSince: generation))
    }
}
