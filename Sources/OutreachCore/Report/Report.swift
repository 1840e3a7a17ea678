/// The counts of DESIGN §8 over one device's log (definitions with worked examples: `docs/reports.md`).
public struct Report: Sendable, Equatable {
    public static let schemaVersion = 1

    public var period: ReportPeriod
    /// Outreach contacts (van, foot): one per identified person, plus N for "N people seen, not identified".
    public var contacts = 0
    /// Distinct identified people with an outreach contact in the period.
    public var engaged = 0
    /// Engaged people whose first ever contact (any setting) is in the period.
    public var new = 0
    /// Distinct people with an open case or a casework contact in the period.
    public var casework = 0
    /// Outreach contacts (counted as `contacts` is) per zone they were in; those given no zone
    /// under `Report.noZone`. They add up to `contacts`.
    public var zones: [String: Int] = [:]
    /// Distinct people per need, over contacts of any setting.
    public var needs: [String: Int] = [:]
    /// Items given per kind, over contacts of any setting.
    public var services: [String: Int] = [:]
    public var referrals: [String: Int] = [:]
    public var referralsWithOutcome = 0
    public var referralsAttended = 0
    public var safeguarding: [String: Int] = [:]
    public var safeguardingWithoutConsent = 0
    public var incidentsByType: [String: Int] = [:]
    public var incidents = 0
    /// Incidents the woman consented to share with police (L2 or L3).
    public var policeConsented = 0
    public var fullReports = 0
    public var priorityGroup = 0
    public var priorityJoiners = 0
    public var priorityLeavers = 0
    public var priorityWithLead = 0
    public var overdueReviews = 0

    /// Which organisation's work this report counts (nil: the whole partnership, people once).
    public var org: String?

    /// An empty report (every figure 0) of `period`.
    init(period: ReportPeriod, org: String? = nil) {
        self.period = period
        self.org = org
    }

    /// Computes the report over a folded state: everyone's work, or one organisation's
    /// (`docs/reports.md` says how each measure is attributed).
    public init(state: FieldState, period: ReportPeriod, org: String? = nil) {
        self.init(index: ReportIndex(state), period: period, org: org)
    }

    /// The same from an index built once (a trend, or merged and by-organisation reports, share
    /// one; it may come from the sealed snapshot instead of a fold).
    public init(index: ReportIndex, period: ReportPeriod, org: String? = nil) {
        precondition(index.covers(period), "a report of a period whose contacts the index was not loaded with")
        self.period = period
        self.org = org
        func ours(_ o: String) -> Bool { org == nil || o == org }
        /// Whether a register's live writes say `value`, by a write of ours.
        func says(_ register: RegisterState, _ value: String) -> Bool { register.live.contains { $0.value == .string(value) && ours($0.org) } }

        // Contacts: columns, one period's slice of them.
        let orgIndex = org.map { index.words.firstIndex(of: $0).map(UInt32.init) ?? .max }
        var engagedPeople = Set<UInt32>()
        var needPeople = [UInt32: Set<UInt32>]()
        var caseworkIDs = Set<UInt32>()
        var serviceTotals = [UInt32: Int]()
        var zoneTotals = [UInt32: Int]()
        for page in index.pages {
            for i in page.range(period) {
                if let orgIndex, page.org[i] != orgIndex { continue }
                let p = page.person[i] == ReportIndex.nobody ? ReportIndex.nobody : index.canonical[Int(page.person[i])]
                let setting = page.setting[i]
                if index.outreachWords.contains(setting) {
                    let counted = p == ReportIndex.nobody ? Int(page.unidentified[i]) : 1
                    contacts += counted
                    zoneTotals[page.zone[i], default: 0] += counted
                    if p != ReportIndex.nobody { engagedPeople.insert(p) }
                }
                if p != ReportIndex.nobody {
                    if setting == index.caseworkWord { caseworkIDs.insert(p) }
                    for n in page.needs[Int(page.needsStart[i])..<Int(page.needsStart[i + 1])] { needPeople[n, default: []].insert(p) }
                }
                for k in Int(page.servicesStart[i])..<Int(page.servicesStart[i + 1]) { serviceTotals[page.serviceKind[k], default: 0] += Int(page.serviceCount[k]) }
            }
        }
        engaged = engagedPeople.count
        let first = orgIndex.map { index.firstContactByOrg[$0] ?? [] } ?? index.firstContact
        new = engagedPeople.filter { Int($0) < first.count && period.contains(first[Int($0)]) }.count
        needs = Dictionary(uniqueKeysWithValues: needPeople.map { (index.words[Int($0.key)], $0.value.count) })
        services = Dictionary(uniqueKeysWithValues: serviceTotals.map { (index.words[Int($0.key)], $0.value) })
        zones = Dictionary(uniqueKeysWithValues: zoneTotals.filter { $0.value > 0 }.map {
            ($0.key == ReportIndex.nobody ? Report.noZone : index.words[Int($0.key)], $0.value)
        })
        var caseworkPeople = Set(caseworkIDs.map { index.people[Int($0)] })

        for (person, registers) in index.registerWrites {
            let asOfStart = RegisterState(writes: (registers[.casework] ?? []).filter { $0.occurredAt < period.start })
            let openedDuring = (registers[.casework] ?? []).contains { period.contains($0.occurredAt) && $0.value == "open" && ours($0.org) }
            if says(asOfStart, "open") || openedDuring { caseworkPeople.insert(person) }

            func asOf(_ register: Register, _ time: Int64) -> RegisterState {
                RegisterState(writes: (registers[register] ?? []).filter { $0.occurredAt <= time })
            }
            let atStart = asOf(.priority, period.start - 1)
            let atEnd = asOf(.priority, period.end - 1)
            if says(atEnd, "in") {
                priorityGroup += 1
                if !atStart.live.contains(where: { $0.value == "in" }) { priorityJoiners += 1 }
                if let lead = asOf(.lead, period.end - 1).value?.stringValue, !lead.isEmpty { priorityWithLead += 1 }
                if let review = asOf(.risk, period.end - 1).live.compactMap(\.review).min(), review < period.end {
                    overdueReviews += 1
                }
            } else if says(atStart, "in") && !atEnd.live.contains(where: { $0.value == "in" }) {
                priorityLeavers += 1
            }
        }
        casework = caseworkPeople.count

        for r in index.referrals where period.contains(r.occurredAt) && ours(r.org) {
            referrals[r.destination.rawValue, default: 0] += 1
            if let outcome = r.outcome, outcome != .known(.waiting) {
                referralsWithOutcome += 1
                if outcome == .known(.attended) { referralsAttended += 1 }
            }
        }
        for s in index.concerns where period.contains(s.occurredAt) && ours(s.org) {
            safeguarding[s.category.rawValue, default: 0] += 1
            if !s.withConsent { safeguardingWithoutConsent += 1 }
        }
        for i in index.incidentFacts where period.contains(i.occurredAt) && ours(i.org) {
            incidents += 1
            incidentsByType[i.kind.rawValue, default: 0] += 1
            if i.consent >= .l2 { policeConsented += 1 }
            if i.consent == .l3 { fullReports += 1 }
        }
    }

    /// The category of outreach contacts given no zone (zone names are a word without spaces).
    public static let noZone = "no zone"

    /// Percentage rounded to a whole number, or nil when there is nothing to divide by.
    public static func percent(_ part: Int, of whole: Int) -> Int? {
        whole == 0 ? nil : Int((Double(part) * 100 / Double(whole)).rounded())
    }
}

extension Report {
    /// `--format json`: versioned, documented in `docs/json-output.md`.
    public var json: JSONValue {
        var o = countsJSON.objectValue ?? [:]
        o["schema"] = .string("fieldlog.report/\(Report.schemaVersion)")
        o["period"] = period.json
        return .object(o)
    }

    /// The counts alone: the shape of the local report, and of `merged` and each `byOrg` entry.
    public var countsJSON: JSONValue {
        let cells = self.cells
        return Report.countsJSON(cells: cells, value: { .int(Int64(value(cells[$0]))) }, percent: { percent($0) })
    }
}

/// The coordinators' report (DESIGN §8): the partnership's merged counts, people once, and each
/// organisation's own. Any laptop of the partnership that holds the same partnership events
/// computes the same figures: they rest only on partnership-scope events (incidents through
/// their summaries).
public struct PartnershipReport: Sendable, Equatable {
    public static let schemaVersion = 1

    public let period: ReportPeriod
    public let merged: Report
    public let byOrg: [String: Report]

    /// `orgs`: the organisations to show apart (default: every one the log mentions).
    public init(state: FieldState, period: ReportPeriod, orgs: [String]? = nil) {
        self.init(index: ReportIndex(state), period: period, orgs: orgs)
    }

    /// The figures as given (tests).
    init(period: ReportPeriod, merged: Report, byOrg: [String: Report]) {
        self.period = period
        self.merged = merged
        self.byOrg = byOrg
    }

    public init(index: ReportIndex, period: ReportPeriod, orgs: [String]? = nil) {
        self.period = period
        merged = Report(index: index, period: period)
        let names = orgs ?? index.organisations
        byOrg = Dictionary(uniqueKeysWithValues: names.map { ($0, Report(index: index, period: period, org: $0)) })
    }

    /// Every organisation whose work the log holds, sorted.
    public static func organisations(in state: FieldState) -> [String] {
        var orgs = Set(state.contacts.values.map(\.org))
        orgs.formUnion(state.people.values.map(\.org))
        orgs.formUnion(state.referrals.values.map(\.org))
        orgs.formUnion(state.safeguarding.values.map(\.org))
        orgs.formUnion(state.incidentSummaries.values.map(\.org))
        orgs.formUnion(state.incidents.values.map(\.org))
        orgs.remove("")
        return orgs.sorted()
    }

    /// `--format json` (`docs/json-output.md`): `merged` and `byOrg` carry the local report's counts.
    public var json: JSONValue {
        [
            "schema": .string("fieldlog.partnership-report/\(PartnershipReport.schemaVersion)"),
            "period": period.json,
            "merged": merged.countsJSON,
            "byOrg": .object(byOrg.mapValues(\.countsJSON)),
        ]
    }
}

