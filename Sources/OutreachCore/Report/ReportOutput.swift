/// The report formats that leave the terminal: JSON for other tools and tidy CSV for a
/// spreadsheet (`docs/reports.md`, "Formats"). Both read the same tables as the terminal and
/// HTML outputs, so `--public` applies to all of them alike.
public struct ReportOutput: Sendable {
    public let reports: [PartnershipReport]
    public let isPublic: Bool
    /// Every row any period or column has, in display order.
    public let cells: [ReportCell]
    /// One table per report (period), under disclosure control when public.
    public let tables: [PublicTable]

    public init(_ reports: [PartnershipReport], isPublic: Bool) {
        self.reports = reports
        self.isPublic = isPublic
        cells = PartnershipReport.cells(reports)
        tables = reports.map { [cells] in $0.table(cells: cells, isPublic: isPublic) }
    }

    /// Derived percentages, per report and column: referrals attended (of those with a known
    /// outcome) and incidents consented to police (of all). Public: only over 20 or more.
    public func percentages(_ index: Int) -> [(column: String, attended: Int?, consented: Int?)] {
        reports[index].columns.map { column in
            let r = column.report
            let percent = isPublic ? PartnershipReport.publicPercent : Report.percent
            return (column.name, percent(r.referralsAttended, r.referralsWithOutcome), percent(r.policeConsented, r.incidents))
        }
    }

    /// Tidy CSV: one row per period, organisation ("merged" for the partnership), measure and
    /// category; the value is a number, or "<8" and "x" under `--public`.
    public var csv: String {
        var lines = ["period,start,end,org,measure,category,value"]
        let time = LondonTime()
        for (i, (report, table)) in zip(reports, tables).enumerated() {
            let prefix = [report.period.label, time.iso(report.period.start), time.iso(report.period.end)]
            for (c, column) in table.columns.enumerated() {
                for (r, cell) in table.cells.enumerated() {
                    lines.append(ReportOutput.csvLine(prefix + [column, cell.measure, cell.category ?? "", table.values[r][c].description]))
                }
                let p = percentages(i)[c]
                lines.append(ReportOutput.csvLine(prefix + [column, "referrals.attendedPercent", "", p.attended.map(String.init) ?? ""]))
                lines.append(ReportOutput.csvLine(prefix + [column, "incidents.policeConsentedPercent", "", p.consented.map(String.init) ?? ""]))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One CSV line: fields with a comma, a quote or a line break are quoted (RFC 4180), and a
    /// field a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return) starts with `'` instead, so opening the file runs nothing; control
    /// characters are shown as "?" (`displaySafe`).
    public static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            var f = displaySafe(field)
            if let first = field.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { f = "'" + f }
            return f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",")
    }

    /// JSON: a partnership report (`fieldlog.partnership-report/1`), or for several periods a
    /// trend holding one per period. Public figures are numbers, "<8" or "x".
    public var json: JSONValue {
        let one = reports.indices.map(reportJSON)
        if reports.count == 1 { return one[0] }
        return ["schema": .string("fieldlog.partnership-trend/\(PartnershipReport.schemaVersion)"), "periods": .array(one)]
    }

    func reportJSON(_ index: Int) -> JSONValue {
        guard isPublic else {
            var o = reports[index].json.objectValue!
            o["disclosure"] = "exact"
            return .object(o)
        }
        let table = tables[index]
        let percents = percentages(index)
        var byOrg = [String: JSONValue]()
        var merged = JSONValue.null
        for (c, column) in table.columns.enumerated() {
            let counts = ReportOutput.countsJSON(cells: table.cells, value: { table.values[$0][c].json },
                                                 attended: percents[c].attended, consented: percents[c].consented)
            if c == 0 { merged = counts } else { byOrg[column] = counts }
        }
        return [
            "schema": .string("fieldlog.partnership-report/\(PartnershipReport.schemaVersion)"), "disclosure": "public",
            "period": reports[index].period.json, "merged": merged, "byOrg": .object(byOrg),
        ]
    }

    /// The counts shape of `Report.countsJSON`, from table rows.
    static func countsJSON(cells: [ReportCell], value: (Int) -> JSONValue, attended: Int?, consented: Int?) -> JSONValue {
        var flat = [String: JSONValue]()
        var groups = [String: [String: JSONValue]]()
        for (row, cell) in cells.enumerated() {
            if let category = cell.category { groups[cell.measure, default: [:]][category] = value(row) } else { flat[cell.measure] = value(row) }
        }
        func group(_ name: String) -> JSONValue { .object(groups[name] ?? [:]) }
        let percent: (Int?) -> JSONValue = { $0.map { .int(Int64($0)) } ?? .null }
        return [
            "contacts": flat["contacts"] ?? .null, "engaged": flat["engaged"] ?? .null, "new": flat["new"] ?? .null,
            "casework": flat["casework"] ?? .null, "zones": group("zones"), "needs": group("needs"), "services": group("services"),
            "referrals": ["byDestination": group("referrals"), "withOutcome": flat["referrals.withOutcome"] ?? .null,
                          "attended": flat["referrals.attended"] ?? .null, "attendedPercent": percent(attended)],
            "safeguarding": ["byCategory": group("safeguarding"), "withoutConsent": flat["safeguarding.withoutConsent"] ?? .null],
            "incidents": ["total": flat["incidents"] ?? .null, "byType": group("incidents"),
                          "policeConsented": flat["incidents.policeConsented"] ?? .null, "fullReports": flat["incidents.fullReports"] ?? .null,
                          "policeConsentedPercent": percent(consented)],
            "priorityGroup": ["size": flat["priorityGroup.size"] ?? .null, "joiners": flat["priorityGroup.joiners"] ?? .null,
                              "leavers": flat["priorityGroup.leavers"] ?? .null,
                              "withLeadProfessional": flat["priorityGroup.withLeadProfessional"] ?? .null,
                              "overdueReviews": flat["priorityGroup.overdueReviews"] ?? .null],
        ]
    }
}
