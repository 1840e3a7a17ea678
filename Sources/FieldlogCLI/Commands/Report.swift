import ArgumentParser
import Foundation
import OutreachCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Counts for a month or a date range (Europe/London), from this laptop's log.",
        discussion: "Definitions: docs/reports.md. fieldlog report --month 2026-11 | --from 2026-11-01 --to 2026-11-30")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "YYYY-MM (default: this month).") var month: String?
    @Option(help: "First day, YYYY-MM-DD.") var from: String?
    @Option(help: "Last day (included), YYYY-MM-DD.") var to: String?

    func validate() throws {
        if month != nil && (from != nil || to != nil) { throw ValidationError("give --month, or --from and --to, not both") }
        if (from == nil) != (to == nil) { throw ValidationError("give both --from and --to") }
    }

    func run() throws {
        try guarded {
            let time = LondonTime()
            let period: ReportPeriod
            if let from, let to {
                let start = try time.day(from), last = try time.day(to)
                guard start <= last else { throw FieldlogError.badInput("--from \(from) is after --to \(to)") }
                period = ReportPeriod(start: start, end: time.nextDay(last), label: "\(from)..\(to)")
            } else {
                let label = month ?? String(time.format(Clock.nowMillis()).prefix(7))
                let range = try time.month(label)
                period = ReportPeriod(start: range.start, end: range.end, label: label)
            }
            let log = try Session.unlocked(storeOptions)
            let report = Report(state: try log.state(), period: period)
            if output.format == .json {
                var json = report.json.objectValue!
                json["org"] = .string(log.keyring.org)
                Output.json(.object(json))
            } else {
                ReportCommand.printTable(report, org: log.keyring.org)
            }
        }
    }

    static func printTable(_ r: Report, org: String) {
        func line(_ label: String, _ value: String) { Output.line(label.padding(toLength: 26, withPad: " ", startingAt: 0) + value) }
        func breakdown(_ d: [String: Int]) -> String {
            d.isEmpty ? "none" : d.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        Output.line("\(r.period.label), from this laptop's log (\(org)'s events and both charities' shared ones)")
        line("outreach contacts", "\(r.contacts)")
        line("people engaged", "\(r.engaged) (\(r.new) new)")
        line("casework", "\(r.casework)")
        line("needs (people)", breakdown(r.needs))
        line("services (items)", breakdown(r.services))
        let attended = Report.percent(r.referralsAttended, of: r.referralsWithOutcome).map { ", \($0)% attended of \(r.referralsWithOutcome) with an outcome" } ?? ""
        line("referrals", breakdown(r.referrals) + attended)
        line("safeguarding", breakdown(r.safeguarding) + (r.safeguardingWithoutConsent > 0 ? " (\(r.safeguardingWithoutConsent) without consent)" : ""))
        line("incidents", "\(r.incidents): " + breakdown(r.incidentsByType))
        line("  consented to police", "\(r.policeConsented)" + (Report.percent(r.policeConsented, of: r.incidents).map { " (\($0)%)" } ?? "") + ", \(r.fullReports) full reports")
        line("priority group", "\(r.priorityGroup) (+\(r.priorityJoiners) −\(r.priorityLeavers)), \(r.priorityWithLead) with a lead, \(r.overdueReviews) reviews overdue")
    }
}
