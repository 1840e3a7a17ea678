import Foundation
import Testing
@testable import OutreachCore
@testable import SyncServerKit

/// The server keeps each partnership's roster and admits enrolments into it, instead of
/// checking every certificate again at each enrolment (issue 12: no per-request work that grows
/// with the number of devices); what it keeps is always what storage would build.
@Suite struct TrustCacheTests {
    @Test(arguments: Backend.allCases) func theKeptRosterIsTheOneStorageWouldBuild(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage), root = dir.url
            try await storage.addOrganisation("basis", at: t0)
            try await storage.addOrganisation("joanna", at: t0)
            @Sendable func enrol(_ org: String, _ device: String) async throws -> (Device, FieldLog) {
                let log = try TestKeys.log(org, device: device, in: root.appendingPathComponent(device))
                let (device, _) = try await service.enrol(token: try await service.issueEnrolment(org: org, lifetime: 60_000), device: device,
                                                          replica: log.store.info.replica, certificates: try log.store.roster().certificates)
                return (device, log)
            }
            // One by one, each new laptop syncing in between (so the kept roster is read)...
            for (n, org) in ["basis", "joanna", "basis", "joanna", "basis"].enumerated() {
                let (device, log) = try await enrol(org, "d\(n)")
                let answer = try await service.sync(SyncRequestV2(vector: try log.store.vector(), events: []), from: device)
                #expect(answer.certDigest == (try await TrustCache(storage: storage).current().published.digest), "after enrolment \(n)")
            }
            // ...then eight at once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<8 { group.addTask { _ = try await enrol(n % 3 == 0 ? "joanna" : "basis", "c\(n)") } }
                try await group.waitForAll()
            }
            let kept = try await service.trust.current().published
            let fresh = try await TrustCache(storage: storage).current().published
            #expect(kept.digest == fresh.digest)
            #expect(kept.certificates == fresh.certificates)
            #expect(kept.certificates.filter { $0.role == .device }.count == 13)
            // Built from storage once, at the first enrolment, never again.
            #expect(await service.trust.builds == 1)
        }
    }

    @Test func requestsThatFindItUnbuiltWaitForOneBuild() async throws {
        let dir = TempDir()
        try await withStorage(.sqlite, dir) { storage in
            let service = SyncService(storage: storage)
            try await storage.addOrganisation("basis", at: t0)
            let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
            _ = try await service.enrol(token: try await service.issueEnrolment(org: "basis", lifetime: 60_000), device: "b1",
                                        replica: log.store.info.replica, certificates: try log.store.roster().certificates)
            await service.trust.invalidate()
            let before = await service.trust.builds
            let digests = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<30 { group.addTask { try await service.trust.current().published.digest } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(digests.count == 1)
            #expect(await service.trust.builds == before + 1)
        }
    }
}
