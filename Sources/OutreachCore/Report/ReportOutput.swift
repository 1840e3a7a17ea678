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

    /// A percent measure of a report's column (`Report.percent`; public: only over 20 or more).
    public func percent(_ measure: Measure, report index: Int, column: Int) -> Int? {
        reports[index].columns[column].report.percent(measure, publish: isPublic)
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
                    lines.append(ReportOutput.csvLine(prefix + [column, cell.measure.name, cell.category ?? "", table.values[r][c].description]))
                }
                for m in Measure.percents {
                    lines.append(ReportOutput.csvLine(prefix + [column, m.name, "", percent(m, report: i, column: c).map(String.init) ?? ""]))
                }
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
        var byOrg = [String: JSONValue]()
        var merged = JSONValue.null
        for (c, column) in table.columns.enumerated() {
            let counts = Report.countsJSON(cells: table.cells, value: { table.values[$0][c].json },
                                           percent: { percent($0, report: index, column: c) })
            if c == 0 { merged = counts } else { byOrg[column] = counts }
        }
        return [
            "schema": .string("fieldlog.partnership-report/\(PartnershipReport.schemaVersion)"), "disclosure": "public",
            "period": reports[index].period.json, "merged": merged, "byOrg": .object(byOrg),
        ]
    }
}
