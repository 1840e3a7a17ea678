import ArgumentParser
import Foundation
import OutreachCore

/// `fieldlog demo`: two Basis laptops, one evening offline, a USB-stick swap, a conflict and its
/// resolution, alerts and the month's report. Every step runs the real command in this process
/// against throwaway stores in one temporary directory, which is removed at the end.
struct DemoScript {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-demo-\(UUID().uuidString.prefix(8))")

    func run() throws {
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: root)
            print("\nremoved \(root.path): nothing left behind")
        }
        // Sessions go into the demo's own runtime directory, so the demo never touches real ones.
        setenv("XDG_RUNTIME_DIR", root.appendingPathComponent("run").path, 1)
        setenv("FIELDLOG_PASSPHRASE", "demo: a long passphrase for the van", 1)
        unsetenv("FIELDLOG_WORKER")
        try story()
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    func step(_ title: String) { print("\n── \(title)") }

    /// Runs `fieldlog ARGS` on laptop `laptop`, showing the command line; returns what it printed.
    @discardableResult
    func on(_ laptop: String, _ args: [String], expectFailure: Bool = false) throws -> String {
        setenv("FIELDLOG_STORE", path(laptop), 1)
        let shown = args.map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " ")
            .replacingOccurrences(of: root.path + "/", with: "")
        print("[\(laptop)] $ fieldlog \(shown)")
        var failed = false
        let out = try captureStdout {
            do {
                var command = try Fieldlog.parseAsRoot(args)
                try command.run()
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

    func story() throws {
        step("First laptop of the partnership: Basis's van laptop b1")
        try on("b1", ["init", "--org", "basis", "--device", "b1"])

        step("Register the women met tonight under their working names")
        let rose = try ref(on("b1", ["person", "add", "--name", "Rose", "--descriptor", "red coat, Scottish accent", "--format", "json"]))
        let jade = try ref(on("b1", ["person", "add", "--name", "Jade", "--initials", "JT", "--dob", "1994-02-11", "--sex", "F", "--format", "json"]))

        step("A second laptop (the foot team's) joins through an invite file")
        let invite = try on("b1", ["device", "invite", "b2", "--out", path("b2.invite")])
        guard let pass = invite.split(separator: "\n").first(where: { $0.hasPrefix("one-time passphrase: ") })?.split(separator: " ").last else {
            throw DemoFailure(command: "device invite")
        }
        setenv("FIELDLOG_INVITE_PASSPHRASE", String(pass), 1)
        try on("b2", ["init", "--invite", path("b2.invite")])
        try on("b1", ["export", "--out", path("start.bundle")])
        try on("b2", ["import", path("start.bundle")])

        step("The evening, offline: each laptop logs what it sees")
        try on("b1", ["contact", "add", rose, "--setting", "van", "--zone", "Z3", "--service", "condoms=10,lube=2", "--need", "housing",
                      "--referral", "drug-treatment", "--note", "asked about hostel places"])
        try on("b1", ["contact", "add", "--unidentified", "3", "--setting", "van", "--zone", "Z1", "--service", "condoms=20"])
        let oops = try ref(on("b1", ["contact", "add", jade, "--setting", "van", "--zone", "Z9", "--format", "json"]))
        try on("b1", ["retract", oops, "--reason", "wrong-person"])
        try on("b2", ["contact", "add", jade, "--setting", "foot", "--zone", "Z2", "--service", "naloxone", "--need", "drugs,mental-health", "--welfare"])
        try on("b2", ["incident", "add", jade, "--type", "robbery", "--consent", "L2", "--zone", "Z2",
                      "--offender", "white man, 40s, shaved head", "--vehicle", "silver Astra, partial plate YD"])

        step("Both workers change Rose's risk level without seeing each other")
        try on("b1", ["person", "set", rose, "--risk", "high", "--reason", "new boyfriend controlling"])
        try on("b2", ["person", "set", rose, "--risk", "medium"])

        step("End of the night: swap bundle files on a USB stick")
        try on("b1", ["status", "--format", "json"]).write(toFile: path("b1.status.json"), atomically: true, encoding: .utf8)
        try on("b2", ["export", "--out", path("b2.bundle"), "--for", path("b1.status.json")])
        try on("b1", ["import", path("b2.bundle")])
        try on("b1", ["export", "--out", path("b1.bundle")])
        try on("b2", ["import", path("b1.bundle")])
        print("  (importing the same bundle again changes nothing)")
        try on("b2", ["import", path("b1.bundle")])

        step("The concurrent change is kept as a conflict, not guessed; a worker resolves it")
        try on("b1", ["conflicts"])
        try on("b1", ["resolve", rose, "risk", "high"])
        try on("b1", ["export", "--out", path("b1-again.bundle")])
        try on("b2", ["import", path("b1-again.bundle")])
        try on("b2", ["conflicts"])

        step("What both laptops now show")
        try on("b2", ["people"])
        try on("b2", ["person", "show", rose])
        try on("b1", ["alerts"])
        try on("b1", ["report", "--month", String(LondonTime().format(Clock.nowMillis()).prefix(7))])

        step("Bad input changes nothing: an altered bundle is refused")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path("b1.bundle")))
        bytes[bytes.count - 12] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path("tampered.bundle")))
        try on("b2", ["import", path("tampered.bundle")], expectFailure: true)
        try on("b2", ["check"])

        step("End of shift")
        try on("b1", ["lock"])
        try on("b2", ["lock"])
    }

    /// The `ref` of a `--format json` write.
    func ref(_ output: String) throws -> String {
        guard let r = (try? JSONValue.parse(output))?["ref"]?.stringValue else { throw DemoFailure(command: "(no ref in output)") }
        return r
    }

    /// Runs `body`, echoing what it prints (indented) and returning it.
    func captureStdout(_ body: () throws -> Void) throws -> String {
        fflush(nil)
        let file = root.appendingPathComponent(".stdout")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let fd = open(file.path, O_WRONLY | O_TRUNC)
        let saved = dup(STDOUT_FILENO)
        dup2(fd, STDOUT_FILENO)
        close(fd)
        var thrown: Error?
        do { try body() } catch { thrown = error }
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
