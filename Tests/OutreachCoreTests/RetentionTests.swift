import Foundation
import Testing
@testable import OutreachCore

/// Retention (issue #10, `Protocol/erasure.md` §7): a person her organisation registered is erased
/// once its policy's time has passed since her last contact, casework or incident; the policy
/// syncs within the organisation only; what she was counted as stays.
@Suite struct RetentionTests {
    static let time = LondonTime()
    static func yearsAgo(_ years: Int, from now: Int64 = t0) -> Int64 { time.adding(months: -12 * years, to: now) }

    /// Basis registered five women years ago; each was last active in a different way and time.
    /// Joanna knows one of them (by code) and has one of its own.
    struct World {
        let dir = TempDir()
        let b1: FieldLog, b2: FieldLog, j1: FieldLog
        /// Basis's: seen 7 years ago; never seen since registering 8 years ago; casework 2 years
        /// ago; an incident 3 years ago; seen by Joanna last year.
        let seen7, quiet8, casework2, incident3, joannaSawHer: String
        let joannas: String
        init() throws {
            let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
            let j1 = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
            self.b1 = b1
            self.j1 = j1
            b2 = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
            for log in [b1, b2, j1] { try log.store.admit(try [b1, b2, j1].flatMap { try $0.store.roster().certificates }) }
            let long = yearsAgo(8)
            func register(_ name: String, code: PartnershipCode? = nil) throws -> String {
                try b1.registerPerson(name: name, descriptor: "\(name)'s red scarf", code: code, at: long).person
            }
            let seen7 = try register("Seven")
            var visit = NewContact(person: seen7, setting: .van)
            visit.note = "Seven sleeps behind the bus station"
            try b1.logContact(visit, at: yearsAgo(7))
            quiet8 = try register("Quiet")
            let casework2 = try register("Casework")
            try b1.setRegister(.casework, of: casework2, to: "open", at: yearsAgo(2))
            let incident3 = try register("Incident")
            try b1.reportIncident(NewIncident(person: incident3, kind: .robbery, consent: .l0), at: yearsAgo(3), now: yearsAgo(3))
            let code = try PartnershipCode(initials: "JS", dateOfBirth: "1988-02-03", sex: "F")
            joannaSawHer = try register("Shared", code: code)
            let (js, _) = try j1.registerPerson(name: "JS", code: code, at: long)
            try j1.logContact(NewContact(person: js, setting: .foot), at: yearsAgo(1))
            joannas = try j1.registerPerson(name: "Jo", at: long).person
            for (from, to) in [(b1, b2), (b1, j1), (j1, b1), (j1, b2)] { try from.send(to: to) }
            self.seen7 = seen7
            self.casework2 = casework2
            self.incident3 = incident3
        }

        func due(_ log: FieldLog, at now: Int64 = t0) throws -> Set<String> {
            Set(log.retentionSchedule(in: try log.state()).schedule.filter { $0.isDue(at: now) }.map(\.person))
        }
    }

    @Test func theScheduleCountsHerLastContactCaseworkOrIncidentByEitherCharity() throws {
        let w = try World()
        let (policy, schedule) = w.b1.retentionSchedule(in: try w.b1.state())
        #expect(policy.months == 72 && policy.id == nil)
        // Basis's five, soonest first; never Joanna's own.
        let b1 = try w.b1.state()
        #expect(Set(schedule.map(\.person)) == Set([w.seen7, w.quiet8, w.casework2, w.incident3, w.joannaSawHer].map(b1.canonical)))
        #expect(schedule.map(\.dueAt) == schedule.map(\.dueAt).sorted())
        #expect(try w.due(w.b1) == [w.seen7, w.quiet8])
        let seen = schedule.first { $0.person == w.seen7 }!
        #expect(seen.lastActivity == Self.yearsAgo(7) && seen.dueAt == Self.yearsAgo(1))
        // Joanna holds none of Basis's registrations: only its own are in its schedule.
        #expect(try w.due(w.j1) == [w.joannas])
        #expect(Set(w.j1.retentionSchedule(in: try w.j1.state()).schedule.map(\.person)) == [w.joannas, try w.j1.state().canonical(w.joannaSawHer)])
        // Four and a half years on, the casework and incident fall due too; Joanna's contact keeps the shared one.
        #expect(try w.due(w.b1, at: Self.time.adding(months: 54, to: t0)) == [w.seen7, w.quiet8, w.casework2, w.incident3])
    }

    @Test func applyingErasesWhoIsDueAsRetentionAndKeepsEveryCount() throws {
        let w = try World()
        let period = ReportPeriod(start: Self.yearsAgo(9), end: t0, label: "nine years")
        let before = (b: PartnershipReport(state: try w.b1.state(), period: period), j: PartnershipReport(state: try w.j1.state(), period: period))
        let note = try w.b1.store.allEvents().filter { w.b1.keyring.open($0)?.payload.eventType == .contactNote }
        #expect(try note.count == 1 && ErasureTests.contains(try ErasureTests.storeBytes(w.b1), note[0].sealedPayload))

        let erased = try w.b1.applyRetention(now: t0)
        #expect(Set(erased.map(\.person)) == [w.seen7, w.quiet8])
        let state = try w.b1.state()
        #expect(state.people[w.seen7]?.erased?.reason == "retention" && state.people[w.seen7]?.name == nil)
        #expect(state.people[w.quiet8]?.erased != nil && state.people[w.casework2]?.name == "Casework")
        #expect(state.erasures.values.filter { $0.reason == RetentionPolicy.reason }.count == 2)
        #expect(!ErasureTests.contains(try ErasureTests.storeBytes(w.b1), note[0].sealedPayload))
        #expect(try w.due(w.b1).isEmpty)
        #expect(try w.b1.applyRetention(now: t0).isEmpty)

        // The other Basis laptop purges at its next exchange; Joanna's figures never move.
        try w.b1.send(to: w.b2)
        try w.b1.send(to: w.j1)
        #expect(try w.b2.state().people[w.seen7]?.name == nil)
        #expect(!ErasureTests.contains(try ErasureTests.storeBytes(w.b2), note[0].sealedPayload))
        #expect(PartnershipReport(state: try w.b1.state(), period: period) == before.b)
        #expect(PartnershipReport(state: try w.j1.state(), period: period) == before.j)
    }

    @Test func thePolicySyncsToItsOwnOrganisationAndTheLatestWins() throws {
        let w = try World()
        try w.b1.setRetention(months: 36, at: t0 - 2000)
        try w.b2.setRetention(months: 120, at: t0 - 1000)
        for (from, to) in [(w.b1, w.b2), (w.b2, w.b1), (w.b1, w.j1), (w.b2, w.j1)] { try from.send(to: to) }
        for log in [w.b1, w.b2] {
            let policy = try log.state().retentionPolicy(of: "basis")
            #expect(policy.months == 120 && policy.by == "b2")
        }
        // Joanna holds the events but cannot read them: its own policy is its default.
        #expect(try w.j1.state().retention.isEmpty)
        #expect(try w.due(w.b1).isEmpty)

        // Retracting the latest brings back the one before it; 3 years make the incident due (not the casework).
        let latest = try w.b2.store.allEvents().first { w.b2.keyring.open($0)?.payload.int("months") == 120 }!
        try w.b2.retract(latest, reason: .error, at: t0)
        try w.b2.send(to: w.b1)
        #expect(try w.b1.state().retentionPolicy(of: "basis").months == 36)
        #expect(try w.due(w.b1) == [w.seen7, w.quiet8, w.incident3])
    }

    /// A modified Basis client writes a policy of no time at all: if every laptop honoured it, the
    /// next unlock everywhere would erase everyone. The fold does not take it.
    @Test func aPolicyOutsideOneToAHundredYearsIsNotTaken() throws {
        let w = try World()
        #expect(throws: FieldlogError.self) { try w.b1.setRetention(months: 0, at: t0) }
        #expect(throws: FieldlogError.self) { try w.b1.setRetention(months: 11, at: t0) }
        for months: Int64 in [0, -5, 11, 1201] {
            try w.b1.store.append([Draft(Payload(type: .retentionSet, occurredAt: t0, author: "b1", fields: ["months": .int(months)]))], keyring: w.b1.keyring)
        }
        try w.b1.send(to: w.b2)
        #expect(try w.b2.state().retentionPolicy(of: "basis").months == RetentionPolicy.defaultMonths)
        #expect(try w.due(w.b2) == [w.seen7, w.quiet8])
    }

    @Test func periodsReadAsYearsOrMonthsNeverMinutes() throws {
        #expect(try RetentionPolicy.parseMonths("6y") == 72)
        #expect(try RetentionPolicy.parseMonths("18mo") == 18)
        for bad in ["18m", "3", "y", "-2y", "two years", "0y"] {
            #expect(throws: FieldlogError.self) { try RetentionPolicy.parseMonths(bad) }
        }
    }

    /// The run at the day's first unlock: once a day, and only on a laptop that synced in the last
    /// week (one that has not may lack a recent contact recorded elsewhere).
    @Test func theDailyRunNeedsARecentSyncAndRunsOncePerDay() throws {
        let w = try World()
        #expect(try w.b1.runDailyRetention(now: t0) == .notFresh(lastSync: nil, due: 2))
        try w.b1.store.rememberSync(serverVector: VersionVector(), at: t0 - 8 * 86_400_000)
        #expect(try w.b1.runDailyRetention(now: t0) == .notFresh(lastSync: t0 - 8 * 86_400_000, due: 2))
        #expect(try w.b1.state().erasures.isEmpty)

        try w.b1.store.rememberSync(serverVector: VersionVector(), at: t0 - 3_600_000)
        guard case .ran(let erased) = try w.b1.runDailyRetention(now: t0) else { Issue.record("retention did not run"); return }
        #expect(Set(erased.map(\.person)) == [w.seen7, w.quiet8])
        #expect(try w.b1.runDailyRetention(now: t0 + 3_600_000) == .alreadyRan)
        #expect(try w.b1.runDailyRetention(now: t0 + 86_400_000) == .ran([]))
    }
}
