import Foundation
import Testing
@testable import OutreachCore

@Suite struct FoldTests {
    @Test func concurrentRegisterWritesAreAConflictUntilALaterWriteCoversBoth() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        let (p, _) = try a.registerPerson(name: "Rose", at: t0)
        try a.send(to: b)
        // Given two laptops that set the risk level without seeing each other
        try a.setRegister(.risk, of: p, to: "high", at: t0 + 10)
        try b.setRegister(.risk, of: p, to: "low", at: t0 + 5_000_000)  // a later wall clock wins nothing
        try a.send(to: b)
        try b.send(to: a)
        // Then both values are kept, on both laptops
        for log in [a, b] {
            let state = try log.state()
            #expect(state.conflicts.count == 1)
            #expect(Set(state.people[p]!.registers[.risk]!.live.map(\.value)) == ["high", "low"])
        }
        // When one worker writes again after seeing the conflict, it is resolved everywhere
        try b.setRegister(.risk, of: p, to: "medium", at: t0 + 20)
        try b.send(to: a)
        for log in [a, b] {
            let state = try log.state()
            #expect(state.conflicts.isEmpty)
            #expect(state.people[p]!.registers[.risk]!.value == "medium")
        }
    }

    @Test func aSequentialRewriteIsNotAConflict() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let (p, _) = try a.registerPerson(name: "Rose", at: t0)
        try a.setRegister(.priority, of: p, to: "in", at: t0)
        try a.setRegister(.priority, of: p, to: "out", at: t0 - 1000)  // an earlier wall clock loses nothing
        let state = try a.state()
        #expect(state.conflicts.isEmpty)
        #expect(state.people[p]!.registers[.priority]!.value == "out")
    }

    @Test func retractedAndCorrectedEventsCountAsTheyShould() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let (p, _) = try a.registerPerson(name: "Rose", at: t0)
        let wrong = try a.logContact(NewContact(person: p, setting: .van, zone: "Z1"), at: t0).contact
        let fixme = try a.logContact(NewContact(person: p, setting: .van, zone: "Z1"), at: t0).contact
        try a.retract(wrong, reason: .duplicate, at: t0)
        try a.correct(fixme, fields: ["zone": "Z2", "services": ["condoms": 5]], reason: "zone typo", at: t0)
        let state = try a.state()
        #expect(state.contacts[wrong.id] == nil)
        #expect(state.contacts[fixme.id]?.zone == "Z2")
        #expect(state.contacts[fixme.id]?.services == ["condoms": 5])
        #expect(state.contacts.count == 1)
    }

    @Test func linksAndMatchingCodesMakeOnePerson() throws {
        let dir = TempDir()
        let basis = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j", in: dir.sub("j"))
        let code = try PartnershipCode(initials: "ab", dateOfBirth: "1990-04-01", sex: "F")
        let (p1, _) = try basis.registerPerson(name: "Rose", code: code, at: t0)
        let (p2, _) = try joanna.registerPerson(name: "Rosie", code: code, at: t0)
        let (p3, _) = try joanna.registerPerson(name: "R", at: t0)
        try joanna.link(p2, p3, at: t0)
        try basis.logContact(NewContact(person: p1, setting: .van), at: t0)
        try joanna.logContact(NewContact(person: p3, setting: .foot), at: t0)
        try basis.send(to: joanna)
        try joanna.send(to: basis)
        for log in [basis, joanna] {
            let state = try log.state()
            let one = state.canonical(p1)
            #expect(state.canonical(p2) == one && state.canonical(p3) == one)
            #expect(state.contacts(of: p3).count == 2)
        }
        // Each charity still sees only its own working name.
        #expect(try basis.state().people[try basis.state().canonical(p1)]?.name == "Rose")
        #expect(try joanna.state().people[try joanna.state().canonical(p1)]?.name != "Rose")
    }

    @Test func anAlertComesWithAnL1IncidentAndNotWithL0() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let quiet = try a.reportIncident(NewIncident(person: nil, kind: .threats, consent: .l0), at: t0, now: t0)
        #expect(quiet.alert == nil)
        var loud = NewIncident(person: nil, kind: .assault, consent: .l2)
        loud.vehicle = "blue van"
        let r = try a.reportIncident(loud, at: t0, now: t0)
        let alert = try #require(r.alert)
        #expect(alert.scope == .partnership && r.incident.scope == .org)
        let state = try a.state()
        #expect(state.alerts[alert.id]?.text.contains("blue van") == true)
        #expect(state.alerts[alert.id]?.isActive(at: t0 + 1) == true)
        #expect(state.alerts[alert.id]?.isActive(at: t0 + 29 * 86_400_000) == false)
        try a.retract(r.incident, reason: .error, at: t0)
        #expect(try a.state().alerts.isEmpty)
    }

    @Test func unknownEventTypesAreKeptAndPassedOn() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        var future = Payload(type: .contactLogged, occurredAt: t0, author: "a", fields: ["shiny": ["new": 1]])
        future.type = "future.kind"
        try a.store.append([Draft(.partnership, future)], keyring: a.keyring)
        try a.send(to: b)
        #expect(try b.state().unknownTypes == 1)
        let got = try #require(b.store.allEvents().first.flatMap { b.keyring.open($0) })
        #expect(got.payload.type == "future.kind" && got.payload["shiny"] == ["new": 1])
    }
}
