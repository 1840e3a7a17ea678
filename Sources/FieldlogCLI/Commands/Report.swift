import ArgumentParser
import Foundation
import OutreachCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "The partnership's counts, merged and by charity, for a month, a quarter or a date range.",
        discussion: """
            fieldlog report --month 2026-11 | --quarter 2026-Q4 | --from 2026-11-01 --to 2026-11-30 | --months 12
            Europe/London time; people both charities met count once in the merged column.
            Definitions with worked examples: docs/reports.md.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "table or json.") var format: OutputFormat = .table
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
                let label = month ?? String(time.format(Clock.nowMillis()).prefix(7))
                periods = try months.map { try ReportPeriod.months($0, endingWith: label, time: time) } ?? [try .month(label, time: time)]
            }
            let log = try Session.unlocked(storeOptions)
            let state = try log.state()
            let known = PartnershipReport.organisations(in: state)
            if let org, !known.contains(org) {
                throw FieldlogError.badInput("no organisation \"\(org)\" in this log",
                                             hint: known.isEmpty ? "nothing has been logged yet" : "known here: \(known.joined(separator: ", "))")
            }
            let reports = periods.map { PartnershipReport(state: state, period: $0, orgs: org.map { [$0] } ?? known) }
            switch format {
            case .json:
                if months == nil {
                    Output.json(reports[0].json)
                } else {
                    Output.json(["schema": .string("fieldlog.partnership-trend/\(PartnershipReport.schemaVersion)"), "periods": .array(reports.map(\.json))])
                }
            case .table:
                ReportCommand.printTable(reports)
            }
        }
    }

    /// One column per organisation (merged first); a trend shows the merged counts, one column a month.
    static func printTable(_ reports: [PartnershipReport]) {
        let cells = PartnershipReport.cells(reports)
        let header: [String]
        let values: [[Report]]
        if reports.count == 1 {
            header = reports[0].columns.map(\.name)
            values = [reports[0].columns.map(\.report)]
        } else {
            header = reports.map(\.period.label)
            values = [reports.map(\.merged)]
        }
        let title = reports.count == 1 ? reports[0].period.label : "\(reports[0].period.label) to \(reports.last!.period.label), merged"
        Output.line("\(title) (Europe/London), from this laptop's copy of the partnership's shared events")
        var rows = [[String]]()
        var lastSection: String?
        for cell in cells {
            if let section = cell.section, section != lastSection { rows.append([section] + header.map { _ in "" }) }
            lastSection = cell.section
            rows.append([cell.label] + values[0].map { String($0.value(cell)) })
        }
        Output.table([""] + header, rows, alignRight: true)
        let merged = reports.last!.merged
        if let percent = Report.percent(merged.referralsAttended, of: merged.referralsWithOutcome) {
            Output.line("referrals attended: \(percent)% of \(merged.referralsWithOutcome) with a known outcome (merged\(reports.count > 1 ? ", last month" : ""))")
        }
    }
}
