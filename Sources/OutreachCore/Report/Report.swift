/// A reporting period: a half-open range of London time.
public struct ReportPeriod: Sendable, Equatable {
    public let start: Int64
    public let end: Int64
    /// `2026-11` or `2026-11-01..2026-11-30`.
    public let label: String

    public init(start: Int64, end: Int64, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }

    public func contains(_ t: Int64) -> Bool { t >= start && t < end }
}

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

    /// Computes the report over a folded state.
    public init(state: FieldState, period: ReportPeriod) {
        self.period = period
        var engagedPeople = Set<String>()
        var needPeople = [String: Set<String>]()
        var caseworkPeople = Set<String>()
        var firstContact = [String: Int64]()
        for c in state.contacts.values {
            if let p = c.person { firstContact[p] = min(firstContact[p] ?? .max, c.occurredAt) }
            guard period.contains(c.occurredAt) else { continue }
            let setting = Setting(rawValue: c.setting)
            if setting?.isOutreach == true {
                contacts += c.person == nil ? c.unidentified : 1
                if let p = c.person { engagedPeople.insert(p) }
            }
            if setting == .casework, let p = c.person { caseworkPeople.insert(p) }
            if let p = c.person { for n in c.needs { needPeople[n, default: []].insert(p) } }
            for (kind, n) in c.services { services[kind, default: 0] += n }
        }
        engaged = engagedPeople.count
        new = engagedPeople.filter { firstContact[$0].map(period.contains) == true }.count
        needs = needPeople.mapValues(\.count)

        for (person, registers) in state.registerWrites {
            let asOfStart = RegisterState(writes: (registers[.casework] ?? []).filter { $0.occurredAt < period.start })
            let openedDuring = (registers[.casework] ?? []).contains { period.contains($0.occurredAt) && $0.value == "open" }
            if asOfStart.live.contains(where: { $0.value == "open" }) || openedDuring { caseworkPeople.insert(person) }

            let inAtStart = state.register(.priority, of: person, asOf: period.start - 1).live.contains { $0.value == "in" }
            let inAtEnd = state.register(.priority, of: person, asOf: period.end - 1).live.contains { $0.value == "in" }
            if inAtEnd {
                priorityGroup += 1
                if !inAtStart { priorityJoiners += 1 }
                if let lead = state.register(.lead, of: person, asOf: period.end - 1).value?.stringValue, !lead.isEmpty { priorityWithLead += 1 }
                if let review = state.register(.risk, of: person, asOf: period.end - 1).live.compactMap(\.review).min(), review < period.end {
                    overdueReviews += 1
                }
            } else if inAtStart {
                priorityLeavers += 1
            }
        }
        casework = caseworkPeople.count

        for r in state.referrals.values where period.contains(r.occurredAt) {
            referrals[r.destination, default: 0] += 1
            if let outcome = r.outcome?.value?.stringValue, outcome != ReferralOutcomeKind.waiting.rawValue {
                referralsWithOutcome += 1
                if outcome == ReferralOutcomeKind.attended.rawValue { referralsAttended += 1 }
            }
        }
        for s in state.safeguarding.values where period.contains(s.occurredAt) {
            safeguarding[s.category, default: 0] += 1
            if !s.withConsent { safeguardingWithoutConsent += 1 }
        }
        for i in state.incidents.values where period.contains(i.occurredAt) {
            incidents += 1
            incidentsByType[i.kind, default: 0] += 1
            if i.consent >= .l2 { policeConsented += 1 }
            if i.consent == .l3 { fullReports += 1 }
        }
    }

    /// Percentage rounded to a whole number, or nil when there is nothing to divide by.
    public static func percent(_ part: Int, of whole: Int) -> Int? {
        whole == 0 ? nil : Int((Double(part) * 100 / Double(whole)).rounded())
    }
}

extension Report {
    /// `--format json`: versioned, documented in `docs/json-output.md`.
    public var json: JSONValue {
        func object(_ d: [String: Int]) -> JSONValue { .object(d.mapValues { .int(Int64($0)) }) }
        return [
            "schema": .string("fieldlog.report/\(Report.schemaVersion)"),
            "period": ["label": .string(period.label), "start": .string(LondonTime().iso(period.start)), "end": .string(LondonTime().iso(period.end))],
            "contacts": .int(Int64(contacts)), "engaged": .int(Int64(engaged)), "new": .int(Int64(new)),
            "casework": .int(Int64(casework)), "needs": object(needs), "services": object(services),
            "referrals": ["byDestination": object(referrals), "withOutcome": .int(Int64(referralsWithOutcome)),
                          "attended": .int(Int64(referralsAttended)),
                          "attendedPercent": Report.percent(referralsAttended, of: referralsWithOutcome).map { .int(Int64($0)) } ?? .null],
            "safeguarding": ["byCategory": object(safeguarding), "withoutConsent": .int(Int64(safeguardingWithoutConsent))],
            "incidents": ["total": .int(Int64(incidents)), "byType": object(incidentsByType),
                          "policeConsented": .int(Int64(policeConsented)), "fullReports": .int(Int64(fullReports))],
            "priorityGroup": ["size": .int(Int64(priorityGroup)), "joiners": .int(Int64(priorityJoiners)),
                              "leavers": .int(Int64(priorityLeavers)), "withLeadProfessional": .int(Int64(priorityWithLead)),
                              "overdueReviews": .int(Int64(overdueReviews))],
        ]
    }
}
