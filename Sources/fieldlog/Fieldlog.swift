import ArgumentParser
import OutreachCore

@main
struct Fieldlog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldlog",
        abstract: "The street-outreach field log: works offline, merges without losing anything.",
        discussion: """
            Start of a shift:  fieldlog unlock
            Log a contact:     fieldlog contact add ROSE --setting van --zone Z3 --service condoms=10
            Look someone up:   fieldlog people   |   fieldlog person show REF
            End of a shift:    fieldlog lock
            """,
        version: "0.1.0",
        subcommands: [
            Init.self, Unlock.self, Lock.self, Status.self,
            PersonCommand.self, People.self, ContactCommand.self, IncidentCommand.self, Alerts.self,
            LogCommand.self, Retract.self, Conflicts.self, Resolve.self,
            Sync.self, Export.self, Import.self, DeviceCommand.self, ReportCommand.self, Check.self, Demo.self,
        ]
    )
}
