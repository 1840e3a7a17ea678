import Foundation
import OutreachCore
import Testing

/// Runs the built `fieldlog` binary against a throwaway store and runtime directory.
struct CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var json: JSONValue { (try? JSONValue.parse(stdout)) ?? .null }
    }

    let dir: URL
    let store: URL
    var env: [String: String]
    /// The `fieldlog` binary this CLI runs (a copy elsewhere, to test a broken install).
    var executable = CLI.binary

    static let binary: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fieldlog")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/fieldlog")
    }()

    init(_ name: String = "store", base: URL? = nil) {
        dir = (base ?? FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-cli-\(UUID().uuidString)"))
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        store = dir.appendingPathComponent(name)
        env = [
            "PATH": "/usr/bin:/bin", "HOME": dir.path,
            "FIELDLOG_STORE": dir.appendingPathComponent(name).path,
            "XDG_RUNTIME_DIR": dir.appendingPathComponent("run").path,
            "FIELDLOG_PASSPHRASE": "a test passphrase",
        ]
    }

    /// Runs `fieldlog args…`; `unset` names variables to leave out.
    @discardableResult
    func run(_ args: [String], set extra: [String: String] = [:], unset: [String] = []) throws -> Result {
        #expect(FileManager.default.isExecutableFile(atPath: executable.path), "build fieldlog first: swift build --build-tests")
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        var e = env.merging(extra) { _, new in new }
        for name in unset { e[name] = nil }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: r, as: UTF8.self))
    }

    /// Runs a write that must succeed, returning its JSON.
    @discardableResult
    func ok(_ args: [String], set extra: [String: String] = [:]) throws -> JSONValue {
        let r = try run(args + ["--format", "json"], set: extra)
        #expect(r.status == 0, "fieldlog \(args.joined(separator: " ")) failed: \(r.stderr)")
        return r.json
    }

    /// `run` for async tests: the child is waited for on a thread of its own, never on one of the
    /// few threads Swift's concurrency has (a sync server in this process needs them to answer
    /// the child; two tests blocking them both once stalled everything for two minutes).
    func runAsync(_ args: [String], set extra: [String: String] = [:], unset: [String] = []) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try self.run(args, set: extra, unset: unset)) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// `ok` for async tests (see `runAsync`).
    @discardableResult
    func okAsync(_ args: [String], set extra: [String: String] = [:]) async throws -> JSONValue {
        let r = try await runAsync(args + ["--format", "json"], set: extra)
        #expect(r.status == 0, "fieldlog \(args.joined(separator: " ")) failed: \(r.stderr)")
        return r.json
    }

    /// Events held and the vector, to prove a failed command changed nothing.
    func fingerprint() throws -> String {
        let r = try run(["status", "--format", "json"])
        return "\(r.json["events"] ?? .null) \(r.json["vector"]?.canonicalString() ?? "")"
    }

    func cleanUp() { try? FileManager.default.removeItem(at: dir) }
}
