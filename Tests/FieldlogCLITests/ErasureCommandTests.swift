import Foundation
import OutreachCore
import Testing

/// `fieldlog person erase` as a drop-in worker runs it (issue #10).
@Suite struct ErasureCommandTests {
    @Test func eraseAsksToConfirmThenForgetsHerAndKeepsTheReport() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        try cli.ok(["init", "--org", "basis", "--device", "drop1"])
        let rose = try #require(try cli.ok(["person", "add", "--name", "Rosalind", "--descriptor", "green coat"])["ref"]?.stringValue)
        try cli.ok(["contact", "add", rose, "--setting", "van", "--need", "housing", "--note", "sleeping at Quarry Hill"])
        let today = String(LondonTime().format(WallClock.nowMillis()).prefix(10))
        let report = try cli.run(["report", "--from", today, "--to", today, "--format", "json"]).json

        // Without a terminal and without --yes: refused, nothing changed.
        let refused = try cli.run(["person", "erase", rose, "--reason", "she asked"])
        #expect(refused.status != 0 && refused.stderr.contains("--yes"))
        #expect(try cli.run(["person", "show", rose]).stdout.contains("Rosalind"))
        // Bad input: an unknown ref, no reason.
        #expect(try cli.run(["person", "erase", "zzzz", "--reason", "x", "--yes"]).status != 0)
        #expect(try cli.run(["person", "erase", rose, "--yes"]).status != 0)

        let erased = try cli.ok(["person", "erase", rose, "--reason", "she asked", "--yes"])
        #expect(erased["purged"] == 2)
        let show = try cli.run(["person", "show", rose])
        #expect(show.status == 0 && show.stdout.contains("erased") && !show.stdout.contains("Rosalind") && !show.stdout.contains("Quarry"))
        #expect(!(try cli.run(["people"]).stdout.contains("Rosalind")))
        #expect(try cli.run(["report", "--from", today, "--to", today, "--format", "json"]).json == report)
        // Once is enough: a second erasure says so and changes nothing.
        let again = try cli.run(["person", "erase", rose, "--reason", "again", "--yes"])
        #expect(again.status != 0 && again.stderr.contains("already erased"))
        #expect(try cli.run(["check"]).status == 0)
    }
}
