import Foundation
import OutreachCore
import Testing

/// `fieldlog incident export`, `incident consent` and `audit`, and `alerts --zone`, on the built binary.
@Suite struct PoliceExportTests {
    @Test func exportsFollowHerConsentAndEveryOneIsAudited() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        let rose = try #require(try cli.ok(["person", "add", "--name", "Rose", "--descriptor", "red coat"])["ref"]?.stringValue)
        func incident(_ consent: String, zone: String = "Z3") throws -> String {
            try #require(try cli.ok(["incident", "add", rose, "--type", "assault", "--consent", consent, "--zone", zone,
                                     "--offender", "tall man, beard", "--vehicle", "silver Astra YX12", "--note", "she was at the bus stop"])["ref"]?.stringValue)
        }
        let l2 = try incident("L2"), l3 = try incident("L3"), l1 = try incident("L1", zone: "Z5"), l0 = try incident("L0")

        // L2: what happened and who did it, nothing about her.
        let anonymous = try cli.run(["incident", "export", l2, "--to", "PC Khan, Leeds District", "--format", "json"])
        #expect(anonymous.status == 0, "\(anonymous.stderr)")
        #expect(anonymous.json["consent"] == "L2" && anonymous.json["vehicle"] == "silver Astra YX12" && anonymous.json["offender"] == "tall man, beard")
        #expect(anonymous.json["victim"] == nil && anonymous.json["note"] == nil)
        for secret in ["Rose", "red coat", "bus stop"] { #expect(!anonymous.stdout.contains(secret), "L2 export holds \(secret)") }
        // L3: with her identity.
        let full = try cli.run(["incident", "export", l3])
        #expect(full.status == 0 && full.stdout.contains("Rose") && full.stdout.contains("red coat") && full.stdout.contains("silver Astra"))
        #expect(full.stdout.contains("L3, full report"))

        // Refused: L0, L1, consent withdrawn, not an incident, unknown.
        try BadInputTests.expectRefused(cli, ["incident", "export", l1], mentioning: ["L1", "L2 or L3"])
        try BadInputTests.expectRefused(cli, ["incident", "export", l0], mentioning: ["L0"])
        let withdrawn = try cli.run(["incident", "consent", l2, "L1", "--reason", "withdrawn on the phone"])
        #expect(withdrawn.status == 0 && withdrawn.stdout.contains("L1"))
        try BadInputTests.expectRefused(cli, ["incident", "export", l2], mentioning: ["withdrawn"])
        let contact = try #require(try cli.ok(["contact", "add", rose, "--setting", "van"])["ref"]?.stringValue)
        try BadInputTests.expectRefused(cli, ["incident", "export", contact], mentioning: ["not an incident"])
        try BadInputTests.expectRefused(cli, ["incident", "export", "0000000"], mentioning: ["no incident"])

        // The audit: the two exports that happened, newest first, with who and at which level.
        let audit = try cli.run(["audit", "--format", "json"]).json
        let exports = try #require(audit["exports"]?.arrayValue)
        #expect(exports.count == 2)
        #expect(exports.map { $0["level"] } == ["L3", "L2"])
        #expect(exports[1]["recipient"] == "PC Khan, Leeds District" && exports[1]["org"] == "basis")
        #expect(try cli.run(["audit"]).stdout.contains("PC Khan"))

        // The van's alerts: newest first, by zone.
        let z5 = try cli.run(["alerts", "--zone", "z5", "--format", "json"]).json["alerts"]?.arrayValue ?? []
        #expect(z5.count == 1 && z5[0]["zone"] == "Z5")
        let all = try cli.run(["alerts", "--format", "json"]).json["alerts"]?.arrayValue ?? []
        #expect(all.count == 3)  // L1, L2, L3 warn; L0 does not
        #expect(all.map { $0["issuedAt"]?.stringValue ?? "" } == all.map { $0["issuedAt"]?.stringValue ?? "" }.sorted(by: >))
    }

    @Test func theTaskingListAndItsActions() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "b1"])
        let rose = try #require(try cli.ok(["person", "add", "--name", "Rose"])["ref"]?.stringValue)
        #expect(try cli.run(["tasking"]).stdout.contains("nobody is in the priority group"))
        #expect(try cli.run(["person", "set", rose, "--priority", "in", "--risk", "high", "--review", "2020-01-01", "--lead", "Sam"]).status == 0)
        let logged = try cli.ok(["contact", "add", rose, "--setting", "van", "--referral", "housing", "--format", "json"])
        let referral = try #require(logged["referrals"]?.arrayValue?.first?.stringValue)
        let added = try cli.run(["tasking", "add", "Rose", "offer a GP appointment", "--owner", "basis", "--due", "2026-12-01"])
        #expect(added.status == 0 && added.stdout.contains("Rose"))
        let list = try cli.run(["tasking", "--format", "json"]).json
        let member = try #require(list["members"]?.arrayValue?.first)
        #expect(member["name"] == "Rose" && member["risk"] == ["high"] && member["lead"] == "Sam" && member["reviewOverdue"] == true)
        #expect(member["openReferrals"] == ["housing"])
        let action = try #require(member["openActions"]?.arrayValue?.first?["ref"]?.stringValue)
        let table = try cli.run(["tasking"]).stdout
        #expect(table.contains("Rose") && table.contains("OVERDUE") && table.contains("offer a GP appointment"))
        let csv = try cli.run(["tasking", "list", "--format", "csv"]).stdout.split(separator: "\n")
        #expect(csv.count == 2 && csv[0].hasPrefix("person,org,risk") && csv[1].contains("housing"))
        #expect(try cli.run(["referral", "outcome", referral, "attended"]).status == 0)
        #expect(try cli.run(["tasking", "done", action]).status == 0)
        let after = try cli.run(["tasking", "--format", "json"]).json["members"]?.arrayValue?.first
        #expect(after?["openReferrals"] == [] && after?["openActions"] == [])
        try BadInputTests.expectRefused(cli, ["tasking", "done", action], mentioning: ["already done"])
        try BadInputTests.expectRefused(cli, ["referral", "outcome", referral, "went"], mentioning: ["referral outcome"])

        // Safeguarding concerns: without her consent only with a reason.
        #expect(try cli.run(["safeguarding", "add", "Rose", "--category", "exploitation", "--action", "adult social care"]).status == 0)
        try BadInputTests.expectRefused(cli, ["safeguarding", "add", "Rose", "--category", "sexual", "--without-consent"], mentioning: ["reason"])
        try BadInputTests.expectRefused(cli, ["safeguarding", "add", "Rose", "--category", "worry"], mentioning: ["safeguarding category"])
        #expect(try cli.run(["safeguarding", "add", "Rose", "--category", "sexual", "--without-consent", "--reason", "risk to life"]).status == 0)
        let today = String(LondonTime().format(WallClock.nowMillis()).prefix(10))
        let yesterday = String(LondonTime().format(WallClock.nowMillis() - 86_400_000).prefix(10))
        let counts = try cli.run(["report", "--from", yesterday, "--to", today, "--format", "json"]).json["merged"]?["safeguarding"]
        #expect(counts?["byCategory"] == ["exploitation": 1, "sexual": 1] && counts?["withoutConsent"] == 1)
    }
}
