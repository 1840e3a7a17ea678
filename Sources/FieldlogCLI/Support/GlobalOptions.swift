import ArgumentParser
import Foundation
import OutreachCore

/// How a read command prints.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}

/// Options every command takes.
public struct StoreOptions: ParsableArguments {
    public init() {}

    @Option(name: .long, help: ArgumentHelp("The store directory (default: $FIELDLOG_STORE, else ~/.local/share/fieldlog).", valueName: "dir"))
    public var store: String?

    /// The store directory this command works on.
    public var directory: URL {
        if let store, !store.isEmpty { return URL(fileURLWithPath: (store as NSString).expandingTildeInPath) }
        return Self.defaultDirectory
    }

    /// The store directory when no `--store` is given.
    public static var defaultDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        if let s = env["FIELDLOG_STORE"], !s.isEmpty { return URL(fileURLWithPath: (s as NSString).expandingTildeInPath) }
        if let data = env["XDG_DATA_HOME"], !data.isEmpty { return URL(fileURLWithPath: data).appendingPathComponent("fieldlog") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/fieldlog")
    }
}

public struct FormatOption: ParsableArguments {
    public init() {}

    @Option(name: .long, help: "table or json.")
    public var format: OutputFormat = .table
}
