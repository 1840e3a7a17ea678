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

/// A laptop enrolled through another instance is let in by this one's next look at storage, and
/// events of unknown signers never make the server check every certificate again.
@Suite struct TrustRefreshTests {
    @Test(arguments: Backend.allCases) func anotherInstancesEnrolmentIsAdmittedWithoutARebuild(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let a = SyncService(storage: storage), b = SyncService(storage: storage)
            try await storage.addOrganisation("basis", at: t0)
            func enrol(_ service: SyncService, _ device: String) async throws -> (Device, FieldLog) {
                let log = try TestKeys.log("basis", device: device, in: dir.sub(device))
                let (d, _) = try await service.enrol(token: try await service.issueEnrolment(org: "basis", lifetime: 60_000), device: device,
                                                     replica: log.store.info.replica, certificates: try log.store.roster().certificates)
                return (d, log)
            }
            let (first, firstLog) = try await enrol(a, "b1")
            _ = try await b.sync(SyncRequestV2(vector: try firstLog.store.vector(), events: []), from: first)  // b keeps its roster now
            let builds = await b.trust.builds
            // b2 enrols through a; its first push goes to b, which has never seen its certificate.
            let (second, log) = try await enrol(a, "b2")
            _ = try log.registerPerson(name: "Rose", at: t0)
            let events = try log.store.allEvents()
            let answer = try await b.sync(SyncRequestV2(vector: try log.store.vector(), events: events), from: second)
            #expect(answer.stored == events.count && !events.isEmpty)
            #expect(await b.trust.builds == builds, "admitted from storage, not rebuilt")
            // A stranger's events are refused, and refusing them rebuilds nothing.
            let stranger = try TestKeys.log("basis", device: "x", in: dir.sub("x"))
            _ = try stranger.registerPerson(name: "Mallory", at: t0)
            for _ in 0..<3 {
                await #expect(throws: ServerError.self) {
                    _ = try await b.sync(SyncRequestV2(vector: try stranger.store.vector(), events: try stranger.store.allEvents()), from: second)
                }
            }
            #expect(await b.trust.builds == builds)
            #expect(try await b.trust.current().published.digest == (try await TrustCache(storage: storage).current().published.digest))
        }
    }
}
