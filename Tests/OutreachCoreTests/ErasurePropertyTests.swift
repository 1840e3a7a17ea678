import Foundation
import Testing
@testable import OutreachCore

/// Erasure keeps every count (issue #10, build 4): two Basis laptops and a Joanna laptop write a
/// random five months of work (people with and without shared partnership codes, contacts with notes,
/// referrals and outcomes, incidents, safeguarding, register writes, links, corrections,
/// retractions) and swap bundles; then random people are erased by their own organisation and
/// everyone syncs again. Every report each laptop can produce, for every month and quarter, merged
/// and by organisation, exact and `--public`, must be what it was, byte for byte, and her
/// identifying payloads must be gone from every store. Replay with `FIELDLOG_SEED=n`.
@Suite struct ErasurePropertyTests {
    static let time = LondonTime()
    static let codes = try! [("AB", "1990-01-02"), ("CD", "1985-06-07"), ("EF", "1999-12-31")].map {
        try PartnershipCode(initials: $0.0, dateOfBirth: $0.1, sex: "F")
    }

    /// Every report a laptop can make of those months: each month and quarter, CSV exact and public.
    static func allReports(_ log: FieldLog) throws -> [String] {
        let index = ReportIndex(try log.state())
        var periods = try (0..<7).map { back -> ReportPeriod in
            let month = time.adding(months: -back, to: t0)
            return try ReportPeriod.month(String(time.iso(month).prefix(7)), time: time)
        }
        for q in ["2025-Q2", "2025-Q3", "2025-Q4"] { periods.append(try ReportPeriod.quarter(q, time: time)) }
        let reports = periods.map { PartnershipReport(index: index, period: $0) }
        return [ReportOutput(reports, isPublic: false).csv, ReportOutput(reports, isPublic: true).csv]
    }

    /// The oracle: every stored event of `log`'s organisation that identifies `ids`, found by
    /// opening them all (retracted ones too): registrations, profiles, notes on any contact naming
    /// her, and the corrections of any of those.
    static func identifying(_ ids: [String], _ log: FieldLog) throws -> Set<EventID> {
        let opened = try log.store.allEvents().filter { $0.org == log.keyring.org && !$0.isPurged }.compactMap { log.keyring.open($0) }
        let hers = Set(ids)
        let contacts = Set(opened.filter { $0.payload.eventType == .contactLogged && $0.payload.string("person").map(hers.contains) == true }.map(\.event.id))
        var found = Set(opened.filter { o in
            switch o.payload.eventType {
            case .personRegistered?, .personProfile?: return o.payload.string("person").map(hers.contains) == true
            case .contactNote?: return o.payload.eventID("contact").map(contacts.contains) == true
            default: return false
            }
        }.map(\.event.id))
        while true {
            let more = Set(opened.filter { $0.payload.eventType == .eventCorrected && $0.payload.eventID("target").map(found.contains) == true }.map(\.event.id))
            if more.isSubset(of: found) { return found }
            found.formUnion(more)
        }
    }

    static func syncAll(_ logs: [FieldLog]) throws {
        var changed = true
        var rounds = 0
        while changed && rounds < 10 {
            changed = false
            rounds += 1
            for a in logs { for b in logs where a.store.info.replica != b.store.info.replica {
                if try a.send(to: b).stored > 0 { changed = true }
            } }
        }
    }

    @Test func everyReportIsTheSameAfterErasingRandomPeople() throws {
        for seed in propertySeeds(6) { try scenario(seed: seed) }
    }

    func scenario(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        let logs = [b1, b2, j1]
        for log in logs { try log.store.admit(try logs.flatMap { try $0.store.roster().certificates }) }
        let start = Self.time.adding(months: -5, to: t0)
        func when() -> Int64 { Int64.random(in: start...t0, using: &rng) }

        for _ in 0..<140 {
            let log = logs.randomElement(using: &rng)!
            let state = try log.state()
            let people = state.people.values.filter { $0.erased == nil }.map(\.id).sorted()
            let person = people.randomElement(using: &rng)
            switch Int.random(in: 0..<14, using: &rng) {
            case 0, 1:
                let code = Bool.random(using: &rng) ? Self.codes.randomElement(using: &rng) : nil
                try log.registerPerson(name: "N\(Int.random(in: 0..<1000, using: &rng))", descriptor: "coat \(Int.random(in: 0..<99, using: &rng))",
                                       note: Bool.random(using: &rng) ? "lives near the arches" : nil, code: code, at: when())
            case 2, 3, 4:
                var c = NewContact(person: person, unidentified: person == nil ? 2 : 0, setting: Setting.allCases.randomElement(using: &rng)!, zone: "Z1")
                c.services = [.condoms: Int.random(in: 1...20, using: &rng)]
                c.needs = [Need.allCases.randomElement(using: &rng)!]
                if Bool.random(using: &rng), person != nil { c.note = "note \(Int.random(in: 0..<1000, using: &rng))" }
                if Int.random(in: 0..<3, using: &rng) == 0, person != nil { c.referrals = [ReferralDestination.allCases.randomElement(using: &rng)!] }
                try log.logContact(c, at: when())
            case 5 where person != nil:
                var i = NewIncident(person: person, kind: IncidentKind.allCases.randomElement(using: &rng)!,
                                    consent: ConsentLevel.allCases.randomElement(using: &rng)!)
                i.note = "he drove a blue van"
                let at = when()
                try log.reportIncident(i, at: at, now: at)
            case 6 where person != nil:
                try log.raiseSafeguarding(person: person, category: SafeguardingCategory.allCases.randomElement(using: &rng)!,
                                          action: "told the lead", withConsent: Bool.random(using: &rng), reason: "risk to life", at: when())
            case 7 where person != nil:
                let register = [Register.casework, .priority, .lead].randomElement(using: &rng)!
                let value: JSONValue = register == .casework ? "open" : register == .priority ? "in" : .string(log.keyring.org)
                try log.setRegister(register, of: person!, to: value, at: when())
            case 8:
                if let r = state.referrals.values.filter({ $0.org == log.keyring.org }).map(\.id).sorted().randomElement(using: &rng) {
                    try log.recordReferralOutcome(r, ReferralOutcomeKind.allCases.randomElement(using: &rng)!, state: state, at: when())
                }
            case 9:
                // Correct a registration or a profile, or retract a contact or a note, of this organisation.
                let own = try log.store.allEvents().filter { $0.org == log.keyring.org && $0.scope != .public }
                let type = [EventType.personRegistered, .personProfile, .contactLogged, .contactNote].randomElement(using: &rng)!
                let candidates = own.filter { log.keyring.open($0)?.payload.eventType == type && !state.retracted.contains($0.id) }
                guard let target = candidates.randomElement(using: &rng) else { break }
                switch type {
                case .personRegistered: try log.correct(target, fields: ["descriptor": "corrected coat"], reason: "typo", at: when(), state: state)
                case .personProfile: try log.correct(target, fields: ["ageBand": "25-34"], reason: "typo", at: when(), state: state)
                default: try log.retract(target, reason: .error, at: when(), state: state)
                }
            case 10 where people.count > 1:
                let other = people.randomElement(using: &rng)!
                if other != person { try log.link(person!, other, at: when()) }
            default:
                let to = logs.randomElement(using: &rng)!
                if to.store.info.replica != log.store.info.replica { try log.send(to: to) }
            }
        }
        try Self.syncAll(logs)
        let before = try logs.map(Self.allReports)

        // Each organisation erases some of the people it registered, on a random laptop of its own.
        var erased = [(org: String, person: String, identifying: [Data])]()
        for (org, laptops) in [("basis", [b1, b2]), ("joanna", [j1])] {
            let log = laptops.randomElement(using: &rng)!
            let state = try log.state()
            let ours = state.people.values.filter { $0.registeredAt != nil && $0.org == org && $0.erased == nil }.map(\.id).sorted()
            for person in ours.shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng)) {
                guard let plan = try? log.planErasure(of: person) else { continue }
                #expect(Set(plan.events) == (try Self.identifying(plan.ids, log)), "seed \(seed): the plan misses or adds events")
                let sealed = try plan.events.compactMap { try log.store.storedEvent($0)?.sealedPayload }
                try log.erase(plan, reason: "seed \(seed)", at: t0)
                erased.append((org, plan.person, sealed))
            }
        }
        #expect(!erased.isEmpty, "seed \(seed): nobody erased")
        try Self.syncAll(logs)

        let after = try logs.map(Self.allReports)
        for (i, log) in logs.enumerated() {
            let changed = zip(before[i], after[i]).flatMap { b, a in
                zip(b.split(separator: "\n"), a.split(separator: "\n")).filter { $0 != $1 }.map { "\($0) → \($1.split(separator: ",").last ?? "")" }
            }
            #expect(after[i] == before[i], "seed \(seed): \(log.store.info.device)'s reports changed after erasing: \(changed.prefix(6))")
            let bytes = try ErasureTests.storeBytes(log)
            for e in erased {
                #expect(!e.identifying.contains { ErasureTests.contains(bytes, $0) }, "seed \(seed): \(log.store.info.device) keeps her bytes")
                if log.keyring.org == e.org {
                    let state = try log.state()
                    #expect(state.people[state.canonical(e.person)]?.name == nil, "seed \(seed): \(log.store.info.device) still names her")
                }
            }
        }
    }
}

extension Store {
    /// The stored event with this id (for tests that keep an event's bytes to look for).
    func storedEvent(_ id: EventID) throws -> Event? { try allEvents().first { $0.id == id } }
}
