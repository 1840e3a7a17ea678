import Foundation
import GRDB
import NIOConcurrencyHelpers
import Testing
@testable import OutreachCore
import SyncServerKit

/// A sync holds SQLite's automatic checkpoints back while it stores pages, then checkpoints
/// once (issue 12: a first sync spent a third of its time copying the WAL after every page),
/// and gives the store back as it found it, whether the sync ends or breaks off.
@Suite struct SyncCheckpointTests {
    /// Reads the laptop store's automatic checkpoint setting at every exchange.
    struct Watching: SyncTransport {
        let inner: any SyncTransport
        let store: Store
        let seen = NIOLockedValueBox([Int]())
        func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 {
            let setting = try await store.db.read { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } ?? -1
            seen.withLockedValue { $0.append(setting) }
            return try await inner.exchange(request)
        }
    }

    static func autocheckpoint(_ store: Store) throws -> Int? { try store.db.read { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } }

    /// Frames left in the WAL that are not yet in the database (0 once checkpointed).
    static func uncheckpointed(_ store: Store) throws -> Int {
        try store.db.writeWithoutTransaction { db in
            let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")!
            return (row[1] as Int) - (row[2] as Int)
        }
    }

    @Test func aSyncHoldsCheckpointsBackThenCheckpointsOnceAndRestoresTheSetting() async throws {
        let dir = TempDir()
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
        for n in 0..<30 { _ = try laptops[0].log.registerPerson(name: "P\(n)", note: nil, at: t0 + Int64(n)) }
        _ = try await laptops[0].sync(service)
        let receiver = laptops[1].log.store
        #expect(try Self.autocheckpoint(receiver) == 1000)

        let watching = Watching(inner: InProcessTransport(service: service, bearer: laptops[1].bearer), store: receiver)
        var engine = SyncEngine(store: receiver, keyring: laptops[1].log.keyring, transport: watching)
        engine.pageLimit = 4
        let summary = try await engine.run()
        #expect(summary.received >= 30 && summary.roundTrips > 5)
        #expect(watching.seen.withLockedValue { $0 }.allSatisfy { $0 == 0 }, "checkpoints held back for the whole sync")
        #expect(try Self.autocheckpoint(receiver) == 1000, "the setting is back")
        #expect(try Self.uncheckpointed(receiver) == 0, "the WAL was moved into the database at the end")

        // A sync that breaks off gives the setting back too.
        for n in 0..<30 { _ = try laptops[0].log.registerPerson(name: "Q\(n)", note: nil, at: t0 + 100 + Int64(n)) }
        _ = try await laptops[0].sync(service)
        do {
            _ = try await laptops[1].sync(service, page: 4, failAt: 3)
            Issue.record("the third exchange should have failed")
        } catch is FlakyTransport.Dropped {}
        #expect(try Self.autocheckpoint(receiver) == 1000)
    }
}
