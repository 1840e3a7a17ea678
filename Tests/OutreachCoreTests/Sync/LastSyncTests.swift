import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import OutreachCore
import SyncServerKit

/// A device's last sync is written at most once a minute (issue 12: no per-request write that a
/// crowd queues behind), and always at its first sync (a restore's hold tells new laptops by it).
@Suite struct LastSyncTests {
    @Test(arguments: Backend.allCases) func lastSyncIsWrittenAtTheFirstSyncThenAtMostOnceAMinute(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let clock = NIOLockedValueBox(t0)
            let service = SyncService(storage: storage, now: { clock.withLockedValue { $0 } })
            try await storage.addOrganisation("basis", at: t0)
            let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
            let (_, bearer) = try await service.enrol(token: try await service.issueEnrolment(org: "basis", lifetime: 60_000), device: "b1",
                                                      replica: log.store.info.replica, certificates: try log.store.roster().certificates)
            func sync(after ms: Int64) async throws -> Int64? {
                clock.withLockedValue { $0 += ms }
                let request = SyncRequestV2(vector: try log.store.vector(), events: [], certDigest: try log.store.roster().digest)
                _ = try await service.sync(request, from: try await service.authenticate(bearer: bearer))
                return try await storage.devices().first?.lastSyncAt
            }
            #expect(try await storage.devices().first?.lastSyncAt == nil)
            #expect(try await sync(after: 1_000) == t0 + 1_000)
            #expect(try await sync(after: 30_000) == t0 + 1_000)
            #expect(try await sync(after: 29_000) == t0 + 1_000)
            #expect(try await sync(after: 1_000) == t0 + 61_000)
        }
    }
}
