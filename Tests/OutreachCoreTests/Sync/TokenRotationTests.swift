import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import OutreachCore
@testable import SyncServerKit

/// Device tokens rotate and can expire (issue 11, item 7): a copied token works only until the
/// laptop's next rotation; a laptop that lost the server's answer is not locked out; a token an
/// administrator gave a lifetime stops when the laptop has not synced for that long.
@Suite struct TokenRotationTests {
    final class TestClock: @unchecked Sendable {
        private let now = NIOLockedValueBox(t0)
        var value: Int64 { now.withLockedValue { $0 } }
        func advance(days: Double) { now.withLockedValue { $0 += Int64(days * 86_400_000) } }
    }

    static func enrolled(_ dir: TempDir, _ storage: any SyncStorage, clock: TestClock) async throws -> (SyncService, Device, String) {
        let service = SyncService(storage: storage, now: { clock.value })
        try await service.storage.addOrganisation("basis", at: t0)
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let (device, bearer) = try await service.enrol(token: try await service.issueEnrolment(org: "basis", lifetime: 60_000), device: "b1",
                                                       replica: log.store.info.replica, certificates: try log.store.roster().certificates)
        return (service, device, bearer)
    }

    @Test(arguments: Backend.allCases) func theOldTokenWorksUntilTheNewOneIsUsedThenNeverAgain(backend: Backend) async throws {
        let dir = TempDir(), clock = TestClock()
        try await withStorage(backend, dir) { storage in
            let (service, device, old) = try await Self.enrolled(dir, storage, clock: clock)
            // The answer is lost once: the old token still works, and a second rotation replaces the first.
            let lost = try await service.rotateToken(for: device).token
            #expect(try await service.authenticate(bearer: old).id == device.id)
            let next = try await service.rotateToken(for: device).token
            await #expect(throws: ServerError.self) { try await service.authenticate(bearer: lost) }
            #expect(try await service.authenticate(bearer: old).id == device.id)
            // The new token's first use makes it the token: the old one (and any copy of it) stops.
            #expect(try await service.authenticate(bearer: next).id == device.id)
            await #expect(throws: ServerError.self) { try await service.authenticate(bearer: old) }
            #expect(try await service.authenticate(bearer: next).id == device.id)
        }
    }

    @Test(arguments: Backend.allCases) func aTokenWithALifetimeExpiresUnlessTheLaptopSyncsAndRotates(backend: Backend) async throws {
        let dir = TempDir(), clock = TestClock()
        try await withStorage(backend, dir) { storage in
            let (service, device, first) = try await Self.enrolled(dir, storage, clock: clock)
            try await service.storage.setTokenLifetime(deviceID: device.id, lifetime: 3 * 86_400_000, at: clock.value)
            clock.advance(days: 1)
            let current = try await service.authenticate(bearer: first)
            let (second, expiresAt) = try await service.rotateToken(for: current)
            #expect(expiresAt == clock.value + 3 * 86_400_000)
            clock.advance(days: 1)
            _ = try await service.authenticate(bearer: second)  // first use: now the token, expiring 4 days after t0
            clock.advance(days: 1.5)  // 3.5 days after t0: the first token's life would be over, the second's is not
            #expect(try await service.authenticate(bearer: second).id == device.id)
            clock.advance(days: 1)  // 4.5 days: it was not renewed
            do {
                _ = try await service.authenticate(bearer: second)
                Issue.record("an expired token was accepted")
            } catch let e as ServerError {
                #expect(e.kind == .tokenExpired)
            }
            // The administrator lifts the limit: the laptop syncs again.
            try await service.storage.setTokenLifetime(deviceID: device.id, lifetime: nil, at: clock.value)
            #expect(try await service.authenticate(bearer: second).id == device.id)
        }
    }

    @Test func aLaptopRenewsItsTokenWeeklyOrAtHalfItsLife() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        #expect(try log.store.tokenRotationDue(now: t0), "a token saved before 0.4 is renewed at once")
        try log.store.setServer(url: "https://sync.example", deviceToken: "dt_one", keyring: log.keyring, at: t0)
        #expect(try !log.store.tokenRotationDue(now: t0 + 6 * 86_400_000))
        #expect(try log.store.tokenRotationDue(now: t0 + 7 * 86_400_000))
        try log.store.setServer(url: "https://sync.example", deviceToken: "dt_two", keyring: log.keyring, expiresAt: t0 + 4 * 86_400_000, at: t0)
        #expect(try log.store.tokenRotationDue(now: t0 + 2 * 86_400_000))
        #expect(try log.store.deviceToken(keyring: log.keyring) == "dt_two")
    }
}
