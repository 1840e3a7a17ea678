import Foundation
import Testing
@testable import OutreachCore
import SyncServerKit

/// Erasure across the sync server (`Protocol/erasure.md` §4): the server purges what it is told,
/// byte for byte; an offline laptop purges at its next sync; a server restored from an older
/// backup is purged again by the next laptop before anyone else can receive what it held.
@Suite struct ErasureSyncTests {
    static func serverBytes(_ dir: URL) throws -> Data {
        try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .reduce(into: Data()) { all, url in all.append(try Data(contentsOf: url)) }
    }

    @Test func theServerAndEveryLaptopPurgeAndARestoredBackupIsPurgedAgain() async throws {
        let dir = TempDir()
        let serverDir = dir.sub("server")
        let storage = try SQLiteSyncStorage(directory: serverDir)
        let service = SyncService(storage: storage)
        let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
        let (b1, b2, j1) = (laptops[0], laptops[1], laptops[2])
        let code = try PartnershipCode(initials: "RB", dateOfBirth: "1990-04-01", sex: "F")
        let (rose, registered) = try b1.log.registerPerson(name: "Rosalind Zebedee", descriptor: "green coat", code: code, at: t0)
        var visit = NewContact(person: rose, setting: .van)
        visit.note = "sleeping at Quarry Hill garages"
        let contact = try b1.log.logContact(visit, at: t0 + 60_000)
        try j1.log.registerPerson(name: "Ro", code: code, at: t0)
        for l in [b1, b2, j1, b1] { _ = try await l.sync(service) }
        let sealed = (registered + [contact.note!]).map(\.sealedPayload)
        for s in sealed { #expect(try Self.serverBytes(serverDir).range(of: s) != nil) }
        // A backup of the server taken now holds her.
        try storage.backup(to: dir.sub("backup"))
        let period = ReportPeriod(start: t0 - 86_400_000, end: t0 + 86_400_000, label: "t0")
        let before = PartnershipReport(state: try j1.log.state(), period: period)

        // b2 goes offline; b1 erases her and syncs: one round trip carries the erasure.
        let plan = try b1.log.planErasure(of: rose)
        try b1.log.erase(plan, reason: "she asked", at: t0 + 120_000)
        let carried = try await b1.sync(service)
        #expect(carried.roundTrips == 1)
        for s in sealed { #expect(try Self.serverBytes(serverDir).range(of: s) == nil) }
        // Joanna syncs: her profile purged, the merge kept, Joanna's counts unchanged.
        _ = try await j1.sync(service)
        #expect(PartnershipReport(state: try j1.log.state(), period: period) == before)
        // b2, back a week later, purges at its next sync.
        _ = try await b2.sync(service)
        let onB2 = try b2.log.state()
        #expect(onB2.people[onB2.canonical(rose)]?.erased != nil && onB2.people[onB2.canonical(rose)]?.name == nil)
        for l in [b2, j1] {
            let bytes = try ErasureTests.storeBytes(l.log)
            for s in sealed { #expect(bytes.range(of: s) == nil) }
        }

        // The server is restored from the backup (which holds her in full) with SyncServer admin
        // restore: the first laptop to sync pushes nothing new, yet the server is purged in that
        // exchange, because the purge is offered again whenever the server's vector lacks it; no
        // new laptop can join until a laptop of each organisation has synced.
        let restoredDir = dir.sub("restored")
        let restoredStorage = try SQLiteSyncStorage.restore(from: dir.sub("backup"), into: restoredDir, at: t0 + 200_000)
        let restored = SyncService(storage: restoredStorage)
        for s in sealed { #expect(try Self.serverBytes(restoredDir).range(of: s) != nil) }
        // Held: no new laptop joins while the backup may hold someone erased since.
        #expect(try await restoredStorage.restoreHold() == ["basis", "joanna"])
        let b3 = try TestKeys.log("basis", device: "b3", in: dir.sub("b3"))
        let token = try await restored.issueEnrolment(org: "basis", lifetime: 3_600_000)
        func enrolB3() async throws -> String {
            try await restored.enrol(token: token, device: "b3", replica: b3.store.info.replica, certificates: try b3.store.roster().certificates).1
        }
        await #expect { _ = try await enrolB3() } throws: { ($0 as? ServerError)?.kind == .restored }
        _ = try await b2.sync(restored)
        for s in sealed { #expect(try Self.serverBytes(restoredDir).range(of: s) == nil) }
        // Basis's hold is lifted by its laptop's sync; Joanna's still holds until one of hers syncs.
        #expect(try await restoredStorage.restoreHold() == ["joanna"])
        await #expect { _ = try await enrolB3() } throws: { ($0 as? ServerError)?.kind == .restored }
        _ = try await j1.sync(restored)
        #expect(try await restoredStorage.restoreHold().isEmpty)
        // A new Basis laptop then receives only tombstones, and never sees her name.
        let bearer = try await enrolB3()
        let summary = try await Laptop(log: b3, bearer: bearer).sync(restored)
        #expect(summary.setAside == 0)
        let onB3 = try b3.state()
        #expect(onB3.people[onB3.canonical(rose)]?.erased != nil)
        #expect(!onB3.people.values.contains { $0.name == "Rosalind Zebedee" })
    }

    /// A laptop that never synced keeps being refused while a restore holds, though its push
    /// is stored: the last-sync mark that rides with a push is not written for it (else its
    /// second try would pull what the backup holds of people erased since).
    @Test(arguments: Backend.allCases) func aNewLaptopStaysRefusedWhileARestoreHoldsThoughItsPushIsKept(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
            _ = try await laptops[0].sync(service)
            let b3 = try TestKeys.log("basis", device: "b3", in: dir.sub("b3"))
            let token = try await service.issueEnrolment(org: "basis", lifetime: 3_600_000)
            let bearer = try await service.enrol(token: token, device: "b3", replica: b3.store.info.replica,
                                                 certificates: try b3.store.roster().certificates).1
            try await storage.holdAfterRestore(at: t0)
            let (_, registered) = try b3.registerPerson(name: "Ivy", at: t0)
            let laptop = Laptop(log: b3, bearer: bearer)
            for _ in 0..<2 {
                await #expect { _ = try await laptop.sync(service) } throws: { ($0 as? ServerError)?.kind == .restored }
            }
            let device = try #require(try await storage.devices().first { $0.name == "b3" })
            #expect(device.lastSyncAt == nil)
            let held = try await storage.page(for: "basis", after: VersionVector(), limit: 10_000).entries.map(\.id)
            for event in registered { #expect(held.contains(event.id)) }
        }
    }

    @Test(arguments: Backend.allCases) func theServerRefusesAForeignPurgeAndAStrippedEvent(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
            let (b1, j1) = (laptops[0], laptops[2])
            let (_, registered) = try b1.log.registerPerson(name: "Rose", code: try PartnershipCode(initials: "RB", dateOfBirth: "1990-04-01", sex: "F"), at: t0)
            _ = try await b1.sync(service)
            _ = try await j1.sync(service)
            let profile = try #require(registered.first { $0.scope == .partnership })
            // Joanna's modified client tells the server to purge Basis's profile of her.
            let forged = try TrustAttackTests.forgePurge([profile.id], by: j1.log)
            let request = SyncRequestV2(vector: try j1.log.store.vector(), events: [forged], certDigest: try j1.log.store.roster().digest)
            await #expect { try await service.sync(request, from: try await service.authenticate(bearer: j1.bearer)) } throws: {
                ($0 as? ServerError)?.kind == .foreignPurge
            }
            // A stripped copy of a new event, with no purge naming it.
            let (_, more) = try b1.log.registerPerson(name: "Ivy", at: t0)
            let stripped = SyncRequestV2(vector: try b1.log.store.vector(), events: more.map(\.purged), certDigest: try b1.log.store.roster().digest)
            await #expect { try await service.sync(stripped, from: try await service.authenticate(bearer: b1.bearer)) } throws: {
                ($0 as? ServerError)?.kind == .unauthorisedPurge
            }
            #expect(try await service.storage.eventCount() == registered.count)
        }
    }

    /// The server keeps the bytes of the events it accepts, for the laptops it sends them to
    /// next (issue 12), but only those it stored as they came: a full copy that arrives after
    /// the purge naming it is stored purged and kept as nothing, and a copy already held is not
    /// given again.
    @Test(arguments: Backend.allCases) func theServerKeepsOnlyWhatItStoredAsItCame(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
            let b1 = laptops[0]
            let (rose, registered) = try b1.log.registerPerson(name: "Rose", at: t0)
            let (_, ivy) = try b1.log.registerPerson(name: "Ivy", at: t0)
            try b1.log.erase(try b1.log.planErasure(of: rose), reason: "asked", at: t0 + 1)
            let purge = try #require(try b1.log.store.allEvents().first { $0.scope == .public })
            let device = try await service.authenticate(bearer: b1.bearer)
            let digest = try b1.log.store.roster().digest
            let kept = Kept()
            func push(_ events: [Event]) async throws -> SyncResponseV2 {
                let request = SyncRequestV2(vector: try b1.log.store.vector(), events: events, certDigest: digest)
                return try await service.exchange(request, from: device, accepted: { kept.add($0) }).response
            }
            // The purge first, then Rose's events in full, then Ivy's.
            _ = try await push([purge])
            #expect(kept.ids == [purge.id], "the purge is public and stored as it came")
            #expect(try await push(registered).stored == registered.count)
            #expect(kept.ids == [purge.id], "Rose's events were stored purged: no full copy of them is kept")
            _ = try await push(ivy)
            #expect(kept.ids == [purge.id] + ivy.map(\.id))
            _ = try await push(ivy)  // already held
            #expect(kept.ids == [purge.id] + ivy.map(\.id))
            let served = try await service.storage.page(for: "basis", after: VersionVector(), limit: 1000).events
            #expect(registered.allSatisfy { r in served.contains { $0.id == r.id && $0.isPurged } })
        }
    }

    /// What `accepted` was given (it may be called on any thread).
    final class Kept: @unchecked Sendable {
        private let lock = NSLock()
        private var events = [Event]()
        func add(_ more: [Event]) { lock.withLock { events += more } }
        var ids: [EventID] { lock.withLock { events.map(\.id) } }
    }
}
