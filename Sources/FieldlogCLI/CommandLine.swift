import ArgumentParser
import Foundation

/// The `fieldlog` command line, shared by its two binaries.
///
/// `fieldlog` holds every command that never touches the network: what a van worker runs all
/// evening starts fast and links no HTTP code. The commands that reach a sync server or run one
/// (`init`, which may enrol, `sync` and `demo`) live in `fieldlog-net`, installed beside it;
/// `fieldlog` hands those over with `exec`, so the user sees one program.
public enum FieldlogCommandLine {
    public static let version = "0.4.0"

    /// The root command's configuration, with the commands in the order `--help` lists them.
    public static func configuration(initialise: any ParsableCommand.Type, sync: any ParsableCommand.Type,
                                     demo: any ParsableCommand.Type) -> CommandConfiguration {
        CommandConfiguration(
            commandName: "fieldlog",
            abstract: "The street-outreach field log: works offline, merges without losing anything.",
            discussion: """
                Start of a shift:  fieldlog unlock
                Log a contact:     fieldlog contact add ROSE --setting van --zone Z3 --service condoms=10
                Look someone up:   fieldlog people   |   fieldlog person show REF
                End of a shift:    fieldlog lock
                """,
            version: version,
            subcommands: [
                initialise, Unlock.self, Lock.self, Status.self, ChangePassphrase.self,
                PersonCommand.self, People.self, ContactCommand.self, IncidentCommand.self, Alerts.self, ZoneCommand.self, Zones.self,
                LogCommand.self, Retract.self, Conflicts.self, Resolve.self, ReferralCommand.self, SafeguardingCommand.self,
                sync, Export.self, Import.self, DeviceCommand.self, KeysCommand.self, ReportCommand.self, TaskingCommand.self, RetentionCommand.self, Audit.self, Check.self, demo,
            ]
        )
    }

    public static let initConfiguration = CommandConfiguration(commandName: "init",
        abstract: "Create this laptop's store: the first of a partnership, or joining with an invite.",
        discussion: """
            First laptop of the partnership:  fieldlog init --org basis --device b1 [--server URL --token TOKEN]
            Another laptop:                    fieldlog init --invite FILE [--device b2]
            With --server and --token (or an invite that carries them) the laptop enrols with the
            sync server; the token is a single-use enrolment token from SyncServer admin enrol.
            The passphrase comes from FIELDLOG_PASSPHRASE or is asked twice; an invite's one-time
            passphrase from FIELDLOG_INVITE_PASSPHRASE or is asked.
            """)
    public static let syncConfiguration = CommandConfiguration(
        commandName: "sync", abstract: "Exchange events with the sync server until both sides have everything (safe to repeat, resumes after a cut).")
    public static let demoConfiguration = CommandConfiguration(
        commandName: "demo", abstract: "The whole story: a sync server and four laptops of two charities, in a temporary directory.")
}

extension FieldlogCommandLine {
    /// Parses and runs a `fieldlog` command line. Help and `--version` print as usual; a bad
    /// flag or value is one line on stderr naming the command's help, exit 2 (the README's
    /// table), like every other bad input.
    public static func run<Root: ParsableCommand>(_ root: Root.Type, _ arguments: [String]) -> Never {
        do {
            var command = try root.parseAsRoot(arguments)
            try command.run()
            exit(0)
        } catch {
            exit(code(for: error, root: root, arguments: arguments))
        }
    }

    /// The same for `fieldlog-net`, whose commands may be async.
    public static func run<Root: AsyncParsableCommand>(_ root: Root.Type, _ arguments: [String]) async -> Never {
        do {
            var command = try root.parseAsRoot(arguments)
            if var async = command as? any AsyncParsableCommand { try await async.run() } else { try command.run() }
            exit(0)
        } catch {
            exit(code(for: error, root: root, arguments: arguments))
        }
    }

    static func code<Root: ParsableCommand>(for error: any Error, root: Root.Type, arguments: [String]) -> Int32 {
        if let code = error as? ExitCode { return code.rawValue }
        if root.exitCode(for: error) == .success || error is CleanExit {
            root.exit(withError: error)  // help, --version: printed as argument-parser prints them
        }
        if root.exitCode(for: error) == .validationFailure {
            let command = (["fieldlog"] + arguments.prefix { !$0.hasPrefix("-") }.prefix(2)).joined(separator: " ")
            Output.error(root.message(for: error), hint: "\(command) --help shows what it takes")
            return 2
        }
        return Output.fail(error).rawValue
    }
}

/// Hands the network commands from `fieldlog` to `fieldlog-net`.
public enum NetworkCommands {
    public static let binaryName = "fieldlog-net"
    static let names: Set<String> = ["init", "sync", "demo"]

    /// Whether `fieldlog ARGS` is one of the commands `fieldlog-net` runs (or help for one).
    public static func handles(_ arguments: [String]) -> Bool {
        guard let first = arguments.first else { return false }
        if names.contains(first) { return true }
        return first == "help" && arguments.dropFirst().first.map(names.contains) == true
    }

    /// Replaces this process with `fieldlog-net ARGS`: same terminal, same environment, its exit code.
    public static func exec(_ arguments: [String]) -> Never {
        let me = executablePath()
        let path = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(binaryName).path
        if !FileManager.default.isExecutableFile(atPath: path), let package = developmentPackage(containing: me) {
            buildHelper(package: package.root, configuration: package.configuration)
        }
        let argv = (["fieldlog"] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        Output.error("cannot run \(path) (\(reason))",
                     hint: "\(binaryName) must be installed beside fieldlog: copy both from .build/release")
        exit(1)
    }

    /// The running binary's path, symlinks resolved.
    static func executablePath() -> String {
        #if os(Linux)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        #endif
        return Bundle.main.executableURL?.resolvingSymlinksInPath().path ?? CommandLine.arguments[0]
    }

    /// When `fieldlog` runs from a SwiftPM build tree (`swift run fieldlog demo` builds only
    /// `fieldlog`): the package and the configuration it was built in.
    static func developmentPackage(containing binary: String) -> (root: URL, configuration: String)? {
        let dir = URL(fileURLWithPath: binary).deletingLastPathComponent()
        let configuration = dir.lastPathComponent
        guard ["debug", "release"].contains(configuration) else { return nil }
        var candidate = dir
        while candidate.pathComponents.count > 1 {
            candidate.deleteLastPathComponent()
            if candidate.lastPathComponent == ".build" {
                let root = candidate.deletingLastPathComponent()
                let manifest = (try? String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)) ?? ""
                return manifest.contains("\"\(binaryName)\"") ? (root, configuration) : nil
            }
        }
        return nil
    }

    /// Builds `fieldlog-net` beside `fieldlog` in a development tree, its output on stderr
    /// (stdout may be carrying JSON).
    static func buildHelper(package: URL, configuration: String) {
        Output.note("fieldlog: building \(binaryName) (init, sync and demo live there), once…")
        let swift = Process()
        swift.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        swift.arguments = ["swift", "build", "--package-path", package.path, "--product", binaryName, "-c", configuration]
        swift.standardOutput = FileHandle.standardError
        do {
            try swift.run()
            swift.waitUntilExit()
        } catch {
            Output.error("cannot build \(binaryName) (\(error))", hint: "run swift build in \(package.path)")
            exit(1)
        }
        if swift.terminationStatus != 0 {
            Output.error("building \(binaryName) failed", hint: "run swift build in \(package.path) and read its errors")
            exit(1)
        }
    }
}
