import Foundation
import Testing
@testable import OutreachCore
import SyncServerKit

/// Carries exchanges to a `SyncService` in this process, through the JSON wire form as HTTP would.
struct InProcessTransport: SyncTransport {
    let service: SyncService
    let bearer: String

    func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 {
        let body = try SyncRequestV2(json: JSONValue.parse(request.json.canonicalData()))
        let response: SyncResponseV2
        do {
            response = try await service.sync(body, from: try await service.authenticate(bearer: bearer))
        } catch let e as ServerError where e.event != nil {
            throw SyncRefusal(code: e.kind.rawValue, message: e.message, origin: e.event!.replica)  // as HTTPTransport reads the error body
        }
        return try SyncResponseV2(json: JSONValue.parse(response.json.canonicalData()))
    }
}

/// Fails the `failAt`-th exchange, as a dropped connection would.
struct FlakyTransport: SyncTransport {
    let inner: any SyncTransport
    let failAt: Int
    let calls = Counter()

    struct Dropped: Error {}

    func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 {
        if calls.next() == failAt { throw Dropped() }
        return try await inner.exchange(request)
    }
}

struct Laptop {
    let log: FieldLog
    let bearer: String
    var org: String { log.keyring.org }

    func sync(_ service: SyncService, push: Int = 2000, page: Int? = nil, failAt: Int? = nil) async throws -> SyncSummary {
        let base = InProcessTransport(service: service, bearer: bearer)
        var engine = SyncEngine(store: log.store, keyring: log.keyring, transport: failAt.map { FlakyTransport(inner: base, failAt: $0) } ?? base)
        engine.pushLimit = push
        engine.pageLimit = page
        return try await engine.run()
    }
}

@Suite struct SyncConvergenceTests {
    static func partnership(in dir: TempDir, service: SyncService) async throws -> [Laptop] {
        try await service.storage.addOrganisation("basis", at: t0)
        try await service.storage.addOrganisation("joanna", at: t0)
        var laptops = [Laptop]()
        for (org, device) in [("basis", "b1"), ("basis", "b2"), ("joanna", "j1"), ("joanna", "j2")] {
            let log = try TestKeys.log(org, device: device, in: dir.sub(device))
            let token = try await service.issueEnrolment(org: org, lifetime: 3_600_000)
            let (_, bearer) = try await service.enrol(token: token, device: device, replica: log.store.info.replica,
                                                      certificates: try log.store.roster().certificates)
            laptops.append(Laptop(log: log, bearer: bearer))
        }
        return laptops
    }

    @Test(arguments: Backend.allCases) func twoCharitiesFourLaptopsConvergeOnWhatEachMayHold(backend: Backend) async throws {
        for seed in propertySeeds(backend == .sqlite ? 6 : 3) {
            var rng = SeededRNG(seed: seed)
            let dir = TempDir()
            try await withStorage(backend, dir) { storage in
                let service = SyncService(storage: storage)
                let laptops = try await Self.partnership(in: dir, service: service)
                var written = Set<EventID>()
                var backup: URL?
                var clock = t0

                for step in 0..<50 {
                    clock += 60_000
                    let laptop = laptops[Int.random(in: 0..<4, using: &rng)]
                    let people = Array(try laptop.log.state().people.keys).sorted()
                    switch Int.random(in: 0..<8, using: &rng) {
                    case 0:
                        written.formUnion(try laptop.log.registerPerson(name: "Secret\(seed)x\(step)", note: "lives near Harehills", at: clock).events.map(\.id))
                    case 1...2 where !people.isEmpty:
                        var c = NewContact(person: people.randomElement(using: &rng)!, setting: .van, zone: "Z2")
                        c.note = "note \(step)"
                        written.formUnion(try laptop.log.logContact(c, at: clock).allEvents.map(\.id))
                    case 3 where !people.isEmpty:
                        written.insert(try laptop.log.setRegister(.risk, of: people.randomElement(using: &rng)!, to: "high", at: clock).id)
                    case 4:
                        var i = NewIncident(person: nil, kind: .robbery, consent: .l1)
                        i.vehicle = "green Fiesta"
                        let r = try laptop.log.reportIncident(i, at: clock, now: clock)
                        written.formUnion([r.incident.id, r.summary.id])
                        if let a = r.alert { written.insert(a.id) }
                    default:
                        // Syncs: sometimes in tiny pages, sometimes cut off half-way (the next one finishes it)
                        let small = Bool.random(using: &rng)
                        let failAt: Int? = Int.random(in: 0..<4, using: &rng) == 0 ? 2 : nil
                        do {
                            _ = try await laptop.sync(service, push: small ? 3 : 2000, page: small ? 4 : nil, failAt: failAt)
                        } catch is FlakyTransport.Dropped {}
                    }
                    if step == 25, let sqlite = storage as? SQLiteSyncStorage { backup = dir.sub("backup"); try sqlite.backup(to: backup!) }
                }

                // SQLite: the server is lost and restored from the backup made half-way.
                var restored = service
                if let backup { restored = SyncService(storage: try SQLiteSyncStorage(directory: backup)) }
                for _ in 0..<3 { for laptop in laptops { _ = try await laptop.sync(restored, push: 7, page: 9) } }

                #expect(try await restored.storage.eventCount() == written.count, "seed \(seed): the server lacks events")
                let byOrg = Dictionary(grouping: laptops, by: \.org)
                for (org, group) in byOrg {
                    let ids = group[0].log.eventIDs
                    let entitled = Set(try laptops.flatMap { try $0.log.store.allEvents() }.filter { $0.org == org || $0.scope == .partnership }.map(\.id))
                    #expect(ids == entitled, "seed \(seed): \(org) laptops lack events they may hold")
                    for laptop in group {
                        #expect(laptop.log.eventIDs == ids, "seed \(seed): \(org) laptops differ")
                        #expect(try laptop.log.state() == group[0].log.state(), "seed \(seed): \(org) folds differ")
                        #expect(try laptop.log.store.check(keyring: laptop.log.keyring).isHealthy, "seed \(seed)")
                        let foreign = try laptop.log.store.allEvents().filter { $0.org != org && $0.scope == .org }
                        #expect(foreign.isEmpty, "seed \(seed): \(laptop.log.store.info.device) holds another charity's org-only events")
                    }
                }
                // The server's database holds no payload text.
                for file in try backup.map({ try FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil) }) ?? [] {
                    let bytes = try Data(contentsOf: file)
                    for secret in ["Secret\(seed)", "Harehills", "green Fiesta", "note 1"] {
                        #expect(bytes.range(of: Data(secret.utf8)) == nil, "seed \(seed): \(secret) in clear in \(file.lastPathComponent)")
                    }
                }
            }
        }
    }

    /// Attack 3 of issue #8: one event the reader cannot open, sitting on the server between
    /// good ones, used to stop every laptop's sync for good (exit 4). Now it is set aside and
    /// everything else arrives; syncing again changes nothing.
    @Test(arguments: Backend.allCases) func aBadEventOnTheServerIsSetAsideAndTheSyncGoesOn(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await Self.partnership(in: dir, service: service)
            var writers = [FieldLog]()
            for n in 0..<4 {
                let log = try TestKeys.log("basis", device: "w\(n)", in: dir.sub("w\(n)"))
                for i in 0..<6 { try log.logContact(NewContact(person: nil, unidentified: i + 1, setting: .van), at: t0 + Int64(i)) }
                writers.append(log)
            }
            writers.sort { $0.store.info.replica < $1.store.info.replica }
            // One writer signs, with its own certified key, an event sealed under a partnership key
            // nobody else has (a laptop of another partnership pushed through a mix-up).
            let rogue = writers[1]
            let foreign = Keyring(partnershipID: TestKeys.partnershipID, org: "basis", orgKey: TestKeys.orgKeys["basis"]!, partnershipKey: .generate(),
                                  deviceKey: rogue.keyring.deviceKey)
            try rogue.store.append([Draft(.partnership, Payload(type: .contactLogged, occurredAt: t0 + 9, author: "x", fields: ["unidentified": 1, "setting": "van"]))],
                                   keyring: foreign)
            for w in writers {
                let roster = try w.store.roster()
                try await service.addTrust(TrustRecord(partnership: roster.partnership, pins: roster.pins, certificates: roster.certificates))
                _ = try await service.storage.push(try w.store.allEvents())
            }

            let reader = laptops[1]
            let summary = try await reader.sync(service, push: 5, page: 4)
            #expect(summary.setAside == 1)
            let held = try reader.log.store.allEvents()
            for w in writers {
                #expect(held.filter { $0.dot.replica == w.store.info.replica }.count == 6, "every good event of \(w.store.info.device) arrived")
            }
            let aside = try reader.log.store.setAside()
            #expect(aside.map(\.rule) == [Authority.Rule.unknownKey.rawValue] && aside[0].dot == "\(rogue.store.info.replica)@7")
            #expect(try reader.log.store.check(keyring: reader.log.keyring).isHealthy)
            // It is never passed on: not in a bundle, not pushed.
            #expect(try EventBundle.make(from: reader.log.store, keyring: reader.log.keyring).events.allSatisfy { $0.keyID == TestKeys.partnershipKey.id || $0.scope == .org })
            // The same sync again changes nothing and does not stop.
            let again = try await reader.sync(service, push: 5, page: 4)
            #expect(again.received == 0 && again.setAside == 0)
            #expect(try reader.log.store.allEvents().count == held.count && (try reader.log.store.setAsideCount()) == 1)
        }
    }

    @Test(arguments: Backend.allCases) func aSyncWithNothingNewIsOneSmallRoundTrip(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await Self.partnership(in: dir, service: service)
            try laptops[0].log.registerPerson(name: "Rose", at: t0)
            _ = try await laptops[0].sync(service)
            _ = try await laptops[1].sync(service)
            // When nothing changed anywhere
            let summary = try await laptops[1].sync(service)
            #expect(summary.roundTrips == 1 && summary.sent == 0 && summary.received == 0)
            let request = SyncRequestV2(vector: try laptops[1].log.store.vector(), events: [], certDigest: try laptops[1].log.store.roster().digest)
            let response = try await service.sync(request, from: try await service.authenticate(bearer: laptops[1].bearer))
            #expect(request.json.canonicalData().count < 1024)
            #expect(response.json.canonicalData().count < 1024)
        }
    }

    @Test(arguments: Backend.allCases) func theServerRefusesForksForeignOrgEventsAndStrangers(backend: Backend) async throws {
        let dir = TempDir()
        try await withStorage(backend, dir) { storage in
            let service = SyncService(storage: storage)
            let laptops = try await Self.partnership(in: dir, service: service)
            let (p, events) = try laptops[0].log.registerPerson(name: "Rose", at: t0)
            _ = p
            let basis = try await service.authenticate(bearer: laptops[0].bearer)
            let joanna = try await service.authenticate(bearer: laptops[2].bearer)
            // Another organisation's org-only event: 403-worthy, nothing stored
            await #expect(throws: ServerError(.notEntitled, "event \(events[0].dot) belongs to basis only")) {
                try await service.sync(SyncRequestV2(vector: VersionVector(), events: events), from: joanna)
            }
            #expect(try await service.storage.eventCount() == 0)
            _ = try await service.sync(SyncRequestV2(vector: VersionVector(), events: events), from: basis)
            // The same dot with different content: refused, nothing stored
            // (signed by the device itself: a cloned laptop; anyone else's signature is refused before)
            let key = laptops[0].log.keyring.orgKey
            let forged = try Event(dot: events[0].dot, org: "basis", scope: .org, context: VersionVector(), recordedAt: 1, keyID: key.id,
                                   sealedPayload: try key.seal(Data("{}".utf8), aad: events[0].associatedData), signer: laptops[0].log.keyring.deviceKey)
            await #expect(throws: ServerError(.forkedDot, "event \(events[0].dot) differs from the one the server holds")) {
                try await service.sync(SyncRequestV2(vector: VersionVector(), events: [forged]), from: basis)
            }
            #expect(try await service.storage.eventCount() == 1)
            // Strangers and revoked devices
            await #expect(throws: ServerError.self) { try await service.authenticate(bearer: nil) }
            await #expect(throws: ServerError.self) { try await service.authenticate(bearer: "made-up") }
            #expect(try await service.storage.revoke(deviceID: basis.id, at: t0))
            await #expect(throws: ServerError.self) { try await service.authenticate(bearer: laptops[0].bearer) }
            // A wrong protocol version or a tampered event never reaches the service
            #expect(throws: SyncWireError.unsupportedProtocol(1)) { try SyncRequestV2(json: ["protocol": 1, "vector": [:], "events": []]) }
            var altered = events[0].json.objectValue!
            altered["seq"] = 7
            #expect(throws: SyncWireError.self) { try SyncRequestV2(json: ["protocol": 2, "vector": [:], "events": [.object(altered)]]) }
        }
    }
}
