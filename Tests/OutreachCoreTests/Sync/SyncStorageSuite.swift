import Foundation
import Testing
@testable import OutreachCore
import SyncServerKit
import PostgresTestSupport
import SyncServerPostgres

/// The storage suite: every `SyncStorage` backend must pass it (SQLite and PostgreSQL).
enum SyncStorageSuite {
    static func run(_ make: () async throws -> any SyncStorage) async throws {
        try await organisationsAndEnrolment(make())
        try await pushIsIdempotentAndAGapHoldsTheVector(make())
        try await aForkedDotIsRefusedAndNothingStored(make())
        try await pagesAreFilteredByEntitlementAndCutWithCover(make())
        try await trustIsKeptAndPinsNeverChange(make())
        try await aQuarantinedEventIsNeverServedAgain(make())
        try await concurrentPushesEachGetTheirOwnOutcome(make())
        try await aPageReadsWholeOnlyWhatTheCallerLacks(make())
        try await aPushMarksTheDeviceOnlyIfItIsStored(make())
        try await aPackedPageIsItsEventsPacked(make())
        try await theStandingIsTheRevocationsAndTheHoldReadAsOne(make())
    }

    /// `standing()` reads what `revokedReplicas()` and `restoreHold()` read, in one: nothing at
    /// first, a revoked device's replica with the last seq the server held of it, and the
    /// organisations a restore holds (those with a device not revoked) until each is released.
    /// `admission(tokenHash:)` is `device(tokenHash:)` with the standing, at every step: by the
    /// current token, by a pending next token (whose first use makes it the token and stops the
    /// old one), for a revoked device (the service refuses it), and nil for a token nobody has.
    static func theStandingIsTheRevocationsAndTheHoldReadAsOne(_ storage: any SyncStorage) async throws {
        func admissionIsDeviceAndStanding(_ tokenHash: String) async throws {
            let admission = try await storage.admission(tokenHash: tokenHash)
            let device = try await storage.device(tokenHash: tokenHash), standing = try await storage.standing()
            #expect(admission == device.map { Admission(device: $0, standing: standing) }, "token \(tokenHash)")
        }
        for org in ["basis", "joanna"] { try await storage.addOrganisation(org, at: t0) }
        let b = ReplicaID.random(), j = ReplicaID.random()
        for (n, (org, replica)) in [("basis", b), ("joanna", j)].enumerated() {
            try await storage.addEnrolment(tokenHash: "e\(n)", org: org, expiresAt: t0 + 1000)
            _ = try await storage.enrol(tokenHash: "e\(n)", device: "d\(n)", replica: replica, deviceID: "d\(n)", deviceTokenHash: "t\(n)", trust: .empty, at: t0)
        }
        #expect(try await storage.standing() == Standing(revoked: [:], held: []))
        let first = try await storage.admission(tokenHash: "t1")
        #expect(first?.device.id == "d1" && first?.standing == Standing(revoked: [:], held: []))
        #expect(try await storage.admission(tokenHash: "nobody's") == nil)
        _ = try await storage.push(events("basis", .partnership, origin: b, seqs: 1...3))
        #expect(try await storage.revoke(deviceID: "d0", at: t0 + 5))
        try await storage.holdAfterRestore(at: t0 + 6)
        let standing = try await storage.standing()
        #expect(standing == Standing(revoked: [b: 3], held: ["joanna"]))
        #expect(try await standing == Standing(revoked: storage.revokedReplicas(), held: storage.restoreHold()))
        try await admissionIsDeviceAndStanding("t0")  // revoked: the service refuses it
        #expect(try await storage.admission(tokenHash: "t0")?.device.revokedAt == t0 + 5)
        try await admissionIsDeviceAndStanding("t1")
        // A rotated token: its first use through admission makes it the token.
        try await storage.setNextToken(deviceID: "d1", tokenHash: "t1-next", expiresAt: nil)
        let rotated = try await storage.admission(tokenHash: "t1-next")
        #expect(rotated?.device.id == "d1" && rotated?.standing == standing)
        #expect(try await storage.admission(tokenHash: "t1") == nil)
        try await admissionIsDeviceAndStanding("t1-next")
        try await storage.releaseRestoreHold(org: "joanna")
        #expect(try await storage.standing() == Standing(revoked: [b: 3], held: []))
        try await admissionIsDeviceAndStanding("t1-next")
    }

    /// A page read straight into packed bytes (`rows: .packed`: no `Event` built) holds exactly
    /// `Event.packed` of the events the same page reads whole, for events of every kind (sealed,
    /// public, purged, with and without prev, contexts of several replicas), whatever the
    /// caller keeps; nothing is read whole as events.
    static func aPackedPageIsItsEventsPacked(_ storage: any SyncStorage) async throws {
        let (all, _, _) = try PackedPageTests.events()
        #expect(try await storage.push(all) == .stored(new: all.count, alreadyHad: 0))
        for org in ["basis", "joanna"] {
            for limit in [4, 1000] {
                for keep in [0, 2, 3] {
                    let known: @Sendable ([Page.Entry]) -> [Bool] = { entries in entries.indices.map { keep > 0 && $0 % keep == 0 } }
                    let whole = try await storage.page(for: org, after: VersionVector(), limit: limit, rows: .events, known: known)
                    let packed = try await storage.page(for: org, after: VersionVector(), limit: limit, rows: .packed, known: known)
                    let same = packed.entries == whole.entries && packed.covered == whole.covered && packed.more == whole.more
                    #expect(same, "\(org) \(limit) \(keep)")
                    #expect(packed.events.isEmpty && whole.packed.isEmpty)
                    #expect(packed.packed == whole.events.map { Data($0.packed) }, "\(org) \(limit) \(keep)")
                    #expect(try packed.packed.map(Event.init(packed:)) == whole.events)
                }
            }
        }
        let page = try await storage.page(for: "basis", after: VersionVector(), limit: 1000, rows: .packed)
        #expect(page.entries.contains(where: \.purged) && page.packed.count == page.entries.count)
    }

    /// A device's last sync rides with its push: written when the push is stored, in the same
    /// transaction, and not at all when the push is refused.
    static func aPushMarksTheDeviceOnlyIfItIsStored(_ storage: any SyncStorage) async throws {
        try await storage.addOrganisation("basis", at: t0)
        try await storage.addEnrolment(tokenHash: "e1", org: "basis", expiresAt: t0 + 1000)
        _ = try await storage.enrol(tokenHash: "e1", device: "b1", replica: .random(), deviceID: "d1", deviceTokenHash: "t1", trust: .empty, at: t0)
        let r = ReplicaID.random()
        let all = events("basis", .partnership, origin: r, seqs: 1...3)
        #expect(try await storage.store(Array(all[0..<2]), marking: SyncMark(deviceID: "d1", at: t0 + 10)).outcome == .stored(new: 2, alreadyHad: 0))
        #expect(try await storage.devices().first?.lastSyncAt == t0 + 10)
        let fork = Event(dot: Dot(r, 2), org: "basis", scope: .partnership, context: VersionVector(), recordedAt: 99, keyID: "k",
                         sealedPayload: Data([9]), signature: Data(count: 64))
        #expect(try await storage.store([all[2], fork], marking: SyncMark(deviceID: "d1", at: t0 + 20)).outcome == .rejected(Dot(r, 2)))
        #expect(try await storage.devices().first?.lastSyncAt == t0 + 10)
        #expect(try await storage.vector()[r] == 2)
    }

    /// The index names the same page whatever the caller keeps; only the entries it says it
    /// lacks come back whole, in page order, and asked once with the whole page.
    static func aPageReadsWholeOnlyWhatTheCallerLacks(_ storage: any SyncStorage) async throws {
        let b = ReplicaID.random(), j = ReplicaID.random()
        _ = try await storage.push(events("basis", .partnership, origin: b, seqs: 1...5) + events("basis", .org, origin: b, seqs: 6...7))
        _ = try await storage.push(events("joanna", .partnership, origin: j, seqs: 1...4))
        for limit in [3, 6, 100] {
            let full = try await storage.page(for: "joanna", after: VersionVector(), limit: limit)
            #expect(full.entries == full.events.map(Page.Entry.init) && full.entries.count == min(limit, 9))
            let asked = Counter()
            let part = try await storage.page(for: "joanna", after: VersionVector(), limit: limit) { entries in
                asked.add(entries.count)
                return entries.indices.map { $0 % 2 == 0 }
            }
            #expect(asked.calls == [full.entries.count], "limit \(limit)")
            #expect(part.entries == full.entries && part.covered == full.covered && part.more == full.more && part.vector == full.vector)
            #expect(part.events == full.events.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), "limit \(limit)")
        }
        // Long runs (read by range) with another organisation's own events inside them.
        let long = ReplicaID.random()
        _ = try await storage.push(events("basis", .partnership, origin: long, seqs: 1...30) + events("basis", .org, origin: long, seqs: 31...33)
                                   + events("basis", .partnership, origin: long, seqs: 34...60))
        let after = VersionVector([b: 7, j: 4])
        let full = try await storage.page(for: "joanna", after: after, limit: 100)
        #expect(full.events.map(\.dot.seq) == Array(1...30) + Array(34...60))
        for skip in [0, 20, 45] {
            let part = try await storage.page(for: "joanna", after: after, limit: 100) { entries in entries.indices.map { $0 < skip } }
            #expect(part.entries == full.entries && part.events == Array(full.events.dropFirst(skip)), "first \(skip) kept")
        }
    }

    /// Records what a callback was called with (it may run on any thread).
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var counts = [Int]()
        func add(_ n: Int) { lock.withLock { counts.append(n) } }
        var calls: [Int] { lock.withLock { counts } }
    }

    /// Pushes that arrive together (SQLite commits them as one group) each get their own answer:
    /// a forked one stores nothing of its own and takes nothing of the others with it.
    static func concurrentPushesEachGetTheirOwnOutcome(_ storage: any SyncStorage) async throws {
        let held = ReplicaID.random()
        let original = events("basis", .org, origin: held, seqs: 1...3)
        _ = try await storage.push(original)
        let fork = Event(dot: Dot(held, 2), org: "basis", scope: .org, context: VersionVector(), recordedAt: 99, keyID: "k",
                         sealedPayload: Data([9]), signature: Data(count: 64))
        let origins = (0..<30).map { _ in ReplicaID.random() }
        let outcomes = try await withThrowingTaskGroup(of: (Int, PushOutcome).self) { group in
            for (n, origin) in origins.enumerated() {
                group.addTask { (n, try await storage.push(events("basis", .partnership, origin: origin, seqs: 1...4))) }
                if n == 10 {
                    let tail = events("basis", .partnership, origin: .random(), seqs: 1...2)
                    group.addTask { (-1, try await storage.push(tail + [fork])) }
                }
            }
            var out = [Int: PushOutcome]()
            for try await (n, outcome) in group { out[n] = outcome }
            return out
        }
        #expect(outcomes[-1] == .rejected(Dot(held, 2)))
        for n in origins.indices { #expect(outcomes[n] == .stored(new: 4, alreadyHad: 0), "push \(n)") }
        #expect(try await storage.eventCount() == 3 + 30 * 4)
        let vector = try await storage.vector()
        #expect(origins.allSatisfy { vector[$0] == 4 } && vector[held] == 3)
    }

    static func trustIsKeptAndPinsNeverChange(_ storage: any SyncStorage) async throws {
        #expect(try await storage.trust() == .empty)
        let key = DeviceKey.generate(), other = DeviceKey.generate()
        let root = try DeviceCertificate.root(partnership: "p", org: "basis", device: "b1", replica: .random(), key: key, issuedAt: t0)
        let rival = try DeviceCertificate.root(partnership: "p", org: "basis", device: "b9", replica: .random(), key: other, issuedAt: t0)
        try await storage.addTrust(TrustRecord(partnership: "p", pins: ["basis": root.fingerprint], certificates: [root]))
        try await storage.addTrust(TrustRecord(partnership: "q", pins: ["basis": rival.fingerprint], certificates: [root]))
        let kept = try await storage.trust()
        #expect(kept.partnership == "p" && kept.pins == ["basis": root.fingerprint] && kept.certificates == [root])
    }

    static func aQuarantinedEventIsNeverServedAgain(_ storage: any SyncStorage) async throws {
        let r = ReplicaID.random()
        let all = events("basis", .partnership, origin: r, seqs: 1...3)
        _ = try await storage.push(all)
        #expect(try await storage.quarantine(idPrefix: all[1].id.hex, at: t0) == [all[1].id.hex])
        let page = try await storage.page(for: "joanna", after: VersionVector(), limit: 100)
        #expect(page.events.map(\.dot.seq) == [1, 3] && page.covered[r] == 3)
        #expect(try await storage.quarantine(idPrefix: "ffffffffff", at: t0).isEmpty)
    }

    static func organisationsAndEnrolment(_ storage: any SyncStorage) async throws {
        try await storage.addOrganisation("basis", at: t0)
        try await storage.addOrganisation("joanna", at: t0)
        await #expect(throws: ServerError.self) { try await storage.addOrganisation("basis", at: t0) }
        #expect(try await storage.organisations() == ["basis", "joanna"])
        await #expect(throws: ServerError.self) { try await storage.addEnrolment(tokenHash: "x", org: "nobody", expiresAt: t0 + 1) }

        try await storage.addEnrolment(tokenHash: "e1", org: "basis", expiresAt: t0 + 1000)
        try await storage.addEnrolment(tokenHash: "old", org: "basis", expiresAt: t0 - 1)
        let replica = ReplicaID.random()
        let device = try await storage.enrol(tokenHash: "e1", device: "b1", replica: replica, deviceID: "d1", deviceTokenHash: "t1", trust: .empty, at: t0)
        #expect(device.org == "basis" && device.replica == replica)
        // Single use, expiry, and one enrolment per replica
        await #expect(throws: ServerError.self) { try await storage.enrol(tokenHash: "e1", device: "b2", replica: .random(), deviceID: "d2", deviceTokenHash: "t2", trust: .empty, at: t0) }
        await #expect(throws: ServerError.self) { try await storage.enrol(tokenHash: "old", device: "b2", replica: .random(), deviceID: "d2", deviceTokenHash: "t2", trust: .empty, at: t0) }
        try await storage.addEnrolment(tokenHash: "e2", org: "basis", expiresAt: t0 + 1000)
        await #expect(throws: ServerError.self) { try await storage.enrol(tokenHash: "e2", device: "b2", replica: replica, deviceID: "d2", deviceTokenHash: "t2", trust: .empty, at: t0) }

        #expect(try await storage.device(tokenHash: "t1")?.id == "d1")
        #expect(try await storage.device(tokenHash: "nope") == nil)
        #expect(try await storage.revoke(deviceID: "d1", at: t0 + 5))
        #expect(try await storage.device(tokenHash: "t1")?.revokedAt == t0 + 5)
        #expect(try await storage.devices().map(\.id) == ["d1"])
    }

    static func events(_ org: String, _ scope: Scope, origin: ReplicaID, seqs: ClosedRange<UInt64>) -> [Event] {
        seqs.map { Event(dot: Dot(origin, $0), org: org, scope: scope, context: VersionVector(), recordedAt: Int64($0), keyID: "k", sealedPayload: Data([UInt8($0 % 250)]), signature: Data(count: 64)) }
    }

    static func pushIsIdempotentAndAGapHoldsTheVector(_ storage: any SyncStorage) async throws {
        let r = ReplicaID.random()
        let all = events("basis", .partnership, origin: r, seqs: 1...6)
        #expect(try await storage.store(Array(all[0..<2])) == Stored(.stored(new: 2, alreadyHad: 0), inserted: all[0..<2].map(Page.Entry.init)))
        // A push of what is held inserts nothing.
        #expect(try await storage.store(Array(all[0..<2])) == Stored(.stored(new: 0, alreadyHad: 2)))
        #expect(try await storage.store(Array(all[0..<1]) + [all[1], all[1]]) == Stored(.stored(new: 0, alreadyHad: 3)))
        // 5 and 6 arrive before 3 and 4: kept, but the vector waits
        #expect(try await storage.push(Array(all[4...])) == .stored(new: 2, alreadyHad: 0))
        #expect(try await storage.vector()[r] == 2)
        #expect(try await storage.push(Array(all[2..<4])) == .stored(new: 2, alreadyHad: 0))
        #expect(try await storage.vector()[r] == 6)
        #expect(try await storage.eventCount() == 6)
    }

    static func aForkedDotIsRefusedAndNothingStored(_ storage: any SyncStorage) async throws {
        let r = ReplicaID.random()
        let original = events("basis", .org, origin: r, seqs: 1...2)
        _ = try await storage.push(original)
        let fork = Event(dot: Dot(r, 2), org: "basis", scope: .org, context: VersionVector(), recordedAt: 99, keyID: "k", sealedPayload: Data([9]), signature: Data(count: 64))
        let fresh = events("basis", .org, origin: .random(), seqs: 1...1)
        let before = try await storage.eventCount()
        #expect(try await storage.store(fresh + [fork]) == Stored(.rejected(Dot(r, 2))))
        #expect(try await storage.eventCount() == before)
    }

    static func pagesAreFilteredByEntitlementAndCutWithCover(_ storage: any SyncStorage) async throws {
        let b = ReplicaID.random(), j = ReplicaID.random()
        // basis: 1-3 partnership, 4-5 org-only, 6 partnership; joanna: 1-2 org-only, 3 partnership
        _ = try await storage.push(events("basis", .partnership, origin: b, seqs: 1...3) + events("basis", .org, origin: b, seqs: 4...5)
                                   + events("basis", .partnership, origin: b, seqs: 6...6))
        _ = try await storage.push(events("joanna", .org, origin: j, seqs: 1...2) + events("joanna", .partnership, origin: j, seqs: 3...3))
        // A joanna device with nothing: basis's org events never appear, yet it is covered to the top
        let forJoanna = try await storage.page(for: "joanna", after: VersionVector(), limit: 100)
        #expect(forJoanna.events.allSatisfy { $0.org == "joanna" || $0.scope == .partnership })
        #expect(forJoanna.events.filter { $0.dot.replica == b }.map(\.dot.seq) == [1, 2, 3, 6])
        #expect(forJoanna.covered[b] == 6 && forJoanna.covered[j] == 3 && !forJoanna.more)
        // A cut page: covered stops before the first event left out
        let cut = try await storage.page(for: "joanna", after: VersionVector(), limit: 2)
        #expect(cut.events.count == 2 && cut.more)
        let first = cut.events[0].dot.replica
        #expect(cut.covered[first] == cut.events[1].dot.seq)
        // Nothing new: an empty page
        let none = try await storage.page(for: "basis", after: try await storage.vector(), limit: 100)
        #expect(none.events.isEmpty && !none.more)
    }
}

@Suite struct SQLiteSyncStorageTests {
    @Test func sqliteStoragePassesTheStorageSuite() async throws {
        let dir = TempDir()
        var n = 0
        try await SyncStorageSuite.run {
            n += 1
            return try SQLiteSyncStorage(directory: dir.sub("server\(n)"))
        }
    }
}

@Suite struct PostgresSyncStorageTests {
    @Test func postgresStoragePassesTheStorageSuite() async throws {
        try await PostgresStorages.with { storages in try await SyncStorageSuite.run { try await storages.make() } }
    }
}
