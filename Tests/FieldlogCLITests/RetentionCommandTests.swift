import Foundation
import OutreachCore
import Testing

/// `fieldlog retention` and the erasures in `fieldlog audit`, as a coordinator runs them (issue #10).
@Suite struct RetentionCommandTests {
    /// Registers people dated years back straight into the CLI's store (no command backdates a
    /// registration), as a store carried over from years of use would hold them.
    static func registerYearsAgo(_ cli: CLI, _ names: [String], years: Int) throws -> [String] {
        let store = try Store.open(at: cli.store)
        let log = FieldLog(store: store, keyring: try store.keyring(masterKey: try store.masterKey(passphrase: cli.env["FIELDLOG_PASSPHRASE"]!)), author: "drop1")
        let at = LondonTime().adding(months: -12 * years, to: WallClock.nowMillis())
        return try names.map { name in
            let person = try log.registerPerson(name: name, descriptor: "\(name)'s red scarf", at: at).person
            try log.logContact(NewContact(person: person, setting: .dropIn), at: at + 60_000)
            return person
        }
    }

    @Test func retentionListsWhoIsDueByRefAndAppliesAsAnErasureTheAuditLists() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "drop1"])
        let old = try Self.registerYearsAgo(cli, ["Saffron", "Tansy"], years: 8)
        let recent = try #require(try cli.ok(["person", "add", "--name", "Violet"])["ref"]?.stringValue)

        // The default policy, the two due now, by ref only (this list may be pasted anywhere).
        let shown = try cli.run(["retention"])
        #expect(shown.status == 0 && shown.stdout.contains("6 years") && shown.stdout.contains("default"))
        #expect(shown.stdout.components(separatedBy: "due now").count - 1 == 3)  // two rows and the closing line
        #expect(!shown.stdout.contains("Saffron") && !shown.stdout.contains("Tansy") && !shown.stdout.contains(recent))
        let json = try cli.ok(["retention", "--within", "520w"])
        let due = json["due"]?.arrayValue ?? []
        #expect(json["months"] == 72 && due.count == 3 && due.filter { $0["dueNow"] == true }.count == 2)
        #expect(old.allSatisfy { id in due.contains { $0["ref"]?.stringValue.map { id.hasPrefix($0) } == true } })

        // Bad periods: one clear line each, nothing written.
        let minutes = try cli.run(["retention", "set", "--after", "18m"])
        #expect(minutes.status == 2 && minutes.stderr.contains("18mo"))
        #expect(try cli.run(["retention", "set", "--after", "6mo"]).stderr.contains("1 to 100 years"))
        // A longer policy: nobody due; back to six years.
        #expect(try cli.run(["retention", "set", "--after", "10y"]).stdout.contains("10 years"))
        #expect(try cli.run(["retention", "apply", "--yes"]).stdout.contains("nobody is due"))
        #expect(try cli.run(["retention", "set", "--after", "6y"]).stdout.contains("2 fall due now"))

        // The day's first unlock would run it, but this laptop has never synced: it says so.
        let unlock = try cli.run(["unlock"])
        #expect(unlock.status == 0 && unlock.stdout.contains("retention: 2 due but not erased") && unlock.stdout.contains("never synced"))

        // Without a terminal and without --yes: refused, nothing erased.
        let refused = try cli.run(["retention", "apply"])
        #expect(refused.status == 2 && refused.stderr.contains("--yes"))
        let applied = try cli.ok(["retention", "apply", "--yes"])
        #expect(applied["erased"] == 2 && applied["purged"] == 2)
        let people = try cli.run(["people"]).stdout
        #expect(!people.contains("Saffron") && !people.contains("Tansy") && people.contains("Violet"))
        #expect(try cli.run(["retention"]).stdout.contains("nobody falls due"))

        // The audit: who, when, why, how many; never whom.
        let audit = try cli.run(["audit"])
        #expect(audit.status == 0 && audit.stdout.contains("erasures") && audit.stdout.components(separatedBy: "retention").count - 1 == 2)
        #expect(!audit.stdout.contains("Saffron") && !old.contains { audit.stdout.contains(String($0.prefix(8))) })
        let auditJSON = try cli.ok(["audit"])
        #expect(auditJSON["erasures"]?.arrayValue?.map { $0["reason"] } == ["retention", "retention"])
        #expect(try cli.run(["check"]).status == 0)
    }
}
