import ArgumentParser
import FieldlogCLI
import Foundation
import OutreachCore
import SyncClient

struct Sync: AsyncParsableCommand {
    static let configuration = FieldlogCommandLine.syncConfiguration
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "The server's address (default: the one this laptop enrolled with).") var server: String?

    func run() async throws {
        try await guarded {
            let log = try Session.unlocked(storeOptions)
            guard let url = try server ?? log.store.serverURL() else {
                throw FieldlogError(.badInput, "this laptop has no sync server", hint: "pass --server URL, or enrol with fieldlog init --server URL --token TOKEN")
            }
            guard let token = try log.store.deviceToken(keyring: log.keyring) else {
                throw FieldlogError(.badInput, "this laptop is not enrolled with a sync server", hint: "ask the administrator for an enrolment token")
            }
            let trust = try log.store.serverTrust()
            try HTTPTransport.checkAddress(url, insecure: trust.insecure)
            let before = try log.state().conflicts.count
            let showProgress = Terminal.isInteractive && output.format == .table
            let result = try await HTTPTransport.withClient(trusting: trust.ca) { client in
                try await log.sync(over: HTTPTransport(server: url, token: token, client: client), progress: { s in
                    if showProgress { Output.progress("syncing: sent \(s.sent), received \(s.received)") }
                })
            }
            let summary = result.summary
            if showProgress { Output.progress(nil) }
            // A token that leaked is good only until the next rotation (issue 11): renewed weekly.
            var rotated = false
            if try log.store.tokenRotationDue() {
                do {
                    let next = try await HTTPTransport.withClient(trusting: trust.ca) { client in
                        try await HTTPTransport.rotateToken(server: url, token: token, client: client)
                    }
                    try log.store.setServer(url: url, deviceToken: next.token, keyring: log.keyring, expiresAt: next.expiresAt)
                    rotated = true
                } catch {
                    // The sync itself is done; the old token still works. Tried again next time.
                    Output.note("note: the device token was not renewed (\(error)); the next sync tries again")
                }
            }
            let conflicts = try result.log.state().conflicts.count
            if output.format == .json {
                Output.json(["schema": "fieldlog.sync/1", "server": .string(url), "sent": .num(summary.sent), "received": .num(summary.received),
                             "roundTrips": .num(summary.roundTrips), "waiting": .num(summary.waiting),
                             "setAside": .num(summary.setAside), "heldBack": .num(summary.heldBack), "conflicts": .num(conflicts),
                             "newConflicts": .num(max(0, conflicts - before)),
                             "keysGained": .num(summary.keysGained), "keys": KeysText.json(result.keys), "tokenRotated": .bool(rotated)])
            } else {
                Output.line("sent \(summary.sent), received \(summary.received), \(conflicts) conflict\(conflicts == 1 ? "" : "s")"
                            + (conflicts > 0 ? " (fieldlog conflicts)" : ""))
                if summary.waiting > 0 { Output.line("\(summary.waiting) events wait for earlier ones from their laptop") }
                if summary.setAside > 0 { Output.line("\(summary.setAside) event\(summary.setAside == 1 ? "" : "s") set aside: they failed a trust check (fieldlog check lists them)") }
                for line in KeysText.lines(result.keys, org: log.keyring.org) { Output.line(line) }
                if summary.keysGained > 0 { Output.line("received \(summary.keysGained) new key\(summary.keysGained == 1 ? "" : "s") (a laptop was revoked or keys rotated)") }
                try Warnings.showNew(log: result.log)
                if summary.heldBack > 0 {
                    Output.line("\(summary.heldBack) event\(summary.heldBack == 1 ? "" : "s") of other laptops not sent: the server does not accept their signer yet (kept; sent again next time)")
                }
            }
        }
    }
}
