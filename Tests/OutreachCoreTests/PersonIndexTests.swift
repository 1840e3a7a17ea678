import Foundation
import Testing
@testable import OutreachCore

/// Refs, working names and zones, read from the one fold's state (no mapping of its own).
@Suite struct PersonIndexTests {
    @Test func refsNamesAndZonesAreTheStates() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let (rose, _) = try log.registerPerson(name: "Rose", at: t0)
        let (dup, dupEvents) = try log.registerPerson(name: "Rose again", at: t0)
        let (ivy, _) = try log.registerPerson(name: "Ivy", at: t0)
        let (alias, _) = try log.registerPerson(name: "Ivy B", at: t0)
        try log.link(ivy, alias, at: t0 + 1)
        try log.retract(dupEvents[0], reason: .error, at: t0 + 2)
        _ = try log.state()  // the snapshot, then what follows read as the commands read it
        for (n, (zone, label)) in [("Z1", "Kirkstall Rd"), ("Z2", nil), ("Z1", "Kirkstall Road")].enumerated() {
            _ = try log.store.append([Draft(log.payload(Body.ZoneDefined(zone: zone, label: label), at: t0 + 3 + Int64(n)))], keyring: log.keyring)
        }
        let index = try log.personIndex()

        #expect(try index.resolve("Rose") == rose && index.label(rose).hasPrefix("Rose ("))
        // A retracted registration names nobody any more.
        #expect(throws: FieldlogError.self) { try index.resolve(dup) }
        #expect(throws: FieldlogError.self) { try index.resolve("Rose again") }
        // An alias resolves (as recorded) to the merged person, who carries one working name.
        let merged = try index.person(alias)
        #expect(try index.resolve(alias) == alias && merged.id == min(ivy, alias) && Set(merged.aliases + [merged.id]) == [ivy, alias])
        #expect(index.label(alias).hasPrefix("\(merged.name!) ("))
        #expect(index.completions("iv") == [merged.name!])
        // Zones as the fold lists them: the latest label of each.
        #expect(index.zones == ["Z1": "Kirkstall Road", "Z2": ""])
        #expect(try index.zone("z1") == "Z1")
        #expect(throws: FieldlogError.self) { try index.zone("Z3") }
        let whole = try log.state(), scratch = Fold.fold(try log.store.allEvents(), keyring: log.keyring)
        #expect(index.zones == whole.zones && index.zones == scratch.zones)
    }
}
