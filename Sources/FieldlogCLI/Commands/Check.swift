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
                             "findings": .array(report.findings.map { .string($0.message) })])
            } else {
                Output.line("\(report.events) events from \(report.origins) laptop\(report.origins == 1 ? "" : "s")"
                            + (keyring == nil ? " (locked: payloads not checked)" : ", \(report.opened) payloads open"))
                for f in report.findings { Output.line("problem: \(f.message)") }
                Output.line(report.isHealthy ? "store is healthy" : "store has \(report.findings.count) problem\(report.findings.count == 1 ? "" : "s")")
            }
            if !report.isHealthy { throw ExitCode(5) }
        }
    }
}
