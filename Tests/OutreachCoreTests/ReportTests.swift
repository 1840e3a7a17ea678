import Foundation
import Testing
@testable import OutreachCore

/// The worked example of docs/reports.md, computed by hand there and by the report here.
@Suite struct ReportTests {
    let time = LondonTime()
    func at(_ text: String) throws -> Int64 { try time.parse(text, now: 0) }

    @Test func octoberAcrossTheClockChangeMatchesTheHandCount() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        func person(_ name: String) throws -> String { try log.registerPerson(name: name, at: try at("2026-08-01 12:00")).person }
        func contact(_ p: String?, _ setting: Setting, _ when: String, services: [Service: Int] = [:], needs: Set<Need> = [], unidentified: Int = 0) throws -> Event {
            var c = NewContact(person: p, unidentified: unidentified, setting: setting, zone: "Z1")
            c.services = services
            c.needs = needs
            return try log.logContact(c, at: try at(when)).contact
        }
        let amber = try person("Amber"), beth = try person("Beth"), cara = try person("Cara"), dee = try person("Dee")
        let eve = try person("Eve"), fay = try person("Fay"), gwen = try person("Gwen")

        try contact(amber, .dropIn, "2026-09-15 11:00")
        try contact(amber, .van, "2026-10-03 22:00", services: [.condoms: 20], needs: [.housing])
        try contact(amber, .van, "2026-10-20 23:00", needs: [.housing, .drugs])
        // 1 Oct 00:30 London is 30 Sep 23:30 UTC: still October.
        try contact(beth, .foot, "2026-09-30T23:30:00Z")
        try contact(nil, .van, "2026-10-10 21:00", unidentified: 3)
        try log.retract(try contact(cara, .van, "2026-10-12 21:00"), reason: .wrongPerson, at: try at("2026-10-12 21:05"))
        let dees = try contact(dee, .van, "2026-10-13 21:00", services: [.condoms: 50])
        try log.correct(dees, fields: ["zone": "Z2", "services": ["condoms": 5]], reason: "typo", at: try at("2026-10-13 21:10"))
        try contact(eve, .van, "2026-10-31 23:59")
        try contact(fay, .van, "2026-11-01 00:00")
        try contact(gwen, .casework, "2026-10-14 10:00")
        try log.setRegister(.casework, of: amber, to: "open", at: try at("2026-10-02 09:00"))
        try log.setRegister(.priority, of: amber, to: "in", at: try at("2026-08-20 12:00"))
        try log.setRegister(.priority, of: beth, to: "in", reason: nil, at: try at("2026-10-05 12:00"))
        try log.setRegister(.lead, of: beth, to: "Sam", at: try at("2026-10-05 12:00"))
        try log.setRegister(.priority, of: amber, to: "out", at: try at("2026-10-30 12:00"))
        for (kind, consent) in [(IncidentKind.assault, ConsentLevel.l2), (.robbery, .l1), (.threats, .l3)] {
            try log.reportIncident(NewIncident(person: nil, kind: kind, consent: consent), at: try at("2026-10-18 22:00"), now: try at("2026-10-18 22:00"))
        }

        let october = try time.month("2026-10")
        #expect(october.start == LondonTime.ms(ISO8601DateFormatter().date(from: "2026-09-30T23:00:00Z")!))
        #expect(october.end == LondonTime.ms(ISO8601DateFormatter().date(from: "2026-11-01T00:00:00Z")!))
        let r = Report(state: try log.state(), period: ReportPeriod(start: october.start, end: october.end, label: "2026-10"))
        #expect(r.contacts == 8)
        // By zone: all in Z1 but Dee's, corrected to Z2; the three not identified count three.
        #expect(r.zones == ["Z1": 7, "Z2": 1])
        #expect(r.engaged == 4)
        #expect(r.new == 3)
        #expect(r.casework == 2)
        #expect(r.needs == ["housing": 1, "drugs": 1])
        #expect(r.services == ["condoms": 25])
        #expect(r.incidents == 3 && r.policeConsented == 2 && r.fullReports == 1)
        #expect(r.incidentsByType == ["assault": 1, "robbery": 1, "threats": 1])
        #expect(r.priorityGroup == 1 && r.priorityJoiners == 1 && r.priorityLeavers == 1 && r.priorityWithLead == 1)

        // November starts with Fay at midnight exactly.
        let nov = try time.month("2026-11")
        let n = Report(state: try log.state(), period: ReportPeriod(start: nov.start, end: nov.end, label: "2026-11"))
        #expect(n.contacts == 1 && n.engaged == 1 && n.new == 1)
    }
}

@Suite struct LondonTimeTests {
    let time = LondonTime()
    let now = LondonTime.ms(ISO8601DateFormatter().date(from: "2026-07-15T12:00:00Z")!)  // 13:00 BST

    @Test(arguments: [
        ("21:40", "2026-07-15T20:40:00Z"),
        ("yesterday 21:40", "2026-07-14T20:40:00Z"),
        ("today 00:05", "2026-07-14T23:05:00Z"),
        ("2026-12-01 21:40", "2026-12-01T21:40:00Z"),
        ("2026-03-29T01:30", "2026-03-29T01:30:00Z"),   // the hour that does not exist in London: moved on
        ("2026-11-20T21:40:00Z", "2026-11-20T21:40:00Z"),
        ("2026-07-20T21:40:00+01:00", "2026-07-20T20:40:00Z"),
    ])
    func parsesWhatWorkersType(_ input: String, _ expected: String) throws {
        let got = try time.parse(input, now: now)
        let want = LondonTime.ms(ISO8601DateFormatter().date(from: expected)!)
        if input == "2026-03-29T01:30" {
            #expect(abs(got - want) <= 3_600_000)
        } else {
            #expect(got == want, "\(input)")
        }
    }

    @Test(arguments: ["half nine", "25:00", "2026-02-30", "2026-13-01 10:00", "yesterday", "", "21:4x"])
    func refusesWhatItCannotRead(_ input: String) {
        #expect(throws: FieldlogError.self) { try time.parse(input, now: now) }
    }

    @Test func monthsAndDurations() throws {
        #expect(throws: FieldlogError.self) { try time.month("2026-13") }
        #expect(throws: FieldlogError.self) { try LondonTime.parseDuration("8 hours") }
        #expect(try LondonTime.parseDuration("8h") == 8 * 3_600_000)
        #expect(try LondonTime.parseDuration("2d") == 2 * 86_400_000)
    }
}

/// The exact JSON carries every measure the public JSON and CSV carry (they had drifted:
/// `incidents.policeConsentedPercent` was missing from the exact form).
@Suite struct ReportMeasuresTests {
    @Test func exactAndPublicJSONHaveTheSameMeasures() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        try log.reportIncident(NewIncident(person: nil, kind: .robbery, consent: .l2), at: t0, now: t0)
        let period = ReportPeriod(start: t0 - 1, end: t0 + 1, label: "now")
        let output = ReportOutput([PartnershipReport(state: try log.state(), period: period)], isPublic: false)
        let exact = output.json["merged"]?["incidents"]?.objectValue ?? [:]
        #expect(exact["policeConsentedPercent"] == .int(100))
        let publicForm = ReportOutput([PartnershipReport(state: try log.state(), period: period)], isPublic: true)
        for part in ["referrals", "incidents"] {
            #expect(Set((output.json["merged"]?[part]?.objectValue ?? [:]).keys) == Set((publicForm.json["merged"]?[part]?.objectValue ?? [:]).keys), "\(part)")
        }
    }
}
