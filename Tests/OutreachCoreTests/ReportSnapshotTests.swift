import Foundation
import Testing
@testable import OutreachCore

/// The sealed report snapshot (`ReportIndex.load`): read back only while the store is
/// unchanged, never in clear, and a damaged one costs a fold, nothing else.
@Suite struct ReportSnapshotTests {
    @Test func theSnapshotRoundTripsAndIsUsedOnlyWhileNothingChanged() throws {
        let dir = TempDir()
        let f = try PartnershipReportTests().fixture(in: dir)
        let log = f.basis
        let fresh = ReportIndex(try log.state())
        let pages = fresh.pages.count
        let head = ReportIndex.Head(index: fresh, mark: "mark", row: 7, pageRows: Array(repeating: 7, count: pages),
                                    pageSegments: fresh.pages.map { $0.bySegment().map(\.segment) })
        let decoded = try ReportIndex.Head(decoding: head.encoded())
        #expect(decoded.mark == "mark" && decoded.row == 7 && decoded.pageSegments == head.pageSegments)
        #expect(decoded.index.words == fresh.words && decoded.index.people == fresh.people && decoded.index.firsts == fresh.firsts)
        #expect(decoded.index.smallParts == fresh.smallParts)

        let nov = try ReportPeriod.month("2026-11")
        let first = try log.reportIndex()
        #expect(first.source == .state)
        let second = try log.reportIndex()
        #expect(second.source == .snapshot && second.index == first.index)
        let folded = PartnershipReport(state: try log.state(), period: nov)
        #expect(PartnershipReport(index: second.index, period: nov) == folded)

        // A new event: the snapshot is stale; the next report makes the columns of its page
        // (nobody identified) again, and counts it.
        try log.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: nov.start + 3_600_000)
        let third = try log.reportIndex()
        #expect(third.source == .updated(pages: 1))
        #expect(PartnershipReport(index: third.index, period: nov) == PartnershipReport(state: try log.state(), period: nov))
        #expect(PartnershipReport(index: third.index, period: nov).merged.contacts == 12)
        #expect(try log.reportIndex().source == .snapshot)

        // An event stored beyond a gap leaves the vector as it was; the snapshot still goes stale.
        let other = try TestKeys.log("basis", device: "b9", in: dir.sub("b9"))
        try other.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: nov.start)
        let later = try other.logContact(NewContact(person: nil, unidentified: 4, setting: .van), at: nov.start + 1).contact
        let vectorBefore = try log.store.vector()
        try log.store.importEvents([later], certificates: try other.store.roster().certificates, from: .carried("test"), keyring: log.keyring)
        #expect(try log.store.vector() == vectorBefore)
        let beyondGap = try log.reportIndex()
        #expect(beyondGap.source == .updated(pages: 1) && PartnershipReport(index: beyondGap.index, period: nov).merged.contacts == 16)
        #expect(try log.reportIndex().source == .snapshot)

        // Nothing of it in clear in the store's files ("drugs" is a word the snapshot holds).
        for file in try FileManager.default.contentsOfDirectory(at: log.store.directory, includingPropertiesForKeys: nil) {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: Data("drugs".utf8)) == nil, "\(file.lastPathComponent)")
        }

        // A damaged snapshot is ignored: the report folds, as if there were none.
        try log.store.setCache(ReportIndex.cacheName, Data(repeating: 7, count: 64))
        let healed = try log.reportIndex()
        #expect(healed.source == .state && PartnershipReport(index: healed.index, period: nov) == PartnershipReport(index: beyondGap.index, period: nov))
        // A truncated or inconsistent body is refused by the decoder itself.
        let good = head.encoded()
        #expect(throws: FieldlogError.self) { try ReportIndex.Head(decoding: good.prefix(good.count / 2)) }
    }

    /// Registers people until two of them are on different contact pages.
    static func twoPeopleOnDifferentPages(_ log: FieldLog, at: Int64) throws -> [String] {
        var people = [String]()
        while people.count < 2 {
            let p = try log.registerPerson(name: "P\(people.count)", at: at).person
            if people.allSatisfy({ Fold.contactPage($0) != Fold.contactPage(p) }) { people.append(p) }
        }
        return people
    }

    /// A report of a month reads the head and the segments the month touches, not a year of
    /// contacts; a change rewrites only the pages it reaches.
    @Test func aMonthsReportReadsOnlyItsSegmentsAndAChangeRewritesOnlyItsPages() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let jan = try ReportPeriod.month("2026-01")
        let people = try Self.twoPeopleOnDifferentPages(log, at: jan.start)
        // Given a year of contacts, one a month with each of two women on different pages
        var march: Event?
        for m in 0..<12 {
            let at = jan.start + Int64(m) * 30 * 86_400_000 + 3_600_000
            let first = try log.logContact(NewContact(person: people[0], setting: .van), at: at).contact
            try log.logContact(NewContact(person: people[1], setting: .foot), at: at + 1)
            if m == 2 { march = first }
        }
        #expect(try log.reportIndex().source == .state)
        // When the coordinator asks for November
        let nov = try ReportPeriod.month("2026-11"), mar = try ReportPeriod.month("2026-03")
        let (index, source) = try log.reportIndex(covering: [nov])
        #expect(source == .snapshot && index.loadedSegments == Set(ReportIndex.segments(nov)))
        #expect(index.covers(nov) && !index.covers(mar))
        let loaded = index.pages.map(\.at.count).reduce(0, +)
        #expect(loaded >= 2 && loaded <= 8, "\(loaded) of 24 contacts read")
        #expect(PartnershipReport(index: index, period: nov) == PartnershipReport(state: try log.state(), period: nov))
        // Everyone's first contact still counts: nobody is new in November
        #expect(PartnershipReport(index: index, period: nov).merged.new == 0 && PartnershipReport(index: index, period: nov).merged.engaged == 2)

        // When March's contact with the first woman is retracted, only her page is written again
        let before = try ReportIndex.readHead(store: log.store, keyring: log.keyring)
        try log.retract(try #require(march), reason: .error, at: nov.start)
        let (afterIndex, afterSource) = try log.reportIndex(covering: [mar])
        #expect(afterSource == .updated(pages: 1))
        let after = try ReportIndex.readHead(store: log.store, keyring: log.keyring)
        let rewritten = zip(before.pageRows, after.pageRows).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(rewritten == [Fold.contactPage(people[0])])
        #expect(PartnershipReport(index: afterIndex, period: mar).merged.contacts == 1)
        #expect(PartnershipReport(index: try log.reportIndex(covering: [mar]).index, period: mar) == PartnershipReport(state: try log.state(), period: mar))
    }

    /// After a retraction, a correction or a link, only the pages they reach are made again, and
    /// the report is the report of a fold from scratch.
    @Test func anAmendmentSinceMakesOnlyThePagesItReachesAgain() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let nov = try ReportPeriod.month("2026-11")
        let people = try Self.twoPeopleOnDifferentPages(log, at: nov.start)
        let (a, b) = (people[0], people[1])
        let first = try log.logContact(NewContact(person: a, setting: .van), at: nov.start + 1).contact
        try log.logContact(NewContact(person: a, setting: .van), at: nov.start + 2)
        let second = try log.logContact(NewContact(person: b, setting: .foot), at: nov.start + 3).contact
        #expect(try log.reportIndex().source == .state)
        func check(_ expected: ReportIndex.Source, _ what: String) throws {
            let (index, source) = try log.reportIndex()
            #expect(source == expected, "\(what)")
            let scratch = Fold.fold(try log.store.allEvents(), keyring: log.keyring)
            #expect(PartnershipReport(index: index, period: nov) == PartnershipReport(state: scratch, period: nov), "\(what)")
        }
        try log.retract(first, reason: .error, at: nov.start + 4)
        try check(.updated(pages: 1), "a retraction: her page")
        try log.correct(second, fields: ["person": .string(a)], reason: "wrong person", at: nov.start + 5)
        try check(.updated(pages: 2), "a correction of the person: both pages")
        try log.link(a, b, at: nov.start + 6)
        try check(.updated(pages: 0), "a link: no page")
        #expect(PartnershipReport(index: try log.reportIndex().index, period: nov).merged.engaged == 1)
    }

    /// Reports from the snapshots (the state snapshot brought up to date event by event, and the
    /// report index made from it) must give exactly what a fold from scratch gives, over
    /// random evenings of both charities (contacts dated before ones already held, people known
    /// under a linked id, outcomes, concerns, incidents, now and then a retraction or a link).
    @Test func reportsFromTheSnapshotsGiveWhatAFoldFromScratchGives() throws {
        let time = LondonTime()
        let start = try time.parse("2026-10-01 00:00", now: 0)
        let periods = try ["2026-10", "2026-11", "2026-12"].map { try ReportPeriod.month($0) } + [try ReportPeriod.quarter("2026-Q4")]
        var updated = 0
        for seed in propertySeeds(6) {
            var rng = SeededRNG(seed: seed)
            let dir = TempDir()
            let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
            let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
            var people = [try basis.registerPerson(name: "A", at: start).person, try basis.registerPerson(name: "B", at: start).person]
            let alias = try joanna.registerPerson(name: "B2", at: start).person
            try joanna.link(alias, people[1], at: start)
            people += [alias, try joanna.registerPerson(name: "C", at: start).person]
            try joanna.logContact(NewContact(person: people[3], setting: .van), at: start + 1)
            try basis.send(to: joanna)
            try joanna.send(to: basis)
            #expect(try basis.reportIndex().source == .state)
            var referrals = [EventID]()
            var written = [(FieldLog, Event)]()

            for round in 0..<6 {
                let structural = round > 0 && Int.random(in: 0..<4, using: &rng) == 0
                for _ in 0..<Int.random(in: 1...12, using: &rng) {
                    let log = Bool.random(using: &rng) ? basis : joanna
                    let person = people.randomElement(using: &rng)!
                    let at = start + Int64.random(in: 0..<(92 * 86_400_000), using: &rng)
                    switch Int.random(in: 0..<7, using: &rng) {
                    case 0...2:
                        let identified = Bool.random(using: &rng)
                        var c = NewContact(person: identified ? person : nil, unidentified: identified ? 0 : Int.random(in: 1...3, using: &rng),
                                           setting: [.van, .foot, .dropIn, .casework].randomElement(using: &rng)!)
                        c.needs = Set(Need.allCases.shuffled(using: &rng).prefix(Int.random(in: 0...2, using: &rng)))
                        c.services = [.condoms: Int.random(in: 1...20, using: &rng)]
                        if Int.random(in: 0..<3, using: &rng) == 0 { c.referrals = [.housing] }
                        let logged = try log.logContact(c, at: at)
                        referrals += logged.referrals.map(\.id)
                        written.append((log, logged.contact))
                    case 3:
                        let register = Register.allCases.randomElement(using: &rng)!
                        let value: JSONValue = switch register {
                        case .risk: .string(["low", "high"].randomElement(using: &rng)!)
                        case .priority: .string(["in", "out"].randomElement(using: &rng)!)
                        case .lead: "Sam"
                        case .casework: .string(["open", "closed"].randomElement(using: &rng)!)
                        }
                        try log.setRegister(register, of: person, to: value, review: at + 86_400_000, at: at)
                    case 4:
                        let state = try log.state()
                        guard let referral = referrals.filter({ state.referrals[$0] != nil }).randomElement(using: &rng) else { continue }
                        try log.recordReferralOutcome(referral, [.attended, .declined, .waiting].randomElement(using: &rng)!, state: state, at: at)
                    case 5:
                        try log.raiseSafeguarding(person: person, category: .exploitation, action: nil, withConsent: Bool.random(using: &rng),
                                                  reason: "risk", at: at)
                    default:
                        try log.reportIncident(NewIncident(person: nil, kind: .robbery, consent: ConsentLevel.allCases.randomElement(using: &rng)!),
                                               at: at, now: at)
                    }
                }
                if structural {
                    if Bool.random(using: &rng), let (log, event) = written.randomElement(using: &rng), event.org == log.keyring.org {
                        try log.retract(event, reason: .error, at: start)
                    } else {
                        try basis.link(people[0], people[3], at: start)
                    }
                }
                try basis.send(to: joanna)
                try joanna.send(to: basis)

                for log in [basis, joanna] {
                    // Now and then a report of one period: only the segments it touches are read.
                    let asked = Bool.random(using: &rng) ? nil : [periods.randomElement(using: &rng)!]
                    let (index, source) = try log.reportIndex(covering: asked)
                    #expect((index.loadedSegments == nil) == (asked == nil || source == .state), "seed \(seed), round \(round)")
                    let fresh = ReportIndex(Fold.fold(try log.store.allEvents(), keyring: log.keyring))
                    for period in asked ?? periods {
                        #expect(PartnershipReport(index: index, period: period) == PartnershipReport(index: fresh, period: period),
                                "seed \(seed), round \(round), \(log.keyring.org), \(period.label), \(source)")
                    }
                    if log.keyring.org == "basis" {
                        #expect(source != .snapshot, "seed \(seed), round \(round): \(source)")
                    }
                    if case .updated = source { updated += 1 }
                }
            }
        }
        // Most reports were the snapshot brought up to date, page by page.
        #expect(updated > propertySeeds(6).count * 4, "\(updated)")
    }
}
