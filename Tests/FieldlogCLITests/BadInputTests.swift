import Foundation
import OutreachCore
import Testing

/// Every kind of bad input: one clear line on stderr, a non-zero exit, and an unchanged store.
@Suite struct BadInputTests {
    static func expectRefused(_ cli: CLI, _ args: [String], mentioning words: [String], set: [String: String] = [:], unset: [String] = []) throws {
        let before = try cli.fingerprint()
        let r = try cli.run(args, set: set, unset: unset)
        #expect(r.status != 0, "\(args) should fail")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(args): expected one line on stderr, got: \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: "), "\(args): \(r.stderr)")
        for w in words { #expect(r.stderr.localizedCaseInsensitiveContains(w), "\(args): \(r.stderr) should mention \(w)") }
        #expect(!r.stderr.contains("DecodingError") && !r.stderr.contains("Fatal"))
        #expect(try cli.fingerprint() == before, "\(args) changed the store")
    }

    @Test func badInputIsOneLineNonZeroAndChangesNothing() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "van1"])
        // Seventeen people: two must share a first hex character, so a one-letter ref is ambiguous.
        var refs = [String]()
        for n in 0..<17 { refs.append(try cli.ok(["person", "add", "--name", "P\(n)"])["ref"]!.stringValue!) }
        let shared = Dictionary(grouping: refs, by: { $0.prefix(1) }).first { $0.value.count > 1 }!.key

        try Self.expectRefused(cli, ["contact", "add", "zzzz", "--setting", "van"], mentioning: ["no person", "zzzz"])
        try Self.expectRefused(cli, ["contact", "add", "0000000000", "--setting", "van"], mentioning: ["no person", "0000000000"])
        try Self.expectRefused(cli, ["contact", "add", String(shared), "--setting", "van"], mentioning: ["matches", "more characters"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "van", "--service", "crisps=2"], mentioning: ["unknown service", "condoms"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "van", "--need", "hosuing"], mentioning: ["unknown need", "housing"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "bus"], mentioning: ["unknown setting"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "van", "--at", "half nine"], mentioning: ["cannot read the time"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "van", "--at", "2026-02-30 21:00"], mentioning: ["cannot read the time"])
        try Self.expectRefused(cli, ["incident", "add", "--type", "assault", "--consent", "L7"], mentioning: ["consent level"])
        try Self.expectRefused(cli, ["report", "--month", "2026-13"], mentioning: ["month"])
        // The library says what is wrong in its own words; the command line names the option.
        try Self.expectRefused(cli, ["report", "--from", "2026-11-30", "--to", "2026-11-01"], mentioning: ["is after", "--from"])
        try Self.expectRefused(cli, ["safeguarding", "add", refs[0], "--category", "exploitation", "--without-consent"], mentioning: ["needs a reason", "--reason"])
        try cli.ok(["person", "add", "--name", "Twin"])
        try cli.ok(["person", "add", "--name", "Twin"])
        try Self.expectRefused(cli, ["contact", "add", "Twin", "--setting", "van"], mentioning: ["2 people are called Twin", "use one of the refs"])
        try Self.expectRefused(cli, ["report", "--quarter", "2026-Q5"], mentioning: ["quarter", "YYYY-Qn"])
        // Bad flags too: one line, exit 2, pointing at the command's help (it used to be usage and exit 64).
        for args in [["report", "--bogus"], ["contact", "add", refs[0], "--setting"], ["init", "--org", "BAD", "--device", "x"]] {
            try Self.expectRefused(cli, args, mentioning: ["--help"])
            #expect(try cli.run(args).status == 2, "\(args)")
        }
        try Self.expectRefused(cli, ["report", "--month", "2026-11", "--org", "leeds-council"], mentioning: ["no organisation", "basis"])
        try Self.expectRefused(cli, ["report", "--months", "0"], mentioning: ["--months"])
        try Self.expectRefused(cli, ["report", "--month", "2026-11", "--quarter", "2026-Q4"], mentioning: ["one of"])
        try Self.expectRefused(cli, ["retract", "0000000", "--reason", "error"], mentioning: ["no event"])
        try Self.expectRefused(cli, ["unlock"], mentioning: ["wrong passphrase"], set: ["FIELDLOG_PASSPHRASE": "not it at all"])
        try cli.run(["lock"])
        try Self.expectRefused(cli, ["contact", "add", refs[0], "--setting", "van"], mentioning: ["locked", "fieldlog unlock"], unset: ["FIELDLOG_PASSPHRASE"])
        try Self.expectRefused(cli, ["people"], mentioning: ["wrong passphrase"], set: ["FIELDLOG_PASSPHRASE": "not it at all"])
    }

    @Test func aMissingStoreSaysHowToMakeOne() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try cli.run(["people"])
        #expect(r.status == 3)
        #expect(r.stderr.hasPrefix("error: no store at") && r.stderr.contains("fieldlog init"))
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: cli.store.path))
    }

    @Test func corruptTamperedAndForeignBundlesAreRefused() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "van1"])
        let rose = try cli.ok(["person", "add", "--name", "Rose"])["ref"]!.stringValue!
        try cli.ok(["contact", "add", rose, "--setting", "van"])
        let bundle = cli.dir.appendingPathComponent("good.bundle")
        try cli.ok(["export", "--out", bundle.path])

        // A second laptop of the same partnership (through an invite) to import into
        let inviteFile = cli.dir.appendingPathComponent("b2.invite")
        let pass = try #require(try cli.ok(["device", "invite", "b2", "--out", inviteFile.path])["passphrase"]?.stringValue)
        var b2 = CLI("b2", base: cli.dir)
        b2.env["XDG_RUNTIME_DIR"] = cli.dir.appendingPathComponent("run2").path
        try b2.ok(["init", "--invite", inviteFile.path], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])

        // Another partnership entirely
        let other = CLI("other", base: cli.dir.appendingPathComponent("elsewhere"))
        try other.ok(["init", "--org", "elsewhere", "--device", "x1"])
        try other.ok(["person", "add", "--name", "Someone"])
        let foreign = cli.dir.appendingPathComponent("foreign.bundle")
        try other.ok(["export", "--out", foreign.path])

        var bytes = try Data(contentsOf: bundle)
        let flipped = cli.dir.appendingPathComponent("flipped.bundle")
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: flipped)
        let truncated = cli.dir.appendingPathComponent("truncated.bundle")
        try Data(contentsOf: bundle).prefix(40).write(to: truncated)
        let notABundle = cli.dir.appendingPathComponent("notes.txt")
        try Data("shopping list".utf8).write(to: notABundle)

        try BadInputTests.expectRefused(b2, ["import", foreign.path], mentioning: ["another partnership"])
        try BadInputTests.expectRefused(b2, ["import", flipped.path], mentioning: ["nothing was imported"])
        try BadInputTests.expectRefused(b2, ["import", truncated.path], mentioning: ["nothing was imported"])
        try BadInputTests.expectRefused(b2, ["import", notABundle.path], mentioning: ["not a fieldlog bundle"])
        try BadInputTests.expectRefused(b2, ["import", cli.dir.appendingPathComponent("absent.bundle").path], mentioning: ["cannot read"])
        try BadInputTests.expectRefused(b2, ["init", "--invite", inviteFile.path], mentioning: ["already exists"])
        // The good bundle still imports, twice, idempotently
        #expect(try b2.ok(["import", bundle.path])["stored"] == 3)  // Rose's registration, the contact, b1's device.keyed (written at its first export)
        #expect(try b2.ok(["import", bundle.path])["stored"] == 0)
    }

    @Test func aWrongInvitePassphraseCreatesNothing() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "van1"])
        let inviteFile = cli.dir.appendingPathComponent("b2.invite")
        try cli.ok(["device", "invite", "b2", "--out", inviteFile.path])
        let b2 = CLI("b2", base: cli.dir)
        let r = try b2.run(["init", "--invite", inviteFile.path], set: ["FIELDLOG_INVITE_PASSPHRASE": "guess-guess-guess"])
        #expect(r.status != 0 && r.stderr.contains("wrong invite passphrase"))
        #expect(!FileManager.default.fileExists(atPath: b2.store.path))
    }
}
