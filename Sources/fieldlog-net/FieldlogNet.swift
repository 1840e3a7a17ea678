import ArgumentParser
import FieldlogCLI

/// `fieldlog-net`: the whole `fieldlog` command line, including the commands that reach a sync
/// server or run one. Users type `fieldlog`, which hands these commands over.
@main
struct FieldlogNet: AsyncParsableCommand {
    static let configuration = FieldlogCommandLine.configuration(initialise: Init.self, sync: Sync.self, demo: Demo.self)

    /// One error boundary for every command (`FieldlogCommandLine.run`).
    static func main() async {
        await FieldlogCommandLine.run(FieldlogNet.self, Array(CommandLine.arguments.dropFirst()))
    }
}
