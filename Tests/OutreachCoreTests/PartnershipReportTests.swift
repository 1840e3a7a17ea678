import Foundation
import Testing
@testable import OutreachCore

/// The coordinators' merged report (docs/reports.md, "Merged and per-organisation counts"):
/// a fixture computed by hand there, checked here on both charities' laptops.
@Suite struct PartnershipReportTests {
    let time = LondonTime()
    func at(_ text: String) throws -> Int64 { try time.parse(text, now: 0) }

    struct Fixture {
        let basis: FieldLog
        let joanna: FieldLog
    }

    /// Two charities, November 2026 (GMT all month; the clocks went back on 25 October).
    func fixture(in dir: TempDir) throws -> Fixture {
        let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
        let code = try PartnershipCode(initials: "rh", dateOfBirth: "1994-03-02", sex: "F")
        let registered = try at("2026-08-01 12:00")
        let rose = try basis.registerPerson(name: "Rose", code: code, at: registered).person
        let rosie = try joanna.registerPerson(name: "Rosie", code: code, at: registered).person
        let sal = try basis.registerPerson(name: "Sal", at: registered).person
        let s = try joanna.registerPerson(name: "S", at: registered).person
        let uma = try basis.registerPerson(name: "Uma", at: registered).person
        let vi = try basis.registerPerson(name: "Vi", at: registered).person
        let tia = try joanna.registerPerson(name: "Tia", at: registered).person

        @discardableResult
        func contact(_ log: FieldLog, _ p: String?, _ setting: Setting, _ when: String, condoms: Int = 0, needs: Set<Need> = [], unidentified: Int = 0) throws -> Event {
            var c = NewContact(person: p, unidentified: unidentified, setting: setting, zone: "Z1")
            if condoms > 0 { c.services = [.condoms: condoms] }
            c.needs = needs
            return try log.logContact(c, at: try at(when)).contact
        }
        /// A drop-in contact that makes referrals (their events, in the order given).
        func refer(_ log: FieldLog, _ p: String, _ when: String, _ to: [ReferralDestination]) throws -> [Event] {
            var c = NewContact(person: p, setting: .dropIn)
            c.referrals = to
            return try log.logContact(c, at: try at(when)).referrals
        }
        try contact(basis, rose, .dropIn, "2026-09-10 11:00")
        try contact(basis, rose, .van, "2026-11-05 21:00", condoms: 10, needs: [.housing])
        try contact(basis, rose, .van, "2026-11-12 21:00", condoms: 10, needs: [.housing])
        try contact(basis, sal, .foot, "2026-11-06 22:00")
        let umas = try contact(basis, uma, .van, "2026-11-07 21:00", condoms: 50, needs: [.drugs])
        try basis.correct(umas, fields: ["services": ["condoms": 5]], reason: "typo", at: try at("2026-11-07 21:05"))
        try basis.retract(try contact(basis, vi, .van, "2026-11-08 21:00"), reason: .wrongPerson, at: try at("2026-11-08 21:05"))
        try contact(basis, uma, .van, "2026-10-31 23:59")
        try basis.setRegister(.casework, of: rose, to: "open", at: try at("2026-10-01 09:00"))
        try basis.setRegister(.priority, of: uma, to: "in", at: try at("2026-11-10 12:00"))

        try contact(joanna, rosie, .van, "2026-11-20 21:30", condoms: 10, needs: [.housing])
        try contact(joanna, s, .foot, "2026-11-21 21:00")
        try contact(joanna, tia, .van, "2026-11-01 00:00")
        try contact(joanna, nil, .van, "2026-11-22 22:00", unidentified: 3)
        try contact(joanna, tia, .casework, "2026-11-25 10:00")
        try joanna.link(s, sal, at: try at("2026-11-21 21:05"))

        // Referrals and concerns.
        let basisReferrals = try refer(basis, rose, "2026-11-13 11:00", [.housing, .gp])
        try basis.recordReferralOutcome(basisReferrals[0].id, .attended, state: try basis.state(), at: try at("2026-11-20 11:00"))
        try basis.recordReferralOutcome(basisReferrals[1].id, .waiting, state: try basis.state(), at: try at("2026-11-20 11:00"))
        let joannaReferral = try refer(joanna, tia, "2026-11-26 11:00", [.sexualHealth])
        try joanna.recordReferralOutcome(joannaReferral[0].id, .didNotAttend, state: try joanna.state(), at: try at("2026-11-28 11:00"))
        try refer(basis, uma, "2026-10-20 11:00", [.drugTreatment])  // October's
        try basis.raiseSafeguarding(person: sal, category: .exploitation, action: "adult social care", withConsent: true, reason: nil,
                                    at: try at("2026-11-06 22:30"))
        try joanna.raiseSafeguarding(person: tia, category: .sexual, action: "police", withConsent: false, reason: "risk to life",
                                     at: try at("2026-11-25 10:30"))

        func incident(_ log: FieldLog, _ kind: IncidentKind, _ consent: ConsentLevel, _ when: String) throws -> Event {
            try log.reportIncident(NewIncident(person: nil, kind: kind, consent: consent), at: try at(when), now: try at(when)).incident
        }
        _ = try incident(basis, .assault, .l2, "2026-11-05 22:00")
        let threats = try incident(basis, .threats, .l3, "2026-11-09 22:00")
        try basis.correct(threats, fields: ["consent": "L1"], reason: "consent withdrawn", at: try at("2026-11-11 10:00"))
        _ = try incident(joanna, .robbery, .l3, "2026-11-15 23:00")
        try joanna.retract(try incident(joanna, .harassment, .l2, "2026-11-16 23:00"), reason: .duplicate, at: try at("2026-11-16 23:10"))

        try basis.send(to: joanna)
        try joanna.send(to: basis)
        return Fixture(basis: basis, joanna: joanna)
    }

    @Test func novemberMatchesTheHandCountOnBothLaptops() throws {
        let dir = TempDir()
        let f = try fixture(in: dir)
        let nov = try time.month("2026-11")
        let period = ReportPeriod(start: nov.start, end: nov.end, label: "2026-11")
        let onBasis = PartnershipReport(state: try f.basis.state(), period: period)
        let onJoanna = PartnershipReport(state: try f.joanna.state(), period: period)
        // Any laptop of the partnership computes the same figures.
        #expect(onBasis.json == onJoanna.json)
        #expect(onBasis.byOrg.keys.sorted() == ["basis", "joanna"])

        let b = try #require(onBasis.byOrg["basis"]), j = try #require(onBasis.byOrg["joanna"]), m = onBasis.merged
        // Basis: Rose ×2, Sal, Uma (corrected); Vi retracted; Uma's 31 October contact is October's.
        #expect(b.contacts == 4 && b.engaged == 3 && b.new == 1)
        #expect(b.services == ["condoms": 25] && b.needs == ["housing": 1, "drugs": 1] && b.casework == 1)
        #expect(b.incidents == 2 && b.policeConsented == 1 && b.fullReports == 0)
        #expect(b.priorityGroup == 1 && b.priorityJoiners == 1)
        // Joanna: Rosie, S, Tia at midnight on 1 November, 3 not identified; the harassment retracted.
        #expect(j.contacts == 6 && j.engaged == 3 && j.new == 3)
        #expect(j.services == ["condoms": 10] && j.needs == ["housing": 1] && j.casework == 1)
        #expect(j.incidents == 1 && j.policeConsented == 1 && j.fullReports == 1)
        #expect(j.priorityGroup == 0)
        // Merged: Rose = Rosie (code), Sal = S (link): four people, not six.
        #expect(m.contacts == 10 && m.engaged == 4 && m.new == 2)
        #expect(m.services == ["condoms": 35] && m.needs == ["housing": 1, "drugs": 1] && m.casework == 2)
        #expect(m.incidents == 3 && m.policeConsented == 2 && m.fullReports == 1)
        #expect(m.incidentsByType == ["assault": 1, "threats": 1, "robbery": 1])
        #expect(m.priorityGroup == 1)
        // Referrals (the drop-in contacts count in no outreach figure) and concerns.
        #expect(b.referrals == ["housing": 1, "gp": 1] && b.referralsWithOutcome == 1 && b.referralsAttended == 1)
        #expect(j.referrals == ["sexual-health": 1] && j.referralsWithOutcome == 1 && j.referralsAttended == 0)
        #expect(m.referrals == ["housing": 1, "gp": 1, "sexual-health": 1] && m.referralsWithOutcome == 2 && m.referralsAttended == 1)
        #expect(Report.percent(m.referralsAttended, of: m.referralsWithOutcome) == 50)
        #expect(b.safeguarding == ["exploitation": 1] && b.safeguardingWithoutConsent == 0)
        #expect(j.safeguarding == ["sexual": 1] && j.safeguardingWithoutConsent == 1)
        #expect(m.safeguarding == ["exploitation": 1, "sexual": 1] && m.safeguardingWithoutConsent == 1)

        // October holds only Uma's 31 October contact, her first (and Rose's case, open since 1 October).
        let oct = try time.month("2026-10")
        let october = PartnershipReport(state: try f.joanna.state(), period: ReportPeriod(start: oct.start, end: oct.end, label: "2026-10"))
        #expect(october.merged.contacts == 1 && october.merged.engaged == 1 && october.merged.new == 1 && october.merged.casework == 1)
    }

    @Test func anIncidentReachesTheOtherCharityOnlyAsKindAndConsent() throws {
        let dir = TempDir()
        let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
        var i = NewIncident(person: nil, kind: .assault, consent: .l3)
        i.vehicle = "silver Astra"
        i.note = "she was at the bus stop on Spencer Place"
        let t = try at("2026-11-05 22:00")
        let written = try basis.reportIncident(i, at: t, now: t)
        #expect(written.summary.scope == .partnership && written.incident.scope == .org)
        let summary = try #require(joanna.keyring.open(written.summary))
        #expect(Set(summary.payload.fields.keys) == ["incident", "kind", "consent"])
        try basis.send(to: joanna)
        var state = try joanna.state()
        #expect(state.incidents.isEmpty)
        #expect(state.incidentFacts == [IncidentFact(incident: written.incident.id, org: "basis", kind: "assault", consent: .l3, occurredAt: t)])

        // Consent withdrawn: the correction reaches the summary too.
        try basis.correct(written.incident, fields: ["consent": "L0"], reason: "consent withdrawn", at: t + 60_000)
        try basis.send(to: joanna)
        state = try joanna.state()
        #expect(state.incidentFacts.map(\.consent) == [.l0])
        #expect(try basis.state().incidentFacts.map(\.consent) == [.l0])

        // Retracted: gone from both charities' counts.
        try basis.retract(written.incident, reason: .error, at: t + 120_000)
        try basis.send(to: joanna)
        #expect(try joanna.state().incidentFacts.isEmpty)
        #expect(try basis.state().incidentFacts.isEmpty)
    }

    @Test func quartersAndTrendsAreWholeLondonMonths() throws {
        let q4 = try ReportPeriod.quarter("2026-q4")
        #expect(q4.label == "2026-Q4")
        let oct = try time.month("2026-10"), dec = try time.month("2026-12")
        #expect(q4.start == oct.start && q4.end == dec.end)
        #expect(q4.start == LondonTime.ms(ISO8601DateFormatter().date(from: "2026-09-30T23:00:00Z")!))  // BST
        #expect(q4.end == LondonTime.ms(ISO8601DateFormatter().date(from: "2027-01-01T00:00:00Z")!))    // GMT
        let trend = try ReportPeriod.months(3, endingWith: "2026-01")
        #expect(trend.map(\.label) == ["2025-11", "2025-12", "2026-01"])
        #expect(zip(trend, trend.dropFirst()).allSatisfy { $0.end == $1.start })
        for bad in ["2026-Q0", "2026-Q5", "2026-4", "Q4-2026"] { #expect(throws: FieldlogError.self) { try ReportPeriod.quarter(bad) } }
        #expect(throws: FieldlogError.self) { try ReportPeriod.months(0, endingWith: "2026-01") }
        #expect(throws: FieldlogError.self) { try ReportPeriod.days(from: "2026-11-30", to: "2026-11-01") }

        // A trend's months add up to the quarter for additive measures.
        let dir = TempDir()
        let f = try fixture(in: dir)
        let state = try f.basis.state()
        let quarter = PartnershipReport(state: state, period: q4)
        let monthly = try ReportPeriod.months(3, endingWith: "2026-12").map { PartnershipReport(state: state, period: $0) }
        #expect(monthly.map(\.merged.contacts).reduce(0, +) == quarter.merged.contacts)
        #expect(monthly.map(\.merged.incidents).reduce(0, +) == quarter.merged.incidents)
        #expect(quarter.merged.contacts == 11)  // November's 10 and Uma's 31 October
    }

    /// Outreach contacts by zone add up to the contacts, in every column; published, a zone with
    /// few contacts cannot be worked out from the total and the other zones.
    @Test func contactsByZoneAddUpAndASmallZoneStaysHidden() throws {
        let dir = TempDir()
        let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
        for log in [basis, joanna] { _ = try log.defineZone("Z1", label: nil, at: try at("2026-10-01 12:00")) }
        _ = try basis.defineZone("Z2", label: nil, at: try at("2026-10-01 12:00"))
        func contacts(_ log: FieldLog, _ n: Int, zone: String?, setting: Setting = .van) throws {
            for k in 0..<n {
                _ = try log.logContact(NewContact(person: nil, unidentified: 1, setting: setting, zone: zone), at: try at("2026-11-0\(k % 9 + 1) 21:00"))
            }
        }
        try contacts(basis, 12, zone: "Z1")
        try contacts(basis, 2, zone: "Z2")
        try contacts(basis, 9, zone: nil)
        try contacts(basis, 4, zone: "Z2", setting: .dropIn)  // not outreach: not counted
        try contacts(joanna, 10, zone: "Z1")
        try joanna.send(to: basis)
        let nov = try time.month("2026-11")
        let report = PartnershipReport(state: try basis.state(), period: ReportPeriod(start: nov.start, end: nov.end, label: "2026-11"))
        #expect(report.merged.zones == ["Z1": 22, "Z2": 2, Report.noZone: 9])
        #expect(report.byOrg["basis"]?.zones == ["Z1": 12, "Z2": 2, Report.noZone: 9])
        #expect(report.byOrg["joanna"]?.zones == ["Z1": 10])
        for (_, r) in report.columns { #expect(r.zones.values.reduce(0, +) == r.contacts) }
        #expect(report.json["merged"]?["zones"]?[Report.noZone]?.intValue == 9)

        let cells = PartnershipReport.cells([report])
        let table = report.table(cells: cells, isPublic: true)
        let basisColumn = try #require(table.columns.firstIndex(of: "basis"))
        let zoneRows = cells.indices.filter { cells[$0].measure == .zones }
        let contactsRow = try #require(cells.firstIndex(of: ReportCell(.contacts)))
        #expect(table.values[cells.firstIndex(of: ReportCell(.zones, "Z2"))!][basisColumn] == .small)
        // Z2's <8 is not alone among basis's contacts and its zones: another is hidden with it.
        let unpublished = (zoneRows + [contactsRow]).filter { !table.values[$0][basisColumn].isPublished }
        #expect(unpublished.count >= 2)
    }
}
