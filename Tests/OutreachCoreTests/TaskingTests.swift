import Foundation
import Testing
@testable import OutreachCore

/// The tasking meeting's list (`fieldlog tasking`), on both charities' laptops.
@Suite struct TaskingTests {
    let time = LondonTime()
    func at(_ text: String) throws -> Int64 { try time.parse(text, now: 0) }

    @Test func theListHoldsTheGroupWithWhatTheMeetingNeeds() throws {
        let dir = TempDir()
        let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
        let t = try at("2026-11-02 12:00")
        let rose = try basis.registerPerson(name: "Rose", at: t).person
        let uma = try basis.registerPerson(name: "Uma", at: t).person
        let tia = try joanna.registerPerson(name: "Tia", at: t).person
        try basis.setRegister(.priority, of: rose, to: "in", at: t)
        try basis.setRegister(.risk, of: rose, to: "high", review: try at("2026-11-10 00:00"), at: t)
        try basis.setRegister(.lead, of: rose, to: "Sam (ISVA)", at: t)
        try basis.setRegister(.priority, of: uma, to: "in", at: t)
        try basis.setRegister(.priority, of: uma, to: "out", at: t + 60_000)
        var c = NewContact(person: rose, setting: .van)
        c.referrals = [.housing, .gp]
        let logged = try basis.logContact(c, at: try at("2026-11-05 21:00"))
        try basis.recordReferralOutcome(logged.referrals[1].id, .attended, state: try basis.state(), at: try at("2026-11-12 10:00"))
        let gp = try basis.addTaskingAction(person: rose, action: "offer a GP appointment", owner: "basis", due: try at("2026-11-20 00:00"), at: t)
        let done = try basis.addTaskingAction(person: rose, action: "replace her phone", owner: nil, due: nil, at: t)
        try basis.completeTaskingAction(done.id, state: try basis.state(), at: t + 1)
        try joanna.setRegister(.priority, of: tia, to: "in", at: t)
        try joanna.setRegister(.risk, of: tia, to: "medium", at: t)
        try joanna.logContact(NewContact(person: tia, setting: .foot), at: try at("2026-11-14 22:00"))
        try joanna.logContact(NewContact(person: rose, setting: .van), at: try at("2026-11-15 22:00"))
        try basis.send(to: joanna)
        try joanna.send(to: basis)

        let now = try at("2026-11-16 09:00")
        let onBasis = try basis.state().taskingList(now: now)
        let onJoanna = try joanna.state().taskingList(now: now)
        #expect(onBasis.map(\.person) == [rose, tia])  // high risk first; Uma left the group
        #expect(onJoanna.map(\.person) == [rose, tia])
        let r = onBasis[0]
        #expect(r.name == "Rose" && r.risk == ["high"] && r.lead == "Sam (ISVA)" && r.reviewOverdue)
        #expect(r.lastContact == (try at("2026-11-15 22:00")) && r.lastContactOrg == "joanna")
        #expect(r.openReferrals == ["housing"])
        #expect(r.openActions.map(\.id) == [gp.id] && r.openActions[0].owner == "basis")
        // Each charity holds only its own working names.
        #expect(onBasis[1].name == nil && onBasis[1].org == "joanna" && onBasis[1].risk == ["medium"] && !onBasis[1].reviewOverdue)
        #expect(onJoanna[0].name == nil && onJoanna[1].name == "Tia")
        // Everything but the names is the same on both laptops.
        #expect(onBasis.map(\.openActions) == onJoanna.map(\.openActions) && onBasis.map(\.openReferrals) == onJoanna.map(\.openReferrals))
        #expect(throws: FieldlogError.self) { try basis.completeTaskingAction(done.id, state: try basis.state(), at: now) }
        #expect(throws: FieldlogError.self) { try basis.addTaskingAction(person: rose, action: "  ", owner: nil, due: nil, at: now) }
    }
}
