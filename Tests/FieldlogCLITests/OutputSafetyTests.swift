import Foundation
import OutreachCore
import Testing

/// Text from events reaches terminals and spreadsheets harmlessly (issue #11, item 7). Old
/// code: `Output.line` printed payload text raw (an alert's escape sequences rewrote the
/// screen), and `ReportOutput.csvLine` wrote `=…` cells that a spreadsheet runs as formulas.
@Suite struct OutputSafetyTests {
    @Test func escapeSequencesNeverReachTheTerminalAndFormulasNeverReachTheSpreadsheet() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        let hostile = "Rose\u{1B}]0;owned\u{07}\u{1B}[2J\rX\u{202E}eman"
        let rose = try #require(try cli.ok(["person", "add", "--name", hostile, "--descriptor", "red\u{1B}[31m coat"])["ref"]?.stringValue)
        for args in [["people"], ["person", "show", rose]] {
            let out = try cli.run(args).stdout
            #expect(!out.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x0D || $0.value == 0x202E }, "\(args)")
            #expect(out.contains("Rose?]0;owned??[2J?X?eman"), "\(args): \(out)")
        }
        // JSON keeps the text exactly (escaped), for scripts.
        #expect(try cli.run(["person", "show", rose, "--format", "json"]).json["name"]?.stringValue == hostile)
        // A tasking action that a spreadsheet would run as a formula.
        try cli.ok(["person", "set", rose, "--priority", "in"])
        #expect(try cli.run(["tasking", "add", rose, "=HYPERLINK(\"http://x\",\"click\")"]).status == 0)
        let csv = try cli.run(["tasking", "--format", "csv"]).stdout
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\") ("), "\(csv)")
        #expect(!csv.unicodeScalars.contains { $0.value == 0x1B }, "\(csv)")
        #expect(!csv.split(separator: "\n").contains { $0.split(separator: ",").contains { $0.hasPrefix("=") } })
        #expect(ReportOutput.csvLine(["-1", "+sum", "@cmd", "\tx", "ok", "a,b", "\rz"]) == "'-1,'+sum,'@cmd,'\tx,ok,\"a,b\",'?z")
    }
}

/// `fieldlog passphrase` and the passphrase rule, through the binary.
@Suite struct PassphraseCommandTests {
    @Test func aWeakPassphraseIsRefusedAndAChangedOneLocksOutTheOld() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let weak = try cli.run(["init", "--org", "basis", "--device", "b1"], set: ["FIELDLOG_PASSPHRASE": "short pass"])
        #expect(weak.status == 2 && weak.stderr.contains("at least 12 characters or four words"))
        #expect(!FileManager.default.fileExists(atPath: cli.store.path))
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        let changed = try cli.run(["passphrase"], set: ["FIELDLOG_NEW_PASSPHRASE": "four brand new words"])
        #expect(changed.status == 0, "\(changed.stderr)")
        // The open shift goes on; a new unlock needs the new passphrase.
        #expect(try cli.run(["people"]).status == 0)
        try cli.run(["lock"])
        let old = try cli.run(["unlock"])
        #expect(old.status == 3 && old.stderr.contains("wrong passphrase"))
        #expect(try cli.run(["unlock"], set: ["FIELDLOG_PASSPHRASE": "four brand new words"]).status == 0)
    }
}

/// Warnings first (issue #13, item 5): unlock and import/sync bring new alerts to the screen once.
@Suite struct WarningsFirstTests {
    @Test func unlockShowsTheAlertsThisLaptopHasNotShownYetOnce() throws {
        let b1 = CLI("b1")
        defer { b1.cleanUp() }
        try b1.ok(["init", "--org", "basis", "--device", "b1"])
        let invite = b1.dir.appendingPathComponent("b2.invite").path
        let pass = try #require(try b1.ok(["device", "invite", "b2", "--out", invite])["passphrase"]?.stringValue)
        var b2 = CLI("b2", base: b1.dir)
        b2.env["XDG_RUNTIME_DIR"] = b1.dir.appendingPathComponent("run2").path
        try b2.ok(["init", "--invite", invite], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])
        try b1.ok(["incident", "add", "--type", "assault", "--consent", "L1", "--offender", "man with knife", "--zone", "Z2"])
        #expect(try b1.run(["alerts", "--new"]).stdout.contains("no new alerts"), "its own worker saw it when it was written")
        let bundle = b1.dir.appendingPathComponent("b1.bundle").path
        try b1.ok(["export", "--out", bundle])
        try b2.ok(["import", bundle])
        let first = try b2.run(["unlock"]).stdout
        #expect(first.contains("1 new alert") && first.contains("man with knife"), "\(first)")
        #expect(!(try b2.run(["unlock"]).stdout.contains("new alert")))
        #expect(try b2.run(["alerts", "--new"]).stdout.contains("no new alerts"))
        #expect(try b2.run(["alerts"]).stdout.contains("man with knife"))
    }
}

/// Shell completion (issue #13, item 4): refs and working names from the unlocked store, and the
/// vocabularies, comma lists included.
@Suite struct CompletionTests {
    @Test func theShellCompletesNamesAndWordsFromTheStore() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        for name in ["Rose", "Rosie", "Mel"] { try cli.ok(["person", "add", "--name", name]) }
        let script = try cli.run(["--generate-completion-script", "bash"])
        #expect(script.status == 0 && script.stdout.contains("---completion contact add -- positional@0"))
        let names = try cli.run(["---completion", "person", "show", "--", "positional@0", "3", "2", "fieldlog", "person", "show", "Ro"])
        #expect(names.stdout.split(separator: "\n") == ["Rose", "Rosie"], "\(names.stdout)")
        let needs = try cli.run(["---completion", "contact", "add", "--", "--need", "5", "10", "fieldlog", "contact", "add", "x", "--need", "drugs,hous"])
        #expect(needs.stdout.split(separator: "\n") == ["drugs,housing"], "\(needs.stdout)")
        // Locked: no names, and no error either.
        try cli.run(["lock"])
        let locked = try cli.run(["---completion", "person", "show", "--", "positional@0", "3", "2", "fieldlog", "person", "show", "Ro"], unset: ["FIELDLOG_PASSPHRASE"])
        #expect(locked.status == 0 && locked.stdout.isEmpty)
    }
}

/// Zones as a vocabulary kept in the log (issue #13, item 3).
@Suite struct ZoneTests {
    @Test func onceZonesAreListedOnlyListedOnesAreTaken() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        // Before any zone is listed, a zone is taken as typed.
        #expect(try cli.run(["contact", "add", "--unidentified", "1", "--setting", "van", "--zone", "anywhere"]).status == 0)
        try cli.ok(["zone", "add", "Z3", "--label", "north of the park"])
        try cli.ok(["zone", "add", "Z1"])
        #expect(try cli.run(["zones"]).stdout.contains("north of the park"))
        // Spelt another way, it is the listed zone; a near miss is refused with the one meant.
        let logged = try cli.run(["contact", "add", "--unidentified", "2", "--setting", "van", "--zone", "z3"])
        #expect(logged.status == 0 && logged.stdout.contains("van Z3"), "\(logged.stdout)")
        let typo = try cli.run(["incident", "add", "--type", "assault", "--consent", "L1", "--zone", "Z33"])
        #expect(typo.status == 2 && typo.stderr.contains("unknown zone \"Z33\": did you mean Z3?"), "\(typo.stderr)")
        let zones = try cli.run(["---completion", "contact", "add", "--", "--zone", "5", "1", "fieldlog", "contact", "add", "x", "--zone", "Z"])
        #expect(zones.stdout.split(separator: "\n") == ["Z1", "Z3"])
    }
}

/// Issue #13's quality bar through the binary: 2,000 people added with `fieldlog person add`,
/// every ref printed at creation kept, and each resolved at the end to the same person.
@Suite struct TwoThousandRefsTests {
    @Test func everyRefPrintedStillNamesItsPerson() async throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        var printed = [(ref: String, id: String)]()
        for n in 0..<2_000 {
            let added = try await cli.okAsync(["person", "add", "--name", "Worker \(n)"])
            printed.append((added["ref"]?.stringValue ?? "", added["id"]?.stringValue ?? ""))
        }
        #expect(printed.first!.ref.count == 4 && printed.last!.ref.count == 6)
        // Every printed ref still names exactly its person among all 2,000 ids (resolution is a
        // unique-prefix match), and a sample resolves through the binary as any command does.
        let ids = (try cli.run(["people", "--format", "json"]).json["people"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(ids.count == 2_000)
        let stale = printed.filter { p in ids.filter { $0.hasPrefix(p.ref) } != [p.id] }
        #expect(stale.isEmpty, "refs that no longer name their person: \(stale.map(\.ref))")
        for (ref, id) in printed.shuffled().prefix(50) {
            let shown = try await cli.runAsync(["person", "show", ref, "--format", "json"])
            #expect(shown.json["id"]?.stringValue == id, "\(ref)")
        }
    }
}
