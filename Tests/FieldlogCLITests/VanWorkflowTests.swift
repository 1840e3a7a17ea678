import Foundation
import OutreachCore
import Testing

@Suite struct VanWorkflowTests {
    @Test func aShiftFromInitToReport() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        // Given a new laptop
        let initOut = try cli.ok(["init", "--org", "basis", "--device", "van1"])
        #expect(initOut["org"] == "basis")
        // When a worker registers Rose and logs a contact, an incident and a retracted mistake
        let rose = try #require(try cli.ok(["person", "add", "--name", "Rose", "--descriptor", "red coat"])["ref"]?.stringValue)
        #expect(rose.count >= 4)
        let contact = try cli.ok(["contact", "add", rose, "--setting", "van", "--zone", "Z3", "--service", "condoms=10,lube=2",
                                  "--service", "naloxone", "--need", "housing", "--referral", "drug-treatment", "--at", "yesterday 21:40",
                                  "--note", "asked about hostels"])
        #expect(contact["ref"]?.stringValue?.count == 7)
        #expect(contact["referrals"]?.arrayValue?.count == 1)
        try cli.ok(["contact", "add", "--unidentified", "3", "--setting", "foot", "--zone", "Z1"])
        let wrong = try #require(try cli.ok(["contact", "add", rose, "--setting", "van"])["ref"]?.stringValue)
        try cli.ok(["retract", wrong, "--reason", "duplicate"])
        let incident = try cli.ok(["incident", "add", rose, "--type", "assault", "--consent", "L2", "--vehicle", "blue Corsa"])
        #expect(incident["alert"]?.stringValue != nil)
        try cli.ok(["incident", "add", "--type", "threats", "--consent", "L0"])
        try cli.ok(["person", "set", rose, "--risk", "high", "--priority", "in", "--lead", "Sam (ISVA)"])

        // Then the reads show it
        let people = try cli.run(["people", "--format", "json"]).json
        #expect(people["schema"] == "fieldlog.people/1")
        #expect(people["people"]?.arrayValue?.first?["name"] == "Rose")
        #expect(people["people"]?.arrayValue?.first?["risk"] == "high")
        let show = try cli.run(["person", "show", rose, "--format", "json"]).json
        #expect(show["contacts"]?.arrayValue?.count == 1)
        #expect(show["contacts"]?.arrayValue?.first?["services"] == ["condoms": 10, "lube": 2, "naloxone": 1])
        #expect(show["contacts"]?.arrayValue?.first?["notes"] == ["asked about hostels"])
        #expect(show["referrals"]?.arrayValue?.first?["destination"] == "drug-treatment")
        let alerts = try cli.run(["alerts", "--format", "json"]).json
        #expect(alerts["alerts"]?.arrayValue?.count == 1)
        #expect(alerts["alerts"]?.arrayValue?.first?["text"]?.stringValue?.contains("blue Corsa") == true)
        #expect(try cli.run(["alerts"]).stdout.contains("blue Corsa"))

        // And the report counts by DESIGN §8 (the period covers yesterday and today)
        let now = LondonTime()
        let today = String(now.format(WallClock.nowMillis()).prefix(10))
        let yesterday = String(now.format(WallClock.nowMillis() - 86_400_000).prefix(10))
        let json = try cli.run(["report", "--from", yesterday, "--to", today, "--format", "json"]).json
        #expect(json["schema"] == "fieldlog.partnership-report/1")
        // One charity's laptop, one charity in the log: merged and its own column agree.
        #expect(json["byOrg"]?["basis"] == json["merged"])
        let report = try #require(json["merged"])
        #expect(report["contacts"] == 4)          // Rose once (the duplicate retracted) + 3 unidentified
        #expect(report["engaged"] == 1)
        #expect(report["new"] == 1)
        #expect(report["needs"] == ["housing": 1])
        #expect(report["services"] == ["condoms": 10, "lube": 2, "naloxone": 1])
        #expect(report["incidents"]?["total"] == 2)
        #expect(report["incidents"]?["policeConsented"] == 1)
        #expect(report["referrals"]?["byDestination"] == ["drug-treatment": 1])
        #expect(report["priorityGroup"]?["size"] == 1)
        #expect(report["priorityGroup"]?["withLeadProfessional"] == 1)
        #expect(try cli.run(["report", "--from", yesterday, "--to", today]).stdout.contains("outreach contacts"))

        // The store checks out, and its file holds none of what was typed
        let check = try cli.run(["check", "--format", "json"])
        #expect(check.status == 0 && check.json["healthy"] == true)
        try cli.run(["lock"])
        for file in try FileManager.default.contentsOfDirectory(at: cli.dir.appendingPathComponent("store"), includingPropertiesForKeys: nil) {
            let bytes = try Data(contentsOf: file)
            for secret in ["Rose", "red coat", "blue Corsa", "Sam (ISVA)", "drug-treatment", "hostels"] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in clear in \(file.lastPathComponent)")
            }
        }
    }

    @Test func aWorkerCanTypeTheWorkingNameInsteadOfTheRef() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "van1"])
        let rose = try cli.ok(["person", "add", "--name", "Rose"])["ref"]!.stringValue!
        let logged = try cli.ok(["contact", "add", "rose", "--setting", "van"])
        #expect(logged["person"]?.stringValue?.hasPrefix(rose) == true)
        #expect(try cli.run(["person", "show", "ROSE", "--format", "json"]).json["contacts"]?.arrayValue?.count == 1)
        // A second Rose makes the name ambiguous: the error lists both refs and changes nothing
        let other = try cli.ok(["person", "add", "--name", "rose"])["ref"]!.stringValue!
        let before = try cli.fingerprint()
        let r = try cli.run(["contact", "add", "Rose", "--setting", "van"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("2 people are called Rose") && r.stderr.contains(rose) && r.stderr.contains(other))
        #expect(try cli.fingerprint() == before)
    }

    @Test func lockAndUnlockGateEveryRead() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "van1"])
        #expect(try cli.run(["lock"]).stdout.contains("locked"))
        // Locked, and no passphrase in the environment: refused
        let locked = try cli.run(["people"], unset: ["FIELDLOG_PASSPHRASE"])
        #expect(locked.status == 3)
        #expect(locked.stderr.contains("locked") && locked.stderr.contains("fieldlog unlock"))
        // Unlock with the passphrase for two hours
        let unlock = try cli.run(["unlock", "--for", "2h"])
        #expect(unlock.status == 0 && unlock.stdout.contains("unlocked until"))
        #expect(try cli.run(["people"], unset: ["FIELDLOG_PASSPHRASE"]).status == 0)
        let status = try cli.run(["status", "--format", "json"], unset: ["FIELDLOG_PASSPHRASE"]).json
        #expect(status["unlockedUntil"]?.stringValue != nil)
        // The session file lives in the runtime dir, readable by the user alone
        let session = cli.dir.appendingPathComponent("run/fieldlog")
        let files = try FileManager.default.contentsOfDirectory(atPath: session.path)
        #expect(files.count == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: session.appendingPathComponent(files[0]).path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
