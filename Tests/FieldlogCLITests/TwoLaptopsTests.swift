import Foundation
import OutreachCore
import Testing

/// Two laptops of one charity, joined by an invite, swap bundle files and end up the same.
@Suite struct TwoLaptopsTests {
    @Test func laptopsConvergeThroughBundlesAndResolveAConflict() throws {
        let b1 = CLI("b1")
        defer { b1.cleanUp() }
        try b1.ok(["init", "--org", "basis", "--device", "b1"])
        let rose = try b1.ok(["person", "add", "--name", "Rose"])["ref"]!.stringValue!
        let invite = b1.dir.appendingPathComponent("b2.invite")
        let made = try b1.ok(["device", "invite", "b2", "--out", invite.path])
        let pass = try #require(made["passphrase"]?.stringValue)
        var b2 = CLI("b2", base: b1.dir)
        b2.env["XDG_RUNTIME_DIR"] = b1.dir.appendingPathComponent("run2").path
        try b2.ok(["init", "--invite", invite.path], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])
        #expect(try b2.run(["status", "--format", "json"]).json["org"] == "basis")

        func swap() throws {
            let status = b1.dir.appendingPathComponent("b2-status.json")
            try b2.run(["status", "--format", "json"]).stdout.write(to: status, atomically: true, encoding: .utf8)
            let one = b1.dir.appendingPathComponent("one.bundle"), two = b1.dir.appendingPathComponent("two.bundle")
            try b1.ok(["export", "--out", one.path, "--for", status.path])
            try b2.ok(["import", one.path])
            try b2.ok(["export", "--out", two.path])
            try b1.ok(["import", two.path])
        }
        try swap()
        // Offline, both change Rose's risk level
        try b1.ok(["person", "set", rose, "--risk", "high"])
        try b2.ok(["person", "set", rose, "--risk", "low"])
        try b2.ok(["contact", "add", rose, "--setting", "foot", "--need", "exit"])
        try swap()
        for laptop in [b1, b2] {
            let conflicts = try laptop.run(["conflicts", "--format", "json"]).json["conflicts"]?.arrayValue ?? []
            #expect(conflicts.count == 1)
            #expect(Set(conflicts.first?["values"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []) == ["high", "low"])
        }
        // Resolving on one laptop clears it on both after the next swap
        let refused = try b1.run(["resolve", rose, "priority", "in"])
        #expect(refused.status != 0 && refused.stderr.contains("no conflict"))
        try b1.ok(["resolve", rose, "risk", "high"])
        try swap()
        for laptop in [b1, b2] {
            #expect(try laptop.run(["conflicts", "--format", "json"]).json["conflicts"] == [])
            let people = try laptop.run(["people", "--format", "json"]).json
            #expect(people["people"]?.arrayValue?.first?["risk"] == "high")
        }
        #expect(try b1.run(["status", "--format", "json"]).json["vector"] == b2.run(["status", "--format", "json"]).json["vector"])
        #expect(try b1.run(["person", "show", rose, "--format", "json"]).json == b2.run(["person", "show", rose, "--format", "json"]).json)
    }
}
