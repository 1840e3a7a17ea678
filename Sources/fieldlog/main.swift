import ArgumentParser
import FieldlogCLI
import OutreachCore

/// `fieldlog`: the offline commands run here; `init`, `sync` and `demo` are handed to
/// `fieldlog-net` before anything is parsed (see `FieldlogCLI.FieldlogCommandLine`).
/// Every offline command is synchronous: no concurrency runtime is started for them.
struct Fieldlog: ParsableCommand {
    static let configuration = FieldlogCommandLine.configuration(initialise: InitHandedOver.self, sync: SyncHandedOver.self, demo: DemoHandedOver.self)
}

/// Stand-ins that give `fieldlog --help` its full list; their commands never reach them.
struct InitHandedOver: ParsableCommand { static let configuration = FieldlogCommandLine.initConfiguration }
struct SyncHandedOver: ParsableCommand { static let configuration = FieldlogCommandLine.syncConfiguration }
struct DemoHandedOver: ParsableCommand { static let configuration = FieldlogCommandLine.demoConfiguration }

let arguments = Array(CommandLine.arguments.dropFirst())
if NetworkCommands.handles(arguments) { NetworkCommands.exec(arguments) }
// One offline command, then exit: what it folded is left for the system to take back at exit.
UntilExit.enable()
FieldlogCommandLine.run(Fieldlog.self, arguments)
