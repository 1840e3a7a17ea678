import ArgumentParser
import Foundation
import OutreachCore

/// What `fieldlog report` prints.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv, html
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "The partnership's counts, merged and by charity, for a month, a quarter or a date range.",
        discussion: """
            fieldlog report --month 2026-11 | --quarter 2026-Q4 | --from 2026-11-01 --to 2026-11-30 | --months 12
            Europe/London time; people both charities met count once in the merged column.
            --format html > board.html: a page with charts, for the partnership board.
            --public for anything that leaves the partnership: small counts hidden, the rest rounded.
            Definitions with worked examples: docs/reports.md.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "table, json, csv or html.") var format: ReportFormat = .table
    @Flag(help: "Disclosure control, for anything that leaves the partnership: 1-7 shown as <8, the rest rounded to 5.") var `public` = false
    @Option(help: "YYYY-MM (default: this month).") var month: String?
    @Option(help: "YYYY-Qn, e.g. 2026-Q4.") var quarter: String?
    @Option(help: "First day, YYYY-MM-DD.") var from: String?
    @Option(help: "Last day (included), YYYY-MM-DD.") var to: String?
    @Option(help: "A trend: this many months, ending with --month (default: this month).") var months: Int?
    @Option(help: "Show only this organisation beside the merged counts.") var org: String?

    func run() throws {
        try guarded {
            let ways = [month != nil || months != nil, quarter != nil, from != nil || to != nil].filter { $0 }.count
            if ways > 1 { throw FieldlogError.badInput("give one of --month/--months, --quarter, or --from and --to", hint: "fieldlog report --help") }
            if (from == nil) != (to == nil) { throw FieldlogError.badInput("give both --from and --to", hint: "both days are included") }
            let time = LondonTime()
            let periods: [ReportPeriod]
            if let from, let to {
                periods = [try .days(from: from, to: to, time: time)]
            } else if let quarter {
                periods = [try .quarter(quarter, time: time)]
            } else {
                let label = month ?? String(time.format(WallClock.nowMillis()).prefix(7))
                periods = try months.map { try ReportPeriod.months($0, endingWith: label, time: time) } ?? [try .month(label, time: time)]
            }
            // The trend chart of a page: the twelve months up to the last one reported.
            let lastMonth = String(time.format(periods.last!.end - 1).prefix(7))
            let trendPeriods = format != .html || periods.count > 1 ? periods : try ReportPeriod.months(12, endingWith: lastMonth, time: time)
            let log = try Session.unlocked(storeOptions)
            // The sealed snapshot when nothing changed since the last report, read for these
            // periods only; else brought up to date, or a fold.
            let index = try log.reportIndex(covering: periods + trendPeriods).index
            let known = index.organisations
            if let org, !known.contains(org) {
                throw FieldlogError.badInput("no organisation \"\(org)\" in this log",
                                             hint: known.isEmpty ? "nothing has been logged yet" : "known here: \(known.joined(separator: ", "))")
            }
            let reports = periods.map { PartnershipReport(index: index, period: $0, orgs: org.map { [$0] } ?? known) }
            let output = ReportOutput(reports, isPublic: `public`)
            switch format {
            case .json: Output.json(output.json)
            case .csv: print(output.csv, terminator: "")
            case .html:
                let trend = ReportOutput(trendPeriods.map { PartnershipReport(index: index, period: $0, orgs: org.map { [$0] } ?? known) }, isPublic: `public`)
                print(ReportHTML(output, trend: trend, generatedAt: WallClock.nowMillis()).page)
            case .table: ReportCommand.printTable(output)
            }
        }
    }

    /// One column per organisation (merged first); a trend shows the merged counts, one column a month.
    static func printTable(_ output: ReportOutput) {
        let reports = output.reports
        let header: [String]
        let column: (Int) -> [String]  // row → the row's figures
        if reports.count == 1 {
            header = output.tables[0].columns
            column = { row in output.tables[0].values[row].map(\.description) }
        } else {
            header = reports.map(\.period.label)
            column = { row in output.tables.map { $0.values[row][0].description } }
        }
        let title = reports.count == 1 ? reports[0].period.label : "\(reports[0].period.label) to \(reports.last!.period.label), merged"
        Output.line("\(title) (Europe/London)" + (output.isPublic ? ", for publication: <8 = 1 to 7, x = hidden, others rounded to 5"
                                                                  : ", from this laptop's copy of the partnership's shared events"))
        var rows = [[String]]()
        var lastSection: String?
        for (row, cell) in output.cells.enumerated() {
            if let section = cell.section, section != lastSection { rows.append([section] + header.map { _ in "" }) }
            lastSection = cell.section
            rows.append([cell.label] + column(row))
        }
        for measure in Measure.percents {
            let figures = reports.count == 1 ? output.tables[0].columns.indices.map { output.percent(measure, report: 0, column: $0) }
                                             : reports.indices.map { output.percent(measure, report: $0, column: 0) }
            rows.append([measure.label] + figures.map { $0.map { "\($0)%" } ?? "–" })
        }
        Output.table([""] + header, rows, alignRight: true)
    }
}
