/// Every figure a report has, named once (definitions: `docs/reports.md`; JSON: `docs/json-output.md`).
///
/// The terminal table, CSV, HTML and both JSON forms (exact and `--public`) are all written by
/// going through `Measure.allCases`, so a measure added here reaches every format, and no format
/// can spell one differently from another. The order of the cases is the display order.
public enum Measure: CaseIterable, Sendable, Hashable {
    case contacts, engaged, new, casework
    case zones, needs, services
    case referrals, referralsWithOutcome, referralsAttended, referralsAttendedPercent
    case safeguarding, safeguardingWithoutConsent
    case incidents, incidentsByType, policeConsented, fullReports, policeConsentedPercent
    case prioritySize, priorityJoiners, priorityLeavers, priorityWithLead, overdueReviews

    /// What a measure's figures are.
    public enum Kind: Sendable, Hashable {
        /// One number.
        case count
        /// A number per category (a need, a zone, a destination…).
        case breakdown
        /// `part` as a whole-number percentage of `whole`, derived, never counted.
        case percent(part: Measure, whole: Measure)
    }

    public var kind: Kind {
        switch self {
        case .zones, .needs, .services, .referrals, .safeguarding, .incidentsByType: .breakdown
        case .referralsAttendedPercent: .percent(part: .referralsAttended, whole: .referralsWithOutcome)
        case .policeConsentedPercent: .percent(part: .policeConsented, whole: .incidents)
        default: .count
        }
    }

    /// Where the measure sits in a report's JSON counts (`docs/json-output.md`).
    public var jsonPath: [String] {
        switch self {
        case .contacts: ["contacts"]
        case .engaged: ["engaged"]
        case .new: ["new"]
        case .casework: ["casework"]
        case .zones: ["zones"]
        case .needs: ["needs"]
        case .services: ["services"]
        case .referrals: ["referrals", "byDestination"]
        case .referralsWithOutcome: ["referrals", "withOutcome"]
        case .referralsAttended: ["referrals", "attended"]
        case .referralsAttendedPercent: ["referrals", "attendedPercent"]
        case .safeguarding: ["safeguarding", "byCategory"]
        case .safeguardingWithoutConsent: ["safeguarding", "withoutConsent"]
        case .incidents: ["incidents", "total"]
        case .incidentsByType: ["incidents", "byType"]
        case .policeConsented: ["incidents", "policeConsented"]
        case .fullReports: ["incidents", "fullReports"]
        case .policeConsentedPercent: ["incidents", "policeConsentedPercent"]
        case .prioritySize: ["priorityGroup", "size"]
        case .priorityJoiners: ["priorityGroup", "joiners"]
        case .priorityLeavers: ["priorityGroup", "leavers"]
        case .priorityWithLead: ["priorityGroup", "withLeadProfessional"]
        case .overdueReviews: ["priorityGroup", "overdueReviews"]
        }
    }

    /// The name in CSV's `measure` column (`docs/reports.md`, "Formats"): a breakdown's rows carry
    /// its categories in the `category` column, and incidents by type share the name of their total.
    public var name: String {
        switch self {
        case .referrals, .safeguarding, .incidents, .incidentsByType: jsonPath[0]
        default: jsonPath.joined(separator: ".")
        }
    }

    /// How the terminal table and the HTML page label the measure's row (indented: a part of the
    /// row above). A breakdown's rows are labelled by their categories, under `section`.
    public var label: String {
        switch self {
        case .contacts: "outreach contacts"
        case .engaged: "people engaged"
        case .new: "  of whom new"
        case .casework: "casework (people)"
        case .zones: "outreach contacts by zone"
        case .needs: "needs (people)"
        case .services: "services (items given)"
        case .referrals: "referrals"
        case .referralsWithOutcome: "  referrals with a known outcome"
        case .referralsAttended: "  of which attended"
        case .referralsAttendedPercent: "referrals attended (%)"
        case .safeguarding: "safeguarding concerns"
        case .safeguardingWithoutConsent: "  raised without consent"
        case .incidents: "incidents"
        case .incidentsByType: "incidents by type"
        case .policeConsented: "  consented to police (L2, L3)"
        case .fullReports: "  full reports (L3)"
        case .policeConsentedPercent: "incidents consented to police (%)"
        case .prioritySize: "priority group"
        case .priorityJoiners: "  joined"
        case .priorityLeavers: "  left"
        case .priorityWithLead: "  with a lead professional"
        case .overdueReviews: "  reviews overdue"
        }
    }

    /// The heading printed above the first row of its group: a breakdown's own label, and the
    /// counts that follow a breakdown's categories sit under it too (nil: no heading; incidents
    /// by type sit under their total).
    public var section: String? {
        switch self {
        case .zones, .needs, .services, .referrals, .safeguarding: label
        case .referralsWithOutcome, .referralsAttended: Measure.referrals.label
        case .safeguardingWithoutConsent: Measure.safeguarding.label
        default: nil
        }
    }

    /// For a breakdown whose categories add up to a count, that count: disclosure control must
    /// not let a hidden category be worked out from the total (`docs/reports.md`).
    public var partsOf: Measure? {
        switch self {
        case .zones: .contacts
        case .incidentsByType: .incidents
        default: nil
        }
    }

    /// The measures of one kind, in display order.
    public static let breakdowns = allCases.filter { $0.kind == .breakdown }
    public static let percents = allCases.filter { if case .percent = $0.kind { true } else { false } }
}

extension Report {
    /// The value of a count measure (0 for any other).
    public func count(_ measure: Measure) -> Int {
        switch measure {
        case .contacts: contacts
        case .engaged: engaged
        case .new: new
        case .casework: casework
        case .referralsWithOutcome: referralsWithOutcome
        case .referralsAttended: referralsAttended
        case .safeguardingWithoutConsent: safeguardingWithoutConsent
        case .incidents: incidents
        case .policeConsented: policeConsented
        case .fullReports: fullReports
        case .prioritySize: priorityGroup
        case .priorityJoiners: priorityJoiners
        case .priorityLeavers: priorityLeavers
        case .priorityWithLead: priorityWithLead
        case .overdueReviews: overdueReviews
        default: 0
        }
    }

    /// The categories of a breakdown measure (empty for any other).
    public func breakdown(_ measure: Measure) -> [String: Int] {
        switch measure {
        case .zones: zones
        case .needs: needs
        case .services: services
        case .referrals: referrals
        case .safeguarding: safeguarding
        case .incidentsByType: incidentsByType
        default: [:]
        }
    }

    /// A percent measure worked out from its part and whole (nil for nothing to divide by, or for
    /// any other measure); `publish` applies the public rule (a denominator of 20 or more).
    public func percent(_ measure: Measure, publish: Bool = false) -> Int? {
        guard case .percent(let part, let whole) = measure.kind else { return nil }
        return (publish ? PartnershipReport.publicPercent(_:of:) : Report.percent(_:of:))(count(part), count(whole))
    }
}
