/// One figure of a report: a measure, a category within it (a need, a service kind…) or none.
///
/// Every output format and disclosure control work on these: the table, CSV (one row per
/// period, organisation, measure and category), HTML and `--public` all read the same cells.
public struct ReportCell: Sendable, Hashable {
    public let measure: String
    public let category: String?

    public init(_ measure: String, _ category: String? = nil) {
        self.measure = measure
        self.category = category
    }
}

extension Report {
    /// The breakdown of a measure with categories (nil for a measure without).
    func breakdown(_ measure: String) -> [String: Int]? {
        switch measure {
        case "zones": zones
        case "needs": needs
        case "services": services
        case "referrals": referrals
        case "safeguarding": safeguarding
        case "incidents": incidentsByType
        default: nil
        }
    }

    /// The value of a cell (0 for a category this report has none of).
    public func value(_ cell: ReportCell) -> Int {
        if let category = cell.category {
            return breakdown(cell.measure)?[category] ?? 0
        }
        switch cell.measure {
        case "contacts": return contacts
        case "engaged": return engaged
        case "new": return new
        case "casework": return casework
        case "referrals.withOutcome": return referralsWithOutcome
        case "referrals.attended": return referralsAttended
        case "safeguarding.withoutConsent": return safeguardingWithoutConsent
        case "incidents": return incidents
        case "incidents.policeConsented": return policeConsented
        case "incidents.fullReports": return fullReports
        case "priorityGroup.size": return priorityGroup
        case "priorityGroup.joiners": return priorityJoiners
        case "priorityGroup.leavers": return priorityLeavers
        case "priorityGroup.withLeadProfessional": return priorityWithLead
        case "priorityGroup.overdueReviews": return overdueReviews
        default: return 0
        }
    }

    /// The categories this report has for a measure.
    func categories(of measure: String) -> [String] {
        Array((breakdown(measure) ?? [:]).keys)
    }
}

extension PartnershipReport {
    /// Every cell any column of these reports has, in display order: the fixed measures, and
    /// within each categorised measure its categories by merged value (largest first), then name.
    public static func cells(_ reports: [PartnershipReport]) -> [ReportCell] {
        let all = reports.flatMap { [$0.merged] + Array($0.byOrg.values) }
        func categories(_ measure: String) -> [ReportCell] {
            var total = [String: Int]()
            for r in all { for c in r.categories(of: measure) { total[c, default: 0] += r.value(ReportCell(measure, c)) } }
            return total.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ReportCell(measure, $0.key) }
        }
        var cells = ["contacts", "engaged", "new", "casework"].map { ReportCell($0) }
        cells += categories("zones") + categories("needs") + categories("services")
        cells += categories("referrals") + [ReportCell("referrals.withOutcome"), ReportCell("referrals.attended")]
        cells += categories("safeguarding") + [ReportCell("safeguarding.withoutConsent")]
        cells += [ReportCell("incidents")] + categories("incidents") + [ReportCell("incidents.policeConsented"), ReportCell("incidents.fullReports")]
        cells += ["size", "joiners", "leavers", "withLeadProfessional", "overdueReviews"].map { ReportCell("priorityGroup.\($0)") }
        return cells
    }

    /// The report's columns: merged first, then each organisation by name.
    public var columns: [(name: String, report: Report)] {
        [("merged", merged)] + byOrg.keys.sorted().map { ($0, byOrg[$0]!) }
    }
}

extension ReportCell {
    /// How the terminal table and the HTML page label the cell.
    public var label: String {
        if let category { return "  " + category.replacingOccurrences(of: "-", with: " ") }
        switch measure {
        case "contacts": return "outreach contacts"
        case "engaged": return "people engaged"
        case "new": return "  of whom new"
        case "casework": return "casework (people)"
        case "referrals.withOutcome": return "  referrals with a known outcome"
        case "referrals.attended": return "  of which attended"
        case "safeguarding.withoutConsent": return "  raised without consent"
        case "incidents": return "incidents"
        case "incidents.policeConsented": return "  consented to police (L2, L3)"
        case "incidents.fullReports": return "  full reports (L3)"
        case "priorityGroup.size": return "priority group"
        case "priorityGroup.joiners": return "  joined"
        case "priorityGroup.leavers": return "  left"
        case "priorityGroup.withLeadProfessional": return "  with a lead professional"
        case "priorityGroup.overdueReviews": return "  reviews overdue"
        default: return measure
        }
    }

    /// The heading printed above the first cell of a measure with categories.
    public var section: String? {
        switch measure.split(separator: ".").first.map(String.init) {
        case "zones": return "outreach contacts by zone"
        case "needs": return "needs (people)"
        case "services": return "services (items given)"
        case "referrals": return "referrals"
        case "safeguarding": return "safeguarding concerns"
        default: return nil  // incidents: under their total
        }
    }
}
