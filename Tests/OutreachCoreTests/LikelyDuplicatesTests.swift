import Foundation
import Testing
@testable import OutreachCore

/// `fieldlog people --duplicates` (issue 13, item 6): an organisation's people who are probably
/// the same woman, and a coordinator's "two women" remembered in the log.
@Suite struct LikelyDuplicatesTests {
    static let day: Int64 = 86_400_000

    func pairs(_ log: FieldLog) throws -> [Set<String>] {
        LikelyDuplicates.find(in: try log.state(), org: "basis").map { [$0.first.name ?? "", $0.second.name ?? ""] }
    }

    @Test func nearNamesWithTheSameZoneOrDescriptorArePairedAndOthersAreNot() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        // Rose, seen in Z3 in the autumn; "Rosie", registered in the winter, also in Z3: a new
        // worker who did not find her.
        let (rose, _) = try log.registerPerson(name: "Rose", descriptor: "red coat, tall", at: t0)
        let (rosie, _) = try log.registerPerson(name: "Rosie", descriptor: "tall, red hair", at: t0 + 90 * Self.day)
        for n in 0..<3 { try log.logContact(NewContact(person: rose, setting: .van, zone: "Z3"), at: t0 + Int64(n) * Self.day) }
        try log.logContact(NewContact(person: rosie, setting: .van, zone: "Z3"), at: t0 + 91 * Self.day)
        // Two Jades, nothing else alike: listed on the name alone (a coordinator knows).
        try log.registerPerson(name: "Jade", at: t0)
        try log.registerPerson(name: "jade ", at: t0 + 1)
        // Names far apart, or too short to judge by one letter, are never paired.
        try log.registerPerson(name: "Kelly", descriptor: "red coat, tall", at: t0)
        try log.registerPerson(name: "Jo", at: t0)
        try log.registerPerson(name: "Jy", at: t0)

        let found = LikelyDuplicates.find(in: try log.state(), org: "basis")
        #expect(Set(found.map { Set([$0.first.name!, $0.second.name!]) }) == [["Rose", "Rosie"], ["Jade", "jade"]])
        let pair = try #require(found.first { $0.first.name == "Rose" || $0.second.name == "Rose" })
        #expect(pair.reasons.contains("names one letter apart") && pair.reasons.contains("both seen mostly in Z3"), "\(pair.reasons)")
        #expect(pair.reasons.contains("descriptors share red, tall") && pair.reasons.contains("one first seen after the other was last seen"))
        // (Which of a pair comes first follows the random person ids.)
        let jades = try #require(found.first { $0.first.name?.lowercased() == "jade" })
        #expect(pair.score > jades.score)
        #expect(found.first?.score == pair.score, "the likeliest comes first")
    }

    @Test func aLinkOrADismissalRemovesThePairAndARetractionBringsItBack() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (a, _) = try log.registerPerson(name: "Jade", at: t0)
        let (b, _) = try log.registerPerson(name: "Jade", at: t0)
        let (c, _) = try log.registerPerson(name: "Jayde", descriptor: "green coat", at: t0)
        let (d, _) = try log.registerPerson(name: "Jaydee", descriptor: "green coat", at: t0)
        #expect(try pairs(log).count == 2)

        try log.link(a, b, at: t0 + 1)
        #expect(try pairs(log) == [["Jayde", "Jaydee"]])
        let dismissal = try log.markDistinct(d, c, at: t0 + 2)
        #expect(try pairs(log).isEmpty)
        // Remembered in the log: from the snapshot, and from a fold from scratch alike.
        #expect(try log.state() == Fold.fold(try log.store.allEvents(), keyring: log.keyring))
        #expect(try log.state().distinct.values.contains(PersonPair(c, d)))
        try log.retract(dismissal, reason: .error, at: t0 + 3)
        #expect(try pairs(log) == [["Jayde", "Jaydee"]])
        #expect(throws: FieldlogError.self) { try log.markDistinct(c, c, at: t0 + 4) }
    }

    @Test func anotherOrganisationsPeopleAndAnErasedWomanAreNotCompared() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        try log.registerPerson(name: "Amber", at: t0)
        var state = try log.state()
        // A Joanna person of the same name (its organisation's record: no name reaches Basis,
        // but even one that did is not Basis's to judge).
        state.people["ff"] = Person(id: "ff", org: "joanna", name: "Amber")
        #expect(LikelyDuplicates.find(in: state, org: "basis").isEmpty)
        #expect(LikelyDuplicates.find(in: state, org: "joanna").isEmpty)
        // An erased woman's record is nobody to compare (what identified her is gone).
        var erased = Person(id: "ee", org: "basis", name: "Amber")
        erased.erased = Erasure(id: try #require(EventID(hex: String(repeating: "ab", count: 32))), org: "basis", at: t0, by: "b1", reason: "asked", events: 1)
        state.people["ee"] = erased
        #expect(LikelyDuplicates.find(in: state, org: "basis").isEmpty)
        state.people["ee"]?.erased = nil
        #expect(LikelyDuplicates.find(in: state, org: "basis").count == 1)
    }
}
