import Foundation
import Testing
@testable import OutreachCore

/// Erasure (issue #10, `Protocol/erasure.md`): what identifies her leaves every store, byte for
/// byte; what she was counted as stays; only her own organisation can do it.
@Suite struct ErasureTests {
    /// Two Basis laptops and a Joanna laptop that have exchanged rosters; Basis knows Rose (with a
    /// partnership code, a note and a corrected descriptor), Joanna knows her as Ro by the same code.
    struct World {
        let dir = TempDir()
        let b1: FieldLog, b2: FieldLog, j1: FieldLog
        let rose: String, ro: String
        let identifying: [Event]
        init() throws {
            b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
            b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
            j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
            for log in [b1, b2, j1] { try log.store.admit(try [b1, b2, j1].flatMap { try $0.store.roster().certificates }) }
            let code = try PartnershipCode(initials: "RB", dateOfBirth: "1990-04-01", sex: "F")
            let (rose, registered) = try b1.registerPerson(name: "Rosalind Zebedee", descriptor: "green coat, scar on left hand", code: code, at: t0)
            var visit = NewContact(person: rose, setting: .van)
            visit.needs = [.housing]
            visit.note = "sleeping at Quarry Hill garages"
            let contact = try b1.logContact(visit, at: t0 + 60_000)
            let correction = try b1.correct(registered[0], fields: ["descriptor": "grey coat, scar on left hand"], reason: "typo", at: t0 + 120_000)
            let (ro, _) = try j1.registerPerson(name: "Ro", code: code, at: t0)
            try j1.logContact(NewContact(person: ro, setting: .foot), at: t0 + 180_000)
            try b1.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: t0 + 240_000)
            for (from, to) in [(b1, b2), (b1, j1), (j1, b1), (j1, b2)] { try from.send(to: to) }
            self.rose = rose
            self.ro = ro
            identifying = registered + [contact.note!, correction]
        }

        var november: ReportPeriod { ReportPeriod(start: t0 - 30 * 86_400_000, end: t0 + 30 * 86_400_000, label: "around t0") }
        func report(_ log: FieldLog) throws -> PartnershipReport { PartnershipReport(state: try log.state(), period: november) }
    }

    /// Every byte of a store's files (the database and its WAL), to search for what must be gone.
    static func storeBytes(_ log: FieldLog) throws -> Data {
        let files = try FileManager.default.contentsOfDirectory(at: log.store.directory, includingPropertiesForKeys: nil)
        return try files.reduce(into: Data()) { all, url in all.append(try Data(contentsOf: url)) }
    }

    static func contains(_ haystack: Data, _ needle: Data) -> Bool { haystack.range(of: needle) != nil }

    @Test func erasingPurgesHerIdentifyingEventsEverywhereAndKeepsEveryCount() throws {
        let w = try World()
        let before = (b1: try w.report(w.b1), j1: try w.report(w.j1))
        #expect(try w.b1.state().canonicalID[w.rose] == w.j1.state().canonicalID[w.rose])
        let sealed = w.identifying.map(\.sealedPayload)
        #expect(sealed.allSatisfy { Self.contains(try! Self.storeBytes(w.b1), $0) })

        let plan = try w.b1.planErasure(of: w.rose)
        #expect(Set(plan.events) == Set(w.identifying.map(\.id)) && plan.ids == [w.rose] && plan.keptLinks == [w.ro])
        try w.b1.erase(plan, reason: "she asked at the drop-in", at: t0 + 300_000)

        // On the erasing laptop: nothing identifying in any file, and she shows as erased.
        let state = try w.b1.state()
        let her = try #require(state.people[state.canonical(w.rose)])
        #expect(her.name == nil && her.descriptor == nil && her.erased?.by == "b1" && her.erased?.events == 4)
        let bytes = try Self.storeBytes(w.b1)
        for s in sealed { #expect(!Self.contains(bytes, s)) }
        #expect(!Self.contains(bytes, Data("Rosalind".utf8)))
        #expect(try w.b1.store.allEvents().filter(\.isPurged).map(\.id).sorted() == plan.events)
        #expect(try w.b1.store.check(keyring: w.b1.keyring).isHealthy)

        // The other laptops purge at their next exchange; the counts stay on every laptop.
        let onB2 = try w.b1.send(to: w.b2)
        #expect(onB2.purged == 4 && onB2.setAsideCount == 0)
        let onJ1 = try w.b1.send(to: w.j1)
        #expect(onJ1.purged == 1)  // her profile: the only identifying event Joanna held
        for log in [w.b2, w.j1] {
            let bytes = try Self.storeBytes(log)
            for s in sealed { #expect(!Self.contains(bytes, s)) }
        }
        #expect(!Self.contains(try Self.storeBytes(w.b2), Data("Rosalind".utf8)))
        #expect(try w.report(w.b1) == before.b1)
        #expect(try w.report(w.b2) == before.b1)
        #expect(try w.report(w.j1) == before.j1)
        // Joanna's own record is hers, and the merge survives as an anonymous link.
        let onJoanna = try w.j1.state()
        #expect(onJoanna.people[onJoanna.canonical(w.ro)]?.name == "Ro")
        #expect(onJoanna.canonical(w.ro) == onJoanna.canonical(w.rose))
        // Joanna sees that Basis erased its (partnership-level) record of her: when, and nothing else.
        #expect(onJoanna.people[onJoanna.canonical(w.ro)]?.erasedBy == ["basis": t0 + 300_000])
        #expect(onJoanna.people[onJoanna.canonical(w.ro)]?.erased == nil)
        #expect(try w.b2.state().people.values.allSatisfy { $0.name != "Rosalind Zebedee" })
    }

    @Test func aStaleBundleBringsNothingBackAndANewLaptopReceivesOnlyTombstones() throws {
        let w = try World()
        // b2 wrote a bundle before the erasure (every event, in full).
        let stale = try EventBundle.make(from: w.b2.store, keyring: w.b2.keyring, since: VersionVector(), targetOrg: "basis").encoded(keyring: w.b2.keyring)
        try w.b1.erase(try w.b1.planErasure(of: w.rose), reason: "retention", at: t0 + 300_000)
        // b1 imports the stale bundle: every event it names is already held; nothing comes back.
        let again = try EventBundle.decode(stale, keyring: w.b1.keyring).importInto(w.b1.store, keyring: w.b1.keyring)
        #expect(again.stored == 0)
        for s in w.identifying.map(\.sealedPayload) { #expect(!Self.contains(try Self.storeBytes(w.b1), s)) }

        // A laptop that never saw her: the stale bundle first (she is readable there for now),
        // then the erasure reaches it and purges; then the purged copies from b1 change nothing.
        let b3 = try TestKeys.log("basis", device: "b3", in: w.dir.sub("b3"))
        try b3.store.admit(try [w.b1, w.b2, w.j1].flatMap { try $0.store.roster().certificates })
        let fromStale = try EventBundle.decode(stale, keyring: b3.keyring).importInto(b3.store, keyring: b3.keyring)
        #expect(fromStale.purged == 0)
        let outcome = try w.b1.send(to: b3)
        #expect(outcome.purged == 4 && outcome.setAsideCount == 0)
        for s in w.identifying.map(\.sealedPayload) { #expect(!Self.contains(try Self.storeBytes(b3), s)) }

        // And a laptop that receives the tombstones themselves, with the purge that names them.
        let b4 = try TestKeys.log("basis", device: "b4", in: w.dir.sub("b4"))
        try b4.store.admit(try [w.b1, w.b2, w.j1].flatMap { try $0.store.roster().certificates })
        let fresh = try w.b1.send(to: b4)
        #expect(fresh.setAsideCount == 0 && fresh.purged == 4)
        let state = try b4.state()
        #expect(state.people[state.canonical(w.rose)]?.erased != nil)
        #expect(try w.report(b4) == (try w.report(w.b1)))
    }

    /// The purge held before the events it names: a full copy that arrives later (a stale
    /// bundle from a laptop that never saw the erasure) is stored purged, never in full.
    @Test func aFullCopyArrivingAfterItsPurgeIsStoredPurged() throws {
        let w = try World()
        let stale = try EventBundle.make(from: w.b2.store, keyring: w.b2.keyring, since: VersionVector(), targetOrg: "basis").encoded(keyring: w.b2.keyring)
        try w.b1.erase(try w.b1.planErasure(of: w.rose), reason: "asked", at: t0 + 300_000)
        let purge = try #require(try w.b1.store.allEvents().first { $0.scope == .public })
        let b5 = try TestKeys.log("basis", device: "b5", in: w.dir.sub("b5"))
        try b5.store.admit(try [w.b1, w.b2, w.j1].flatMap { try $0.store.roster().certificates })
        _ = try b5.store.importEvents([purge], from: .carried("b1"), keyring: b5.keyring)
        let late = try EventBundle.decode(stale, keyring: b5.keyring).importInto(b5.store, keyring: b5.keyring)
        #expect(late.setAsideCount == 0)
        for s in w.identifying.map(\.sealedPayload) { #expect(!Self.contains(try Self.storeBytes(b5), s)) }
        let state = try b5.state()
        #expect(state.people[state.canonical(w.rose)]?.name == nil)
    }

    @Test func onlyHerOrganisationCanEraseAndOnlyWhatIdentifiesHer() throws {
        let w = try World()
        // Joanna's laptop may not erase Basis's person (the command refuses, naming who can);
        // where she is one person with Joanna's own record, Joanna erases only that.
        let (ivy, _) = try w.b1.registerPerson(name: "Ivy", at: t0)
        try w.b1.logContact(NewContact(person: ivy, setting: .van), at: t0 + 1)
        try w.b1.send(to: w.j1)
        #expect { try w.j1.planErasure(of: ivy) } throws: { ($0 as? FieldlogError)?.code == .notPermitted }
        #expect(try w.j1.planErasure(of: w.rose).ids == [w.ro])
        // An empty reason, and erasing twice, are refused and change nothing.
        let plan = try w.b1.planErasure(of: w.rose)
        let held = try w.b1.store.eventCount()
        #expect(throws: FieldlogError.self) { try w.b1.erase(plan, reason: "  ", at: t0) }
        #expect(try w.b1.store.eventCount() == held)
        try w.b1.erase(plan, reason: "asked", at: t0 + 1)
        #expect(throws: FieldlogError.self) { try w.b1.planErasure(of: w.rose) }

        // A modified Joanna client purging Basis's events: refused where they are held.
        let forged = try TrustAttackTests.forgePurge(w.identifying.map(\.id), by: w.j1)
        let outcome = try w.j1.sendForged([forged], to: w.b2)
        #expect(outcome.setAside[.foreignPurge] == 1 && outcome.purged == 0)
        for s in w.identifying.map(\.sealedPayload) { #expect(Self.contains(try Self.storeBytes(w.b2), s)) }

        // A modified Basis client purging a contact (a count): refused by every laptop that can read it.
        let contact = try #require(try w.b2.state().contacts.values.first { $0.unidentified == 2 })
        let silencing = try TrustAttackTests.forgePurge([contact.id], by: w.b1)
        let refused = try w.b1.sendForged([silencing], to: w.b2)
        #expect(refused.setAside[.notIdentifying] == 1 && refused.purged == 0)

        // A copy stripped of its payload by someone who may not erase it (a hostile server) is
        // set aside; the genuine event is still taken from an honest peer.
        let b5 = try TestKeys.log("basis", device: "b5", in: w.dir.sub("b5"))
        try b5.store.admit(try [w.b1, w.b2, w.j1].flatMap { try $0.store.roster().certificates })
        let stripped = try w.b2.store.allEvents().filter { $0.id == contact.id }.map(\.purged)
        let stripping = try b5.store.importEvents(stripped, from: .carried("hostile"), keyring: b5.keyring)
        #expect(stripping.setAside[.unauthorisedPurge] == 1 && stripping.stored == 0)
        try w.b2.send(to: b5)
        #expect(try b5.state().contacts[contact.id]?.unidentified == 2)
    }
}

extension TrustAttackTests {
    /// An `events.purged` naming `ids`, written by `log`'s device as a modified client would.
    static func forgePurge(_ ids: [EventID], by log: FieldLog) throws -> Event {
        let seq = try log.store.vector()[log.store.info.replica] + 1
        let payload = Payload(type: .eventsPurged, occurredAt: t0, author: "", fields: ["purge": .array(ids.sorted().map { .string($0.hex) })])
        let prev = seq == 1 ? nil : try log.store.allEvents().first { $0.dot == Dot(log.store.info.replica, seq - 1) }?.id
        return try Event(dot: Dot(log.store.info.replica, seq), prev: prev, org: log.keyring.org, scope: .public, context: try log.store.vector(),
                         recordedAt: t0, keyID: Scope.clearKeyID, sealedPayload: payload.json.canonicalData(), signer: log.keyring.deviceKey)
    }
}

extension FieldLog {
    /// Hands forged events straight to `other`'s import, as a bundle would carry them.
    func sendForged(_ events: [Event], to other: FieldLog) throws -> ImportOutcome {
        try other.store.importEvents(events, from: .carried(store.info.device), keyring: other.keyring)
    }
}
