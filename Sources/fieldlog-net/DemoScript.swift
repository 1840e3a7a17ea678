import ArgumentParser
import FieldlogCLI
import Foundation
import OutreachCore
import SyncServerKit

/// `fieldlog demo`: a sync server on 127.0.0.1, two charities with two laptops each, an evening
/// offline, the morning sync, a conflict and its resolution, alerts, the report, and a USB-stick
/// bundle for a laptop that cannot reach the server. Every step runs the real command in this
/// process against throwaway stores in one temporary directory, which is removed at the end.
struct DemoScript {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-demo-\(UUID().uuidString.prefix(8))")
    var keep = false

    func run() async throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        // Sessions go into the demo's own runtime directory, so the demo never touches real ones.
        setenv("XDG_RUNTIME_DIR", root.appendingPathComponent("run").path, 1)
        setenv("FIELDLOG_PASSPHRASE", "demo: a long passphrase for the van", 1)
        unsetenv("FIELDLOG_WORKER")
        step("The sync server starts (SyncServer serve --data-dir … --port 0), on 127.0.0.1")
        let service = SyncService(storage: try SQLiteSyncStorage(directory: root.appendingPathComponent("server")))
        let server = try await EmbeddedServer.start(service: service)
        print("    listening on \(server.url)")
        var failure: (any Error)?
        do { try await story(server: server.url, service: service) } catch { failure = error }
        await server.stop()
        if keep {
            print("\nserver stopped; the laptops' stores are kept in \(root.path). Try, for instance:")
            print("    export XDG_RUNTIME_DIR=\(root.path)/run FIELDLOG_STORE=\(root.path)/b1")
            print("    fieldlog unlock        (the demo's passphrase: demo: a long passphrase for the van)")
            print("    fieldlog report --format html > report.html     (rm -r \(root.path) when done)")
        } else {
            try? FileManager.default.removeItem(at: root)
            print("\nserver stopped; removed \(root.path): nothing left behind")
        }
        if let failure { throw failure }
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    func step(_ title: String) { print("\n── \(title)") }

    /// Runs `fieldlog ARGS` on laptop `laptop`, showing the command line; returns what it printed.
    @discardableResult
    func on(_ laptop: String, _ args: [String], expectFailure: Bool = false) async throws -> String {
        setenv("FIELDLOG_STORE", path(laptop), 1)
        let shown = args.map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " ")
            .replacingOccurrences(of: root.path + "/", with: "")
        print("[\(laptop)] $ fieldlog \(shown)")
        var failed = false
        let out = try await captureStdout {
            do {
                var command = try FieldlogNet.parseAsRoot(args)
                if var async = command as? any AsyncParsableCommand { try await async.run() } else { try command.run() }
            } catch let code as ExitCode where code != .success {
                failed = true
            }
        }
        if failed && !expectFailure { throw DemoFailure(command: shown) }
        return out
    }

    struct DemoFailure: Error, CustomStringConvertible {
        let command: String
        var description: String { "demo step failed: fieldlog \(command)" }
    }

    /// An administrator's command, shown as typed and run against the server's storage.
    func admin(_ shown: String, _ body: () async throws -> String) async throws -> String {
        print("[admin] $ SyncServer admin \(shown)")
        let out = try await body()
        print("    " + out)
        return out
    }

    func token(_ service: SyncService, _ org: String) async throws -> String {
        let t = try await service.issueEnrolment(org: org, lifetime: 7 * 86_400_000)
        _ = try await admin("enrol \(org)") { "single-use token \(t.prefix(10))…" }
        return t
    }

    func story(server: String, service: SyncService) async throws {
        step("The administrator creates the two organisations and an enrolment token")
        for org in ["basis", "joanna"] {
            _ = try await admin("org add \(org)") { try await service.storage.addOrganisation(org, at: WallClock.nowMillis()); return "organisation \(org) added" }
        }

        step("Basis's first laptop creates the partnership's keys and enrols")
        try await on("b1", ["init", "--org", "basis", "--device", "b1", "--server", server, "--token", try await token(service, "basis")])

        step("More laptops join through invite files (keys sealed under a one-time passphrase)")
        /// `org`: the new laptop's organisation when it differs from the inviter's; `of`: its organisation.
        func join(_ laptop: String, from inviter: String, org: String?, of home: String) async throws {
            let file = path("\(laptop).invite")
            var args = ["device", "invite", laptop, "--out", file, "--token", try await token(service, home)]
            if let org { args += ["--org", org] }
            let made = try await on(inviter, args)
            guard let pass = made.split(separator: "\n").first(where: { $0.hasPrefix("one-time passphrase: ") })?.split(separator: " ").last else {
                throw DemoFailure(command: "device invite")
            }
            setenv("FIELDLOG_INVITE_PASSPHRASE", String(pass), 1)
            try await on(laptop, ["init", "--invite", file])
        }
        try await join("b2", from: "b1", org: nil, of: "basis")
        print("  (an invite for Joanna carries only the partnership key: Joanna makes its own)")
        try await join("j1", from: "b1", org: "joanna", of: "joanna")
        try await join("j2", from: "j1", org: nil, of: "joanna")

        step("Basis registers the women it knows, and everyone syncs before going out")
        let rose = try ref(await on("b1", ["person", "add", "--name", "Rose", "--descriptor", "red coat, Scottish accent", "--format", "json"]))
        let jade = try ref(await on("b1", ["person", "add", "--name", "Jade", "--initials", "JT", "--dob", "1994-02-11", "--sex", "F", "--format", "json"]))
        print("  (the partnership's zones: coarse areas, one list for both charities, so reports never split Z3 from z3)")
        for (zone, label) in [("Z1", "city centre"), ("Z2", "industrial estate"), ("Z3", "north of the park"), ("Z9", "outer ring road")] {
            try await on("b1", ["zone", "add", zone, "--label", label])
        }
        for laptop in ["b1", "b2", "j1", "j2"] { try await on(laptop, ["sync"]) }

        step("Every laptop signs what it writes; the coordinators compare their roots' fingerprints by phone")
        try await on("b1", ["device", "list"])
        print("  (Joanna has its own laptops now: only they can bring in another Joanna laptop)")
        try await on("b1", ["device", "invite", "j3", "--org", "joanna", "--out", path("j3.invite")], expectFailure: true)

        step("The evening, offline: each van logs what it sees")
        try await on("b1", ["contact", "add", "rose", "--setting", "van", "--zone", "Z3", "--service", "condoms=10,lube=2", "--need", "housing",
                            "--referral", "drug-treatment", "--note", "asked about hostel places"])
        try await on("b1", ["contact", "add", "--unidentified", "3", "--setting", "van", "--zone", "Z1", "--service", "condoms=20"])
        let oops = try ref(await on("b1", ["contact", "add", jade, "--setting", "van", "--zone", "Z9", "--format", "json"]))
        try await on("b1", ["retract", oops, "--reason", "wrong-person"])
        try await on("b2", ["contact", "add", "jade", "--setting", "foot", "--zone", "Z2", "--service", "naloxone", "--need", "drugs,mental-health", "--welfare"])
        let robbery = try await on("b2", ["incident", "add", "jade", "--type", "robbery", "--consent", "L2", "--zone", "Z2",
                                          "--offender", "white man, 40s, shaved head", "--vehicle", "silver Astra, partial plate YD", "--format", "json"])
        let robberyRef = (try? JSONValue.parse(robbery))?["ref"]?.stringValue ?? ""
        try await on("j1", ["person", "add", "--name", "Mel", "--format", "json"])
        try await on("j1", ["contact", "add", "mel", "--setting", "van", "--zone", "Z2", "--service", "condoms=5", "--need", "finance"])
        try await on("j1", ["contact", "add", jade, "--setting", "van", "--zone", "Z2", "--need", "exit"])
        print("  (Joanna's van met Jade too: same person id, so she is counted once)")
        step("Both Basis workers change Rose's risk level without seeing each other")
        try await on("b1", ["person", "set", rose, "--risk", "high", "--reason", "new boyfriend controlling"])
        try await on("b2", ["person", "set", rose, "--risk", "medium"])

        step("The morning sync, on every laptop")
        for laptop in ["b1", "b2", "j1", "j2", "b1", "b2", "j1", "j2"] { try await on(laptop, ["sync"]) }
        try await on("b2", ["status"])

        step("The concurrent change is kept as a conflict, not guessed; a worker resolves it")
        try await on("b1", ["conflicts"])
        try await on("b1", ["resolve", rose, "risk", "high"])
        for laptop in ["b1", "b2", "j1", "j2"] { try await on(laptop, ["sync"]) }
        try await on("j2", ["conflicts"])

        step("What each charity sees: Basis's names stay with Basis; the alert reaches everyone")
        try await on("b2", ["people"])
        try await on("j2", ["people"])
        try await on("j2", ["alerts"])
        try await on("b2", ["person", "show", rose])

        step("The coordinators: the same merged counts on either charity's laptop, the tasking list, a police export")
        let month = String(LondonTime().format(WallClock.nowMillis()).prefix(7))
        try await on("b1", ["report", "--month", month])
        print("  (for a funder or the council's bulletin: small counts hidden, the rest rounded to 5)")
        try await on("j2", ["report", "--month", month, "--public"])
        try await on("b1", ["person", "set", rose, "--priority", "in", "--lead", "Sam (ISVA)"])
        try await on("b1", ["tasking", "add", rose, "offer a hostel place", "--owner", "basis"])
        try await on("b1", ["tasking"])
        print("  (Jade agreed to anonymous intelligence, L2: the export carries no victim identity, and is recorded)")
        try await on("b2", ["incident", "export", robberyRef, "--to", "Sex Work Liaison Officer"])
        try await on("b2", ["audit"])

        step("Without the network: a USB-stick bundle, and a tampered one refused")
        try await on("j1", ["contact", "add", "mel", "--setting", "drop-in", "--need", "housing"])
        try await on("j1", ["export", "--out", path("j1.bundle")])
        try await on("j2", ["import", path("j1.bundle")])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path("j1.bundle")))
        bytes[bytes.count - 12] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path("tampered.bundle")))
        try await on("j2", ["import", path("tampered.bundle")], expectFailure: true)
        try await on("j2", ["check"])

        step("Jade asks Basis to delete her records: what identifies her is erased everywhere, her counts stay")
        try await on("b2", ["person", "erase", jade, "--reason", "asked at the drop-in", "--yes"])
        for laptop in ["b2", "b1", "j1", "j2"] { try await on(laptop, ["sync"]) }
        try await on("b1", ["person", "show", jade])
        try await on("j1", ["person", "show", jade])
        try await on("j1", ["report", "--month", month])
        try await on("b1", ["audit"])

        step("Retention: Basis keeps identities 3 years after the last contact; the policy reaches its other laptop")
        try await on("b1", ["retention", "set", "--after", "3y"])
        try await on("b1", ["sync"])
        try await on("b2", ["sync"])
        try await on("b2", ["retention"])

        step("b2 is stolen from the van, passphrase and all: revoked on the server and from b1; the keys rotate")
        _ = try await admin("revoke b2") {
            guard let b2 = try await service.storage.devices().first(where: { $0.name == "b2" }),
                  try await service.storage.revoke(deviceID: b2.id, at: WallClock.nowMillis())
            else { throw DemoFailure(command: "SyncServer admin revoke b2") }
            return "revoked b2 of basis: its token no longer works"
        }
        try await on("b1", ["device", "revoke", "b2", "--reason", "stolen from the van"])
        try await on("b1", ["sync"])
        for laptop in ["j1", "j2"] { try await on(laptop, ["sync"]) }
        try await on("j1", ["keys"])
        print("  (the thief's laptop: no sync, and nothing written from now on opens for it)")
        try await on("b2", ["sync"], expectFailure: true)
        try await on("j1", ["contact", "add", "mel", "--setting", "drop-in", "--service", "food=1"])
        try await on("j1", ["export", "--out", path("after.bundle")])
        try await on("b2", ["import", path("after.bundle")], expectFailure: true)

        step("The server holds every event and can read none of them")
        _ = try await admin("devices") { "\(try await service.storage.devices().count) laptops, \(try await service.storage.eventCount()) sealed events" }

        step("End of shift")
        for laptop in ["b1", "j1", "j2"] { try await on(laptop, ["lock"]) }
    }

    /// The `ref` of a `--format json` write.
    func ref(_ output: String) throws -> String {
        guard let r = (try? JSONValue.parse(output))?["ref"]?.stringValue else { throw DemoFailure(command: "(no ref in output)") }
        return r
    }

    /// Runs `body`, echoing what it prints (indented) and returning it.
    func captureStdout(_ body: () async throws -> Void) async throws -> String {
        fflush(nil)
        let file = root.appendingPathComponent(".stdout")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let fd = open(file.path, O_WRONLY | O_TRUNC)
        let saved = dup(STDOUT_FILENO)
        dup2(fd, STDOUT_FILENO)
        close(fd)
        var thrown: Error?
        do { try await body() } catch { thrown = error }
        fflush(nil)
        dup2(saved, STDOUT_FILENO)
        close(saved)
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0)
        if !text.isEmpty { print(lines.map { "    " + $0 }.joined(separator: "\n")) }
        if let thrown { throw thrown }
        return text
    }
}
