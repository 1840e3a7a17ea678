import Foundation
import OutreachCore
import Testing

/// `fieldlog` runs the offline commands itself and hands init, sync and demo to `fieldlog-net`
/// (`Sources/FieldlogCLI/CommandLine.swift`): one program to the user, no HTTP code in the
/// binary a van worker runs all evening.
@Suite struct BinariesTests {
    static let helper = CLI.binary.deletingLastPathComponent().appendingPathComponent("fieldlog-net")

    /// Whether the file holds `needle` anywhere (type metadata keeps module names).
    static func contains(_ file: URL, _ needle: String) throws -> Bool {
        let bytes = try Data(contentsOf: file, options: .alwaysMapped)
        return bytes.range(of: Data(needle.utf8)) != nil
    }

    @Test func theOfflineBinaryLinksNoHTTPCode() throws {
        // Swift mangles a module name as its length and its name.
        for module in ["15AsyncHTTPClient", "11Hummingbird", "8NIOPosix"] {
            #expect(try Self.contains(Self.helper, module), "the search must be able to find \(module)")
            #expect(try !Self.contains(CLI.binary, module), "fieldlog links \(module)")
        }
    }

    @Test func helpListsEveryCommandAndTheHandedOverOnesShowTheirOwnHelp() throws {
        let cli = CLI()
        defer { cli.cleanUp() }
        let help = try cli.run(["--help"])
        #expect(help.status == 0)
        for command in ["init", "unlock", "contact", "sync", "report", "demo"] {
            #expect(help.stdout.contains("\n  \(command) "), "fieldlog --help lists \(command)")
        }
        let initHelp = try cli.run(["init", "--help"])
        #expect(initHelp.status == 0 && initHelp.stdout.contains("--token") && initHelp.stdout.contains("First laptop of the partnership"))
        let syncHelp = try cli.run(["help", "sync"])
        #expect(syncHelp.status == 0 && syncHelp.stdout.contains("--server"))
        // Exit codes come through the hand-over unchanged.
        let noStore = try cli.run(["sync"])
        #expect(noStore.status == 3 && noStore.stderr.hasPrefix("error: no store at"))
    }

    @Test func fieldlogWithoutItsHelperSaysWhatIsMissing() throws {
        var cli = CLI()
        defer { cli.cleanUp() }
        let lonely = cli.dir.appendingPathComponent("bin/fieldlog")
        try FileManager.default.createDirectory(at: lonely.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: CLI.binary, to: lonely)
        cli.executable = lonely
        let r = try cli.run(["init", "--org", "basis", "--device", "b1"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: cannot run") && r.stderr.contains("fieldlog-net") && r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: cli.store.path))
        // The offline commands still work on their own.
        #expect(try cli.run(["--version"]).stdout.hasPrefix("0."))
    }
}
