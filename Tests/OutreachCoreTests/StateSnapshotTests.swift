import Foundation
import Testing
@testable import OutreachCore

/// The sealed state snapshot every command reads (`Protocol/fold.md` §5).
@Suite struct StateSnapshotTests {
    func fromScratch(_ log: FieldLog) throws -> FieldState { Fold.fold(try log.store.allEvents(), keyring: log.keyring) }

    @Test func theSnapshotPlusNewerEventsIsTheFoldFromScratch() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (rose, _) = try log.registerPerson(name: "Rose", at: t0)
        let (ivy, _) = try log.registerPerson(name: "Ivy", at: t0)
        let first = try log.logContact(NewContact(person: rose, setting: .van), at: t0 + 1).contact
        try log.logContact(NewContact(person: ivy, setting: .foot), at: t0 + 2)
        let (_, source) = try StateSnapshot.load(store: log.store, keyring: log.keyring)
        #expect(source == .rebuilt(events: 4))
        // A page holding neither woman's contacts.
        let other = StateSnapshot.pageName((0...Fold.contactPages).first { ![Fold.contactPage(rose), Fold.contactPage(ivy)].contains($0) }!)
        let unchanged = try #require(try log.store.cache(other))

        // A retraction, a correction and a link after the snapshot: folded in, not refolded.
        try log.retract(first, reason: .error, at: t0 + 3)
        let second = try log.logContact(NewContact(person: ivy, setting: .van), at: t0 + 4).contact
        try log.correct(second, fields: ["setting": "foot"], reason: "typo", at: t0 + 5)
        try log.link(rose, ivy, at: t0 + 6)
        let (fold, after) = try StateSnapshot.load(store: log.store, keyring: log.keyring)
        #expect(after == .snapshot(newer: 4))
        #expect(fold.state == (try fromScratch(log)))
        #expect(fold.state.contacts[second.id]?.setting == "foot" && fold.state.contacts[first.id] == nil)
        // Written again after a retraction (so parts can be read alone again), only the pages
        // that changed; not after additions.
        #expect(try log.store.cache(other) == unchanged)
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).source == .snapshot(newer: 0))
        try log.logContact(NewContact(person: rose, setting: .van), at: t0 + 7)
        try log.logContact(NewContact(person: rose, setting: .van), at: t0 + 8)
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).source == .snapshot(newer: 2))
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).source == .snapshot(newer: 2))

        // Never in clear: a working name is nowhere in the store's files.
        for file in try FileManager.default.contentsOfDirectory(at: log.store.directory, includingPropertiesForKeys: nil) {
            #expect(try Data(contentsOf: file).range(of: Data("Rose".utf8)) == nil, "\(file.lastPathComponent)")
        }
    }

    @Test func withoutContactsReadsTheRestAndFallsBackWhenEarlierEventsChanged() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (rose, _) = try log.registerPerson(name: "Rose", at: t0)
        for i in 0..<5 { try log.logContact(NewContact(person: rose, setting: .van), at: t0 + Int64(i)) }
        try log.setRegister(.risk, of: rose, to: "high", at: t0)
        _ = try log.state()

        // Only additions since: the rest is read, the contacts are only the new one.
        let newer = try log.logContact(NewContact(person: rose, setting: .van), at: t0 + 9).contact
        var i = NewIncident(person: rose, kind: .assault, consent: .l1)
        i.zone = "Z1"
        try log.reportIncident(i, at: t0 + 10, now: t0 + 10)
        try log.setRegister(.risk, of: rose, to: "low", at: t0 + 11)
        let full = try fromScratch(log)
        let (part, source) = try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .withoutContacts)
        #expect(source == .snapshot(newer: 5) && !part.contactsLoaded)
        #expect(Set(part.state.contacts.keys) == [newer.id])
        #expect(part.state.people == full.people && part.state.alerts == full.alerts && part.state.conflicts == full.conflicts)
        #expect(part.state.incidents == full.incidents && part.state.registerWrites == full.registerWrites)
        #expect(part.state.lastContacts == full.lastContacts && part.state.lastContact(of: rose)?.contact == newer.id)

        // One person's contacts, from her page, with those that arrived since.
        let (ivy, _) = try log.registerPerson(name: "Ivy", at: t0)
        try log.logContact(NewContact(person: ivy, setting: .foot), at: t0 + 13)
        let hers = try log.state(contactsOf: { _ in [rose] })
        let all = try fromScratch(log)
        #expect(hers.contacts(of: rose) == all.contacts(of: rose) && hers.contacts(of: rose).count == 6)
        #expect(hers.contacts(of: ivy) == all.contacts(of: ivy))  // arrived since the snapshot
        #expect(hers.people == all.people)

        // A retraction since: the page of what it took back is read too (her last contact and
        // earliest mention are looked for there), and nothing is written: the next command reads
        // that page again, until a whole read (or `rewriteAfter` events) writes the snapshot.
        let pagesBefore = try StateSnapshot.pageNames.map { try log.store.cache($0) }
        let coreBefore = try log.store.cache(StateSnapshot.coreName)
        try log.retract(newer, reason: .error, at: t0 + 12)
        let (whole, source1) = try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .withoutContacts)
        let scratch = try fromScratch(log)
        #expect(!whole.contactsLoaded && Set(whole.state.contacts.values.map(\.recordedPerson)).isSubset(of: [rose, ivy]))
        #expect(whole.state.lastContacts == scratch.lastContacts && whole.state.people == scratch.people)
        #expect(try StateSnapshot.pageNames.map { try log.store.cache($0) } == pagesBefore && log.store.cache(StateSnapshot.coreName) == coreBefore)
        let (again, source2) = try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .withoutContacts)
        #expect(!again.contactsLoaded && source2 == source1 && again.state.people == scratch.people)
        // Rose's page alone is read: Ivy's contact since is held beside, as without a change.
        #expect(try StateSnapshot.read(store: log.store, keyring: log.keyring, part: .withoutContacts).pages == [Fold.contactPage(rose)])
        // A whole read writes it: the core, and only Ivy's page (her contact since); Rose's holds
        // what it held (the contact since was the one taken back).
        let (everything, _) = try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .all)
        #expect(everything.state == scratch)
        let pagesAfter = try StateSnapshot.pageNames.map { try log.store.cache($0) }
        #expect(Set(pagesAfter.indices.filter { pagesAfter[$0] != pagesBefore[$0] }) == [Fold.contactPage(ivy)])
        let (third, source3) = try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .withoutContacts)
        #expect(!third.contactsLoaded && source3 == .snapshot(newer: 0) && third.state.people == scratch.people)
    }

    @Test func aDamagedOrMismatchedSnapshotCostsOneFoldNothingElse() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (rose, _) = try log.registerPerson(name: "Rose", at: t0)
        try log.logContact(NewContact(person: rose, setting: .van), at: t0 + 1)
        _ = try log.state()
        let page = StateSnapshot.pageName(Fold.contactPage(rose))
        let good = try #require(try log.store.cache(page))

        try log.store.setCache(StateSnapshot.coreName, Data(repeating: 7, count: 64))
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).source == .rebuilt(events: 2))
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring, part: .withoutContacts).source == .snapshot(newer: 0))

        // Parts of two different moments are never put together.
        try log.logContact(NewContact(person: rose, setting: .foot), at: t0 + 2)
        for _ in 0..<StateSnapshot.rewriteAfter { try log.store.append([Draft(log.payload(Body.ZoneDefined(zone: "Z1", label: nil), at: t0))], keyring: log.keyring) }
        _ = try log.state()  // 2,001 behind: written again
        try log.store.setCache(page, good)
        let (fold, source) = try StateSnapshot.load(store: log.store, keyring: log.keyring)
        #expect(source == .rebuilt(events: try log.store.eventCount()))
        #expect(fold.state == (try fromScratch(log)))
        // A part sealed for another store does not open here.
        let other = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        _ = try other.state()
        try log.store.setCache(StateSnapshot.coreName, try #require(try other.store.cache(StateSnapshot.coreName)))
        #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).source == .rebuilt(events: try log.store.eventCount()))
    }
}

/// The snapshot against the fold from scratch on random two-charity histories arriving in random
/// batches, read back in random parts (`FIELDLOG_SEED=n swift test --filter StateSnapshotProperty`).
@Suite struct StateSnapshotPropertyTests {
    @Test func everyPartAfterRandomBatchesAgreesWithTheFoldFromScratch() throws {
        var partialAfterAmendment = 0, partialWrites = 0
        for seed in propertySeeds(6) {
            var rng = SeededRNG(seed: seed &+ 2000)
            let (events, certificates) = try IncrementalFoldTests.rawHistory(seed: seed)
            let dir = TempDir()
            let log = try TestKeys.log("basis", device: "b9", in: dir.sub("b9"))
            let order = events.shuffled(using: &rng)
            var start = 0
            while start < order.count {
                let end = min(order.count, start + Int.random(in: 1...12, using: &rng))
                try log.store.importEvents(Array(order[start..<end]), certificates: certificates, from: .carried("test"), keyring: log.keyring)
                start = end
                let scratch = Fold.fold(try log.store.allEvents(), keyring: log.keyring)
                let pagesBefore = try StateSnapshot.pageNames.map { try log.store.cache($0) }
                let ids = Set(scratch.canonicalID.keys.shuffled(using: &rng).prefix(2))
                // The whole state, the part without contacts, or that part with the pages of two people read in.
                let mode = Int.random(in: 0..<3, using: &rng)
                let coreBefore = try log.store.cache(StateSnapshot.coreName)
                var read = try StateSnapshot.read(store: log.store, keyring: log.keyring, part: mode == 0 ? .all : .withoutContacts)
                if !read.fold.contactsLoaded, !(read.pages ?? []).isEmpty { partialAfterAmendment += 1 }
                if mode == 2 { try read.addContacts(of: ids, store: log.store, keyring: log.keyring) }
                let fold = read.fold
                if !fold.contactsLoaded {
                    // The rest is the whole fold's; her contacts are all hers.
                    var rest = fold.state, whole = scratch
                    rest.contacts = [:]; whole.contacts = [:]
                    #expect(rest == whole, "seed \(seed): the part without contacts differs")
                    func recorded(_ state: FieldState) -> [EventID: Contact] { state.contacts.filter { $0.value.recordedPerson.map(ids.contains) ?? false } }
                    if mode == 2 { #expect(recorded(fold.state) == recorded(scratch), "seed \(seed): contacts of \(ids)") }
                    // A partial read writes nothing.
                    let written = try StateSnapshot.pageNames.map { try log.store.cache($0) }
                    if try written != pagesBefore || log.store.cache(StateSnapshot.coreName) != coreBefore { partialWrites += 1 }
                } else {
                    #expect(fold.state == scratch, "seed \(seed): the whole state differs")
                }
                // The whole snapshot read next is the fold from scratch.
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).fold.state == scratch, "seed \(seed): written back wrongly")
                }
            }
            #expect(try StateSnapshot.load(store: log.store, keyring: log.keyring).fold.state == Fold.fold(try log.store.allEvents(), keyring: log.keyring))
        }
        // Partial reads did read pages after amendments, and never wrote.
        #expect(partialAfterAmendment > 0 && partialWrites == 0, "\(partialAfterAmendment) \(partialWrites)")
    }
}
