import Foundation
import Testing
@testable import OutreachCore

/// Per-person keys (issue #10, build 1; `Protocol/erasure.md` §6): free text about her on
/// counted events is sealed under a key carried in her registration; erasing her purges the
/// registration, and with it the only copies of the key, so the text cannot be read anywhere
/// while the events that carry it still count.
@Suite struct SealedTextTests {
    @Test func textAboutHerIsReadableUntilSheIsErasedThenNowhere() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, b2, j1] { try log.store.admit(try [b1, b2, j1].flatMap { try $0.store.roster().certificates }) }
        let rose = try b1.registerPerson(name: "Rose", descriptor: "green coat", at: t0).person
        var incident = NewIncident(person: rose, kind: .robbery, consent: .l3)
        incident.note = "she stays at 14 Mill Street"
        let reported = try b1.reportIncident(incident, at: t0 + 1000, now: t0 + 1000).incident
        let concern = try b1.raiseSafeguarding(person: rose, category: .exploitation, action: "told her GP", withConsent: false,
                                              reason: "her partner takes her money", at: t0 + 2000)
        let casework = try b1.setRegister(.casework, of: rose, to: "open", reason: "housing at Mill Street", at: t0 + 3000)
        // Joanna's own record of her: Joanna holds no key of hers, so Joanna's text is its own, in clear.
        let joannas = try j1.raiseSafeguarding(person: rose, category: .financial, action: "benefits advice", withConsent: true, reason: nil, at: t0 + 4000)
        for (from, to) in [(b1, b2), (b1, j1), (j1, b1), (j1, b2)] { try from.send(to: to) }

        // Sealed in the payload (no plain string), readable on Basis's laptops.
        func field(_ log: FieldLog, _ e: Event, _ name: String) -> JSONValue? { log.keyring.open(e)?.payload[name] }
        for (e, name) in [(reported, "note"), (concern, "action"), (concern, "reason"), (casework, "reason")] {
            #expect(SealedText(field(b1, e, name)) != nil && field(b1, e, name)?.stringValue == nil, "\(name) is not sealed")
        }
        #expect(field(j1, joannas, "action")?.stringValue == "benefits advice")
        for log in [b1, b2] {
            let state = try log.state()
            #expect(state.note(of: state.incidents[reported.id]!) == "she stays at 14 Mill Street")
            #expect(state.reveal(SealedText(field(log, concern, "reason")), type: .safeguardingRaised, field: "reason", person: rose) == "her partner takes her money")
        }
        // The police export at L3 carries the note while she is known.
        let (export, _) = try b1.exportIncident(reported.id, recipient: nil, state: try b1.state(), at: t0 + 5000)
        #expect(export.text.contains("14 Mill Street"))
        // A box moved to another field or person does not open.
        let box = SealedText(field(b1, reported, "note"))
        #expect(try b1.state().reveal(box, type: .incidentReported, field: "offender", person: rose) == nil)

        try b1.erase(try b1.planErasure(of: rose), reason: "she asked", at: t0 + 6000)
        try b1.send(to: b2)
        try b1.send(to: j1)
        for log in [b1, b2] {
            let state = try log.state()
            // The incident still counts; its note, her concern's reason and action, her casework reason are gone for good.
            #expect(state.incidents[reported.id] != nil && state.note(of: state.incidents[reported.id]!) == nil)
            for (e, name, type) in [(concern, "action", EventType.safeguardingRaised), (concern, "reason", .safeguardingRaised), (casework, "reason", .registerSet)] {
                #expect(state.reveal(SealedText(field(log, e, name)), type: type, field: name, person: rose) == nil, "\(name) still opens")
            }
            #expect(state.personKeys.isEmpty)
            let (afterExport, _) = try log.exportIncident(reported.id, recipient: nil, state: state, at: t0 + 7000)
            #expect(!afterExport.text.contains("Mill Street") && afterExport.note == nil)
        }
        // Joanna's own record stays readable.
        #expect(field(j1, joannas, "action")?.stringValue == "benefits advice")
    }

    @Test func someoneWithoutAKeyIsWrittenInClear() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        // A registration from before 0.3 carries no key: her text stays as it was written.
        let old = try b1.store.append([Draft(Payload(type: .personRegistered, occurredAt: t0, author: "b1",
                                                     fields: ["person": "0123456789abcdef0123456789abcdef", "name": "Ivy"]))], keyring: b1.keyring)[0]
        let concern = try b1.raiseSafeguarding(person: "0123456789abcdef0123456789abcdef", category: .neglect, action: "food bank",
                                              withConsent: true, reason: nil, at: t0 + 1)
        #expect(b1.keyring.open(concern)?.payload["action"]?.stringValue == "food bank")
        #expect(try b1.keyring.open(old) != nil && b1.state().personKeys.isEmpty)
    }

    /// She is merged under Joanna's id (the smaller): Basis still seals what it writes about her
    /// under the key of its own registration of her, and erasing her still destroys it.
    @Test func herKeyIsFoundUnderAnyOfHerIds() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for log in [b1, j1] { try log.store.admit(try [b1, j1].flatMap { try $0.store.roster().certificates }) }
        let joannas = "00000000000000000000000000000001"
        try j1.store.append([Draft(Payload(type: .personRegistered, occurredAt: t0, author: "j1", fields: ["person": .string(joannas), "name": "Ro"]))],
                            keyring: j1.keyring)
        try j1.logContact(NewContact(person: joannas, setting: .foot), at: t0 + 1)
        try j1.send(to: b1)
        let rose = try b1.registerPerson(name: "Rose", at: t0).person
        try b1.link(rose, joannas, at: t0 + 2)
        #expect(try b1.state().canonical(rose) == joannas)
        var incident = NewIncident(person: joannas, kind: .threats, consent: .l0)
        incident.note = "outside the Mill Street flats"
        let reported = try b1.reportIncident(incident, at: t0 + 3, now: t0 + 3).incident
        #expect(SealedText(b1.keyring.open(reported)?.payload["note"]) != nil)
        #expect(try b1.state().note(of: try b1.state().incidents[reported.id]!) == "outside the Mill Street flats")
        try b1.erase(try b1.planErasure(of: rose), reason: "she asked", at: t0 + 4)
        #expect(try b1.state().note(of: try b1.state().incidents[reported.id]!) == nil)
    }
}
