import Foundation
import Logging
import PostgresTestSupport
import Testing
@testable import OutreachCore
@testable import SyncServerKit
@testable import SyncServerPostgres

/// Pages built from what a server remembers of recent dots (`DotFacts`, docs/server-storage.md
/// "Pages from memory"), on both backends.
@Suite struct DotFactsTests {
    /// Two storages that remember what is pushed through them, and one that remembers nothing
    /// (it always reads the index), all on one database.
    static func withThree(_ backend: Backend, _ dir: TempDir,
                          _ body: (_ one: any SyncStorage, _ two: any SyncStorage, _ index: any SyncStorage, _ remembered: () -> Int) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            let one = try SQLiteSyncStorage(directory: dir.sub("server")), two = try SQLiteSyncStorage(directory: dir.sub("server"))
            let index = try SQLiteSyncStorage(directory: dir.sub("server"), facts: DotFacts(perOrigin: 0))
            try await body(one, two, index, { one.facts.count + index.facts.count * 1_000_000 })
        case .postgres:
            try await PostgresStorages.with { storages in
                let database = try await storages.database()
                let one = try await storages.open(database), two = try await storages.open(database)
                let index = try await PostgresSyncStorage.open(database.url, schema: nil, pool: nil, logger: Logger(label: "test"), facts: DotFacts(perOrigin: 0))
                await storages.closing { await index.close() }
                try await body(one, two, index, { one.facts.count + index.facts.count * 1_000_000 })
            }
        }
    }

    /// A page built from what an instance remembers of recent dots (`DotFacts`) is the page the
    /// index gives, for any vector, limit and organisation, whichever instance the events came
    /// through: an erasure or a quarantine made through another instance shows in this one's
    /// next page (a remembered dot is never served as it was before it was purged).
    @Test(arguments: Backend.allCases, [UInt64(20261205), 7, 42, 1999])
    func pagesFromRememberedDotsAreThePagesOfTheIndex(backend: Backend, seed: UInt64) async throws {
        try await Self.withThree(backend, TempDir()) { one, two, index, remembered in
            var rng = SeededRNG(seed: seed)
            // Origins from the seed too: their order decides where pages are cut.
            let origins = (0..<5).map { _ in ReplicaID(Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }))! }
            var all = [Event]()
            for (n, origin) in origins.enumerated() {
                all += SyncStorageSuite.events(n % 2 == 0 ? "basis" : "joanna", n == 1 ? .org : .partnership, origin: origin, seqs: 1...30)
            }
            // Through both instances in turn: each remembers only what came through it, with gaps.
            for (n, start) in stride(from: 0, to: all.count, by: 7).enumerated() {
                let outcome = try await (n % 2 == 0 ? one : two).push(Array(all[start ..< min(start + 7, all.count)]))
                #expect(outcome == .stored(new: min(start + 7, all.count) - start, alreadyHad: 0))
            }
            // One remembers some of them, and the index storage nothing.
            #expect(remembered() > 0 && remembered() < 1_000_000)
            func compare() async throws {
                for round in 0..<12 {
                    var after = VersionVector()
                    for origin in origins where Bool.random(using: &rng) { after[origin] = UInt64.random(in: 0...30, using: &rng) }
                    let limit = [1, 5, 17, 1000][round % 4]
                    for org in ["basis", "joanna"] {
                        let expected = try await index.page(for: org, after: after, limit: limit)
                        #expect(try await one.page(for: org, after: after, limit: limit) == expected)
                        #expect(try await two.page(for: org, after: after, limit: limit) == expected)
                    }
                }
            }
            try await compare()
            // Basis erases three of its events and quarantines one through the second instance.
            let named = [all[3], all[65], all[70]].map(\.id)
            let payload = Payload(type: .eventsPurged, occurredAt: t0, author: "", fields: ["purge": .array(named.sorted().map { .string($0.hex) })])
            let purge = Event(dot: Dot(.random(), 1), org: "basis", scope: .public, context: VersionVector(), recordedAt: 1, keyID: Scope.clearKeyID,
                              sealedPayload: payload.json.canonicalData(), signature: Data(count: 64))
            #expect(try await two.push([purge]) == .stored(new: 1, alreadyHad: 0))
            #expect(try await two.quarantine(idPrefix: all[100].id.hex, at: 1) == [all[100].id.hex])
            let page = try await one.page(for: "basis", after: VersionVector(), limit: 1000)
            #expect(page.events.filter(\.isPurged).map(\.id).sorted() == named.sorted())
            #expect(!page.entries.contains { $0.id == all[100].id })
            try await compare()
        }
    }

}
