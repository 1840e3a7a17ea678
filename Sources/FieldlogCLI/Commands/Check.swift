import ArgumentParser
import Foundation
import OutreachCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Verify the store: integrity, seq continuity, ids match contents, payloads open.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let store = try Session.store(storeOptions)
            let keyring = try? Session.unlocked(storeOptions).keyring
            let report = try store.check(keyring: keyring)
            if output.format == .json {
                Output.json(["schema": "fieldlog.check/1", "healthy": .bool(report.isHealthy), "events": .num(report.events),
                             "origins": .num(report.origins), "payloadsOpened": keyring == nil ? .null : .num(report.opened),
                             "findings": .array(report.findings.map { .string($0.message) }),
                             "setAside": .array(report.setAside.map { ["event": .string($0.id), "dot": .string($0.dot), "org": .string($0.org),
                                                                       "rule": .string($0.rule), "source": .string($0.source)] })])
            } else {
                Output.line("\(report.events) events from \(report.origins) laptop\(report.origins == 1 ? "" : "s")"
                            + (keyring == nil ? " (locked: payloads not checked)" : ", \(report.opened) payloads open"))
                for f in report.findings { Output.line("problem: \(f.message)") }
                if !report.setAside.isEmpty {
                    Output.line("\(report.setAside.count) event\(report.setAside.count == 1 ? "" : "s") set aside on receipt (never counted, never passed on):")
                    for e in report.setAside {
                        let why = Authority.Rule(rawValue: e.rule).map { "\($0.rawValue): \($0)" } ?? e.rule
                        Output.line("  \(e.id.prefix(10))  \(e.dot)  \(e.org)  from \(e.source)  \(why)")
                    }
                }
                Output.line(report.isHealthy ? "store is healthy" : "store has \(report.findings.count) problem\(report.findings.count == 1 ? "" : "s")")
            }
            if !report.isHealthy { throw ExitCode(5) }
        }
    }
}
