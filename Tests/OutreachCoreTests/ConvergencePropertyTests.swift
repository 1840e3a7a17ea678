import Foundation
import Testing
@testable import OutreachCore

/// 3 to 5 laptops of one organisation write random events and swap random bundles in random
/// order, with duplicates and stale bundles; then they swap until quiet. Every replica must hold
/// the same events, fold to the same state, lose nothing, and show a conflict exactly where two
/// register writes were concurrent. Replay a failure with `FIELDLOG_SEED=n swift test --filter Convergence`.
@Suite struct ConvergencePropertyTests {
    /// What the test knows independently of vectors: which events each write's author held.
    struct RegisterWriteRecord {
        let id: EventID
        let key: String  // person|register
        let seen: Set<EventID>
    }

    @Test func replicasConvergeWhateverTheOrderOfBundles() throws {
        for seed in propertySeeds(20) {
            try runScenario(seed: seed)
        }
    }

    func runScenario(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let dir = TempDir()
        let count = Int.random(in: 3...5, using: &rng)
        let logs = try (0..<count).map { try TestKeys.log("basis", device: "b\($0)", in: dir.sub("b\($0)")) }
        var written = Set<EventID>()
        var registerWrites = [RegisterWriteRecord]()
        var retracted = Set<EventID>()
        var oldBundles = [Data]()
        var clock = t0

        for _ in 0..<60 {
            clock += 60_000
            let i = Int.random(in: 0..<count, using: &rng)
            let log = logs[i]
            let held = log.eventIDs
            let people = Array(try log.state().people.keys).sorted()
            switch Int.random(in: 0..<10, using: &rng) {
            case 0, 1:
                let (_, events) = try log.registerPerson(name: "P\(Int.random(in: 0..<1000, using: &rng))", at: clock)
                written.formUnion(events.map(\.id))
            case 2...3 where !people.isEmpty:
                var c = NewContact(person: people.randomElement(using: &rng)!, setting: .van, zone: "Z1")
                c.services = [.condoms: Int.random(in: 1...20, using: &rng)]
                c.needs = [Need.allCases.randomElement(using: &rng)!]
                written.formUnion(try log.logContact(c, at: clock).allEvents.map(\.id))
            case 4...5 where !people.isEmpty:
                let person = people.randomElement(using: &rng)!
                let value = RiskLevel.allCases.randomElement(using: &rng)!.rawValue
                let event = try log.setRegister(.risk, of: person, to: .string(value), at: clock)
                written.insert(event.id)
                registerWrites.append(RegisterWriteRecord(id: event.id, key: "\(person)|risk", seen: held))
            case 6:
                // Retract one of this laptop's own earlier events, now and then.
                let own = try log.store.allEvents().filter { $0.dot.replica == log.store.info.replica }
                if let target = own.randomElement(using: &rng), Bool.random(using: &rng) {
                    written.insert(try log.retract(target, reason: .error, at: clock).id)
                    retracted.insert(target.id)
                }
            default:
                // A bundle from one laptop to another: usually "what you lack", sometimes everything,
                // sometimes a stale bundle imported again, sometimes the same one twice.
                let j = Int.random(in: 0..<count, using: &rng)
                guard j != i else { continue }
                let since = Bool.random(using: &rng) ? try logs[j].store.vector() : VersionVector()
                let data = try EventBundle.make(from: log.store, keyring: log.keyring, since: since).encoded(keyring: log.keyring)
                oldBundles.append(data)
                let target = logs[j]
                let replay = Int.random(in: 0..<4, using: &rng) == 0 ? oldBundles.randomElement(using: &rng)! : data
                for _ in 0..<(Bool.random(using: &rng) ? 2 : 1) {
                    let b = try EventBundle.decode(replay, keyring: target.keyring)
                    try target.store.importEvents(b.events, from: b.batchOrigin, keyring: target.keyring)
                }
            }
        }

        // Swap until nobody receives anything new.
        var rounds = 0
        var changed = true
        while changed {
            changed = false
            rounds += 1
            for a in logs { for b in logs where a.store.info.replica != b.store.info.replica {
                if try a.send(to: b).stored > 0 { changed = true }
            } }
            #expect(rounds < 10, "seed \(seed): no quiescence")
            if rounds >= 10 { return }
        }

        let reference = logs[0]
        let referenceState = try reference.state()
        #expect(reference.eventIDs == written, "seed \(seed): events lost or invented")
        for log in logs.dropFirst() {
            #expect(log.eventIDs == reference.eventIDs, "seed \(seed): replicas hold different events")
            #expect(try log.store.vector() == reference.store.vector(), "seed \(seed): vectors differ")
            #expect(try log.state() == referenceState, "seed \(seed): folds differ")
        }
        for log in logs {
            #expect(try log.store.check(keyring: log.keyring).isHealthy, "seed \(seed): check fails")
        }

        // Oracle: a live write is one no other (unretracted) write of the same register had seen.
        let byKey = Dictionary(grouping: registerWrites.filter { !retracted.contains($0.id) }, by: \.key)
        for (key, writes) in byKey {
            let expectedLive = Set(writes.filter { w in !writes.contains { $0.id != w.id && $0.seen.contains(w.id) } }.map(\.id))
            let parts = key.split(separator: "|")
            let state = referenceState.register(.risk, of: String(parts[0]), asOf: .max)
            #expect(Set(state.live.map(\.eventID)) == expectedLive, "seed \(seed): wrong live writes for \(key)")
            #expect(state.isConflict == (expectedLive.count > 1), "seed \(seed): conflict reported wrongly for \(key)")
        }
    }

    @Test func foldIsIndependentOfArrivalOrder() throws {
        for seed in propertySeeds(10) {
            var rng = SeededRNG(seed: seed)
            let dir = TempDir()
            let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
            let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
            let (p, _) = try a.registerPerson(name: "Rose", at: t0)
            try a.send(to: b)
            try a.setRegister(.risk, of: p, to: "high", at: t0 + 1)
            try b.setRegister(.risk, of: p, to: "low", at: t0 + 2)
            try b.logContact(NewContact(person: p, setting: .foot), at: t0 + 3)
            // Another charity mentions a person first seen through partnership events, and links two people.
            let j = try TestKeys.log("joanna", device: "j", in: dir.sub("j"))
            let (q, _) = try b.registerPerson(name: "Ivy", at: t0 + 4)
            try b.send(to: j)
            try j.logContact(NewContact(person: q, setting: .dropIn), at: t0 + 2)
            let (r, _) = try j.registerPerson(name: "Ivy J", at: t0 + 5)
            try j.link(q, r, at: t0 + 6)
            let all = try a.store.allEvents() + b.store.allEvents() + j.store.allEvents()
            let opened = all.compactMap { TestKeys.keyring("basis").open($0) }
            let expected = Fold.fold(opened)
            for _ in 0..<5 {
                #expect(Fold.fold(opened.shuffled(using: &rng)) == expected, "seed \(seed)")
            }
        }
    }
}
