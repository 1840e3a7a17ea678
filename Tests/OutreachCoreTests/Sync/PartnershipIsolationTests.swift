import Foundation
import PostgresTestSupport
import Testing
@testable import OutreachCore
import SyncServerKit
@testable import SyncServerPostgres

/// Issue 12, item 3: one server, several partnerships, isolated as strictly as two organisations:
/// a device, token, vector or page of one never reaches another, even where their organisations
/// share a name and a laptop's replica is the same.
@Suite struct PartnershipIsolationTests {
    /// Runs `body` with `backend`'s partnerships: SQLite in `dir`, PostgreSQL in a new database.
    static func withPartnerships(_ backend: Backend, _ dir: TempDir, _ body: (any PartnershipStorages) async throws -> Void) async throws {
        switch backend {
        case .sqlite:
            try await body(SQLitePartnerships(root: dir.sub("server")))
        case .postgres:
            try await PostgresStorages.with { storages in
                let all = try await PostgresPartnerships.open(storages.database().url, logger: .init(label: "test"))
                await storages.closing { await all.close() }
                try await body(all)
            }
        }
    }

    /// The same origin in two partnerships, with different events at the same dots, each stored
    /// through another server instance: each partnership's pages name its own events (on
    /// PostgreSQL an instance remembers recent dots for every partnership: never one's for another's).
    @Test(arguments: Backend.allCases) func theSameDotInTwoPartnershipsIsTwoEvents(backend: Backend) async throws {
        let dir = TempDir()
        try await Self.withPartnerships(backend, dir) { one in
            try await one.add("leeds")
            try await one.add("york")
            let two: any PartnershipStorages
            switch backend {
            case .sqlite: two = SQLitePartnerships(root: dir.sub("server"))
            case .postgres:
                two = try await PostgresPartnerships.open((one as! PostgresPartnerships).url, logger: .init(label: "test"))
                // Opened on two partnerships, its connections are split in two pools.
                let parts = await (two as! PostgresPartnerships).main.pool.clients.count
                #expect(parts == 2)
            }
            let origin = ReplicaID.random()
            let leeds = SyncStorageSuite.events("basis", .partnership, origin: origin, seqs: 1...8)
            let york = leeds.map { Event(dot: $0.dot, org: "basis", scope: .partnership, context: VersionVector(), recordedAt: $0.recordedAt + 1000,
                                         keyID: "k", sealedPayload: $0.sealedPayload, signature: Data(count: 64)) }
            #expect(try await one.storage("leeds").push(leeds) == .stored(new: 8, alreadyHad: 0))
            #expect(try await two.storage("york").push(york) == .stored(new: 8, alreadyHad: 0))
            for (name, events) in [("leeds", leeds), ("york", york)] {
                for storages in [one, two] {
                    let page = try await storages.storage(name).page(for: "basis", after: VersionVector([origin: 2]), limit: 100)
                    #expect(page.entries.map(\.id) == events.dropFirst(2).map(\.id), "\(name)")
                }
            }
            if let two = two as? PostgresPartnerships { await two.close() }
        }
    }

    @Test(arguments: Backend.allCases) func partnershipsShareNothing(backend: Backend) async throws {
        let dir = TempDir()
        try await Self.withPartnerships(backend, dir) { all in
            try await all.add("leeds")
            try await all.add("york-2")
            await #expect(throws: ServerError.self) { try await all.add("leeds") }
            #expect(try await all.names() == ["leeds", "york-2"])
            await #expect(throws: ServerError.self) { try await all.storage("hull") }
            let host = SyncHost(partnerships: all, main: SyncService(storage: try await all.storage(nil)))
            let server = try await EmbeddedServer.start(host: host)
            do {
                // Both partnerships have a "basis", and the same laptop enrols in each.
                let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
                var bearers = [String: String]()
                for name in ["leeds", "york-2"] {
                    let service = try await SyncService(storage: all.storage(name), partnership: name)
                    try await service.storage.addOrganisation("basis", at: t0)
                    let token = try await service.issueEnrolment(org: "basis", lifetime: 60_000)
                    #expect(token.hasPrefix("fle_\(name)."))
                    let routed = try await host.service(forToken: token)
                    let (_, bearer) = try await routed.enrol(token: token, device: "b1", replica: log.store.info.replica,
                                                             certificates: try log.store.roster().certificates)
                    #expect(bearer.hasPrefix("fld_\(name)."))
                    bearers[name] = bearer
                }
                // Leeds receives what the laptop pushes there; York and the default hold none of it.
                try log.registerPerson(name: "Rose", at: t0)
                let leeds = Laptop(log: log, bearer: bearers["leeds"]!)
                _ = try await leeds.sync(try await host.service(forToken: leeds.bearer))
                let held = try log.store.eventCount()
                #expect(try await all.storage("leeds").eventCount() == held)
                #expect(try await all.storage("york-2").eventCount() == 0)
                #expect(try await all.storage(nil).eventCount() == 0)
                let york = try await host.service(forToken: bearers["york-2"]!)
                let page = try await york.sync(SyncRequestV2(vector: VersionVector(), events: []),
                                               from: try await york.authenticate(bearer: bearers["york-2"]!))
                #expect(page.events.isEmpty && page.vector.entries.isEmpty)

                // A token moved to another partnership, or naming one that does not exist, is no token.
                let secret = String(bearers["leeds"]!.dropFirst("fld_leeds.".count))
                // Whatever a client puts in a token (a dot before the prefix ended crashed the parser).
                for forged in ["fld_york-2.\(secret)", "fld_hull.\(secret)", "fld_\(secret)", "fld_../leeds.\(secret)",
                               "ab.c", ".", "fld.", "fld_.", "fle_.x", "x.y.z"] {
                    let reply = try await HTTPTests.post(server.url + "/v1/sync", JSONValue.object(["protocol": 2, "vector": [:], "events": []]).canonicalData(),
                                                         bearer: forged)
                    #expect(reply.status == 401 && reply.json["error"]?["code"] == "unauthorised", "\(forged)")
                }
                let enrol = try await HTTPTests.post(server.url + "/v1/enrol", JSONValue.object([
                    "protocol": 2, "token": "fle_hull.abc", "device": "x", "replica": .string(ReplicaID.random().rawValue), "certificates": [],
                ]).canonicalData())
                #expect(enrol.status == 401 && enrol.json["error"]?["code"] == "bad-token")
                // The real token still works, over HTTP.
                let ok = try await HTTPTests.post(server.url + "/v1/sync", JSONValue.object(["protocol": 2, "vector": [:], "events": []]).canonicalData(),
                                                  bearer: bearers["leeds"]!)
                #expect(ok.status == 200 && ok.json["events"]?.arrayValue?.count == held)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }
}

/// A server's PostgreSQL connections split by partnership (`PostgresPool`): a schema always
/// leases from the same part, the parts are used evenly enough, a server of one partnership
/// keeps one pool, and no part has fewer than two connections.
@Suite struct PostgresPoolPartsTests {
    @Test func aSchemaAlwaysLeasesFromTheSamePart() async throws {
        #expect([0, 1, 2, 3, 8, 50, 500].map { PostgresPool.parts(forPartnerships: $0) } == [1, 1, 2, 3, 8, 8, 8])
        #expect(PostgresPool.parts(forPartnerships: 50, connections: 4) == 2)
        let pool = PostgresPool(try DatabaseURL("postgres://nobody@127.0.0.1:1/none"), parts: 8, logger: .init(label: "test"))
        #expect(pool.clients.count == 8)
        let schemas = (0..<50).map { PostgresPartnerships.schema("p\($0)") }
        let parts = schemas.map(pool.part(for:))
        #expect(parts == schemas.map(pool.part(for:)))
        #expect(pool.part(for: nil) == 0 && parts.allSatisfy((0..<8).contains))
        #expect(Set(parts).count == 8, "50 partnerships leave no part unused")
        await pool.close()
        let one = PostgresPool(try DatabaseURL("postgres://nobody@127.0.0.1:1/none"), logger: .init(label: "test"))
        #expect(one.clients.count == 1 && schemas.allSatisfy { one.part(for: $0) == 0 })
        await one.close()
    }
}

@Suite struct TokenPartnershipTests {
    @Test func onlyAKnownPrefixThenADotNamesAPartnership() {
        #expect(Tokens.partnership(of: "fld_leeds.abc") == "leeds" && Tokens.partnership(of: "fle_york-2.x") == "york-2")
        #expect(Tokens.partnership(of: "fld_.x") == "" && Tokens.partnership(of: "fld_abc") == nil)
        for odd in ["", ".", "ab.c", "fld.", "x.y.z", "fld", "🦆.x"] { #expect(Tokens.partnership(of: odd) == nil, "\(odd)") }
    }

    /// Servers store only this hash of each token: it must stay exactly the SHA-256 in lowercase
    /// hex that every existing database holds, or their laptops' tokens stop working.
    @Test func aTokenIsStoredAsItsSHA256InLowercaseHex() {
        #expect(Tokens.hash("fld_p1.abc") == "15d6d5fbb1688e5981969deb670ef123025b82e610a774da77769302a83e0ca0")
    }
}
