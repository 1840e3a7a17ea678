import ArgumentParser
import Foundation
import OutreachCore

struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zone", abstract: "The partnership's list of coarse zones.", subcommands: [ZoneAdd.self])
}

struct ZoneAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a zone to the partnership's list (synced to every laptop); --zone then takes only listed zones.",
        discussion: "fieldlog zone add Z3 --label \"Chapeltown Road north\"   (a coarse area, never an address)")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The zone's short name, e.g. Z3.") var zone: String
    @Option(help: "What the zone covers, in a few words.") var label: String?

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let event = try log.defineZone(zone, label: label, at: WallClock.nowMillis())
            if output.format == .json {
                Output.json(["ref": .string(String(event.id.hex.prefix(7))), "zone": .string(zone)])
            } else {
                Output.line("zone \(zone) added\(label.map { ": \($0)" } ?? "")")
            }
        }
    }
}

struct Zones: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zones", abstract: "The partnership's zones.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let zones = try Session.unlocked(storeOptions).personIndex().zones.sorted { $0.key < $1.key }
            if output.format == .json {
                Output.json(["schema": "fieldlog.zones/1", "zones": .array(zones.map { ["zone": .string($0.key), "label": .string($0.value)] })])
                return
            }
            if zones.isEmpty { Output.line("no zones listed yet: any --zone is taken as typed (fieldlog zone add Z3 --label …)"); return }
            Output.table(["zone", "covers"], zones.map { [$0.key, $0.value] })
        }
    }
}
