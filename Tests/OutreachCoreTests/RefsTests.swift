import Foundation
import Testing
@testable import OutreachCore

/// Refs that last and "did you mean" (issue #13, items 1-2). Old code: person refs were 4
/// characters whatever the store held (by a few hundred people two shared a prefix with even
/// odds), and a typo listed every valid word instead of the one meant.
@Suite struct RefsTests {
    @Test func refsGrowWithTheStoreSoTodaysStaysUniqueTomorrow() {
        #expect(Refs.lastingLength(count: 1, floor: 4) == 4)
        #expect(Refs.lastingLength(count: 65, floor: 4) == 4)
        #expect(Refs.lastingLength(count: 66, floor: 4) == 5)
        #expect(Refs.lastingLength(count: 250, floor: 4) == 5)
        #expect(Refs.lastingLength(count: 4_000, floor: 4) == 6)
        #expect(Refs.lastingLength(count: 100_000, floor: 7) == 7)
        #expect(Refs.lastingLength(count: 1_000_000, floor: 7) == 8)
        // The promise, checked: refs printed for 250 people stay unique among 2,500 (seeded).
        var rng = SeededRNG(seed: 7)
        func id() -> String { Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        let today = (0..<250).map { _ in id() }
        let printed = Refs(today, lasting: 4).minimumLength
        let later = Refs(today + (0..<2_250).map { _ in id() }, lasting: 4)
        let stillUnique = today.filter { later.matches(String($0.prefix(printed))).count == 1 }.count
        #expect(stillUnique >= 245, "\(stillUnique) of 250 refs still unique")
    }

    @Test func typosSuggestTheNearestWord() throws {
        #expect(Suggest.nearest("hosuing", among: Need.allCases.map(\.rawValue)) == ["housing"])
        #expect(Suggest.nearest("condom", among: Service.allCases.map(\.rawValue)) == ["condoms"])
        #expect(Suggest.nearest("xyzzy", among: Service.allCases.map(\.rawValue)).isEmpty)
        let error = try #require(throws: FieldlogError.self) { try Need.parse("houssing") }
        #expect(error.message == "unknown need \"houssing\": did you mean housing?")
    }

    @Test func aNameStartOrTypoNamesThePeopleMeant() throws {
        let names = ["aaaa1111": "Rose", "aaab2222": "Rosie", "bbbb3333": "Mel"]
        let start = try #require(throws: FieldlogError.self) { try Refs.resolvePerson("ros", ids: Array(names.keys), names: names) }
        #expect(start.message.contains("Rose") && start.message.contains("Rosie") && start.message.contains("did you mean"))
        let typo = try #require(throws: FieldlogError.self) { try Refs.resolvePerson("Mle", ids: Array(names.keys), names: names) }
        #expect(typo.message.hasSuffix("did you mean Mel?"))
        let ambiguous = try #require(throws: FieldlogError.self) { try Refs.resolvePerson("aaa", ids: Array(names.keys), names: names) }
        #expect(ambiguous.message.contains("Rose") && ambiguous.message.contains("Rosie") && ambiguous.code == .ambiguousRef)
        #expect(try Refs.resolvePerson("rosie", ids: Array(names.keys), names: names) == "aaab2222")
        // A ref that became ambiguous says when each was last seen (London days), to tell them apart.
        let seen = ["aaaa1111": Int64(1_763_000_000_000), "aaab2222": Int64(1_764_000_000_000)]
        let told = try #require(throws: FieldlogError.self) { try Refs.resolvePerson("aaa", ids: Array(names.keys), names: names, lastSeen: { seen[$0] }) }
        #expect(told.message.contains("Rose (last seen 2025-11-13)") && told.message.contains("Rosie (last seen 2025-11-24)"))
    }
}

/// Issue #13's quality bar at the library level: 2,000 people added on one laptop, each ref kept
/// as printed at creation (lasting length, shortest unique prefix), all still name the same
/// person at the end. Old code: 4-character refs, drawn at random, collided by a few hundred.
@Suite struct LastingRefsTests {
    @Test func twoThousandPeopleKeepTheRefsPrintedWhenTheyWereAdded() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        var known = [String]()
        var printed = [(ref: String, id: String)]()
        for n in 0..<2_000 {
            let (id, _) = try log.registerPerson(name: "W\(n)", avoiding: known, at: t0)
            known.append(id)
            printed.append((Refs(known, lasting: 4).short(id), id))
        }
        let names = Dictionary(uniqueKeysWithValues: known.enumerated().map { ($0.element, "W\($0.offset)") })
        for (ref, id) in printed {
            #expect(try Refs.resolvePerson(ref, ids: known, names: names) == id, "\(ref)")
        }
        #expect(printed.first!.ref.count == 4 && printed.last!.ref.count == 6)
    }

    /// An event's ref worked out from its two neighbours in the store's id index is the ref a
    /// list of every id gives (so commands need not read every id to print one ref).
    @Test func eventRefsFromTheIdIndexMatchRefsFromEveryID() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let drafts = (0..<600).map { i in Draft(log.payload(Body.ZoneDefined(zone: "Z\(i)", label: nil), at: t0 + Int64(i))) }
        try log.store.append(drafts, keyring: log.keyring)
        let ids = try log.store.allEvents().map(\.id)
        for minimum in [1, 2, 7] {
            let all = Refs(ids.map(\.hex), minimumLength: minimum)
            for id in ids {
                #expect(Refs.shortest(id.hex, neighbours: try log.store.neighbourIDs(of: id), minimumLength: minimum) == all.short(id.hex))
            }
        }
    }
}
