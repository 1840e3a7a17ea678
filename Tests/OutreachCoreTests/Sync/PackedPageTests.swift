import Foundation
import GRDB
import Testing
@testable import OutreachCore
@testable import SyncServerKit
import SyncClient

/// Packed pages (`Protocol/http.md`): the same answer as the JSON one, read as strictly.
@Suite struct PackedPageTests {
    /// A small store's events of every kind: sealed, public (a purge), purged (tombstones), the
    /// first of an origin (no prev) and later ones, with contexts of several replicas.
    static func events() throws -> (events: [Event], certificates: [DeviceCertificate], vector: VersionVector) {
        let dir = TempDir()
        let w = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let j = try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))
        for n in 0..<6 {
            let (p, _) = try w.registerPerson(name: "R\"ose \\ \(n) ✓", note: "line\nbreak", at: t0 + Int64(n))
            try w.logContact(NewContact(person: p, setting: .van, zone: "Z\(n % 3)"), at: t0 + Int64(n))
        }
        try j.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: t0)
        try j.send(to: w)
        let (rose, _) = try w.registerPerson(name: "Rose", at: t0 + 10)
        try w.erase(try w.planErasure(of: rose), reason: "asked", at: t0 + 11)
        let events = try w.store.allEvents()
        #expect(events.contains(where: \.isPurged) && events.contains { $0.scope == .public } && events.contains { $0.context.entries.count > 1 })
        return (events, try w.store.roster().certificates, try w.store.vector())
    }

    @Test func aPackedPageReadsBackAsTheJSONAnswer() throws {
        let (events, certificates, vector) = try Self.events()
        let encoded = EncodedEvents()
        for (n, chosen) in [events, [], Array(events.prefix(1)), events.reversed()].enumerated() {
            let response = SyncResponseV2(vector: vector, covered: vector, events: chosen, more: n % 2 == 0, stored: n, alreadyHad: 1,
                                          certificates: n == 0 ? certificates : nil, certDigest: "digest-\(n)")
            let packed = try encoded.answer(response, .packed).packed
            #expect(PackedPage.isPacked(packed) && !PackedPage.isPacked(response.json.canonicalData()))
            let read = try PackedPage.decode(packed)
            #expect(read == response, "answer \(n)")
            #expect(read.json.canonicalData() == response.json.canonicalData(), "answer \(n)")
        }
        // Each event alone, purged or not, reads back to itself.
        for e in events { #expect(try Event(packed: Data(e.packed)) == e) }
    }

    /// A stored row packed straight from its columns (`EventTable.RawRow.packed`, what a server
    /// sends a new laptop) is exactly `Event.packed` of the event it holds, for events of every
    /// kind, and so reads back to that event.
    @Test func aStoredRowPacksAsTheEventItHolds() throws {
        let (events, _, _) = try Self.events()
        let db = try DatabaseQueue()
        let packed = try db.write { db in
            try db.execute(sql: EventTable.schemaSQL)
            let insert = try db.makeStatement(sql: EventTable.insertSQL)
            for e in events { try EventTable.insert(e, insert, db) }
            let select = try db.makeStatement(sql: "SELECT \(EventTable.columns) FROM events ORDER BY origin, seq")
            var out = [[UInt8]]()
            try EventTable.step(select.sqliteStatement, db) { out.append(try $0.packed()) }
            return out
        }
        let expected = events.sorted { $0.dot < $1.dot }
        #expect(packed == expected.map(\.packed))
        #expect(try packed.map { try Event(packed: Data($0)) } == expected)
    }

    /// The columns of a row as any backend holds them: a context in any JSON form packs as the
    /// vector it means (replicas ascending, zeros left out); a row no event could have been stored
    /// as is refused, never packed into something a laptop would have to catch.
    @Test func storedColumnsPackAsTheirEventOrAreRefused() throws {
        let (events, _, _) = try Self.events()
        func pack(_ e: Event, ctx: String? = nil, id: String? = nil, keyID: String? = nil, payload: Data? = nil, sig: Data? = nil) throws -> [UInt8] {
            let row = EventTable.StoredEvent(e)
            func b(_ s: String) -> Data { Data(s.utf8) }
            let (idB, origin, org, scope, ctxB, key) = (b(id ?? row.id), b(row.origin), b(row.org), b(row.scope), b(ctx ?? row.ctx), b(keyID ?? row.keyID))
            let (payload, sig, prev) = (payload ?? row.payload, sig ?? row.sig, row.prev.map(b))
            return try idB.withUnsafeBytes { idB in try origin.withUnsafeBytes { origin in try org.withUnsafeBytes { org in try scope.withUnsafeBytes { scope in
                try ctxB.withUnsafeBytes { ctxB in try key.withUnsafeBytes { key in try payload.withUnsafeBytes { payload in try sig.withUnsafeBytes { sig in
                    try (prev ?? Data()).withUnsafeBytes { prevB in
                        try Event.packed(stored: EventTable.ColumnBytes(id: idB, origin: origin, seq: row.seq, org: org, scope: scope, ctx: ctxB,
                                                                        recordedAt: row.recordedAt, keyID: key, payload: payload, signature: sig,
                                                                        prev: prev == nil ? nil : prevB, purged: row.purged))
                    }
                } } } }
            } } } }
        }
        for e in events { #expect(try pack(e) == e.packed) }
        let wide = try #require(events.first { $0.context.entries.count > 1 })
        let entries = wide.context.entries.sorted { $0.key > $1.key }  // descending: not as stored
        let spaced = "{ " + entries.map { "\"\($0.key.rawValue)\" : \($0.value)" }.joined(separator: " , ") + " }"
        let compactDescending = "{" + (entries.map { "\"\($0.key.rawValue)\":\($0.value)" } + ["\"\(ReplicaID.random().rawValue)\":0"]).joined(separator: ",") + "}"
        #expect(try pack(wide, ctx: spaced) == wide.packed)
        #expect(try pack(wide, ctx: compactDescending) == wide.packed)
        let twice = "{\"\(entries[0].key.rawValue)\":1,\"\(entries[0].key.rawValue)\":2}"
        let purged = try #require(events.first { $0.isPurged })
        for (what, bad) in [("ctx", { try pack(wide, ctx: twice) }), ("ctx", { try pack(wide, ctx: "[1]") }),
                            ("id", { try pack(wide, id: "XYZ") }), ("key id", { try pack(wide, keyID: "abc") }),
                            ("signature", { try pack(wide, sig: Data(count: 63)) }), ("digest", { try pack(purged, payload: Data(count: 31)) })] as [(String, () throws -> [UInt8])] {
            #expect(throws: (any Error).self, "\(what)") { try bad() }
        }
    }

    /// A server or a network that alters a packed page is caught as with JSON: every cut short,
    /// every byte flipped, anything added, gives an error (never a crash, never a changed event).
    @Test func aDamagedOrForgedPackedPageIsRefused() throws {
        let (events, _, vector) = try Self.events()
        let response = SyncResponseV2(vector: vector, covered: vector, events: Array(events.prefix(3)), more: false, stored: 0, alreadyHad: 0)
        let packed = try EncodedEvents().answer(response, .packed).packed
        for cut in stride(from: 0, to: packed.count, by: 7) {
            #expect(throws: (any Error).self, "cut at \(cut)") { try PackedPage.decode(packed.prefix(cut)) }
        }
        #expect(throws: SyncWireError.self) { try PackedPage.decode(packed + Data([0])) }
        var rng = SeededRNG(seed: 20261205)
        let head = 16 + 4 + Int(packed[16...19].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        for _ in 0..<300 {
            var forged = packed
            let at = Int.random(in: head..<packed.count, using: &rng)
            forged[at] ^= UInt8.random(in: 1...255, using: &rng)
            do {
                // A flip inside a payload or signature still reads (the id does not cover the
                // signature, and the payload's AEAD is checked at import): it must then differ.
                let read = try PackedPage.decode(forged)
                #expect(read.events != response.events)
                #expect(zip(read.events, response.events).allSatisfy { $0.id == $1.id })
            } catch {}
        }
        // An event whose id does not match its contents is a bad event, as in JSON.
        var tampered = Array(events[1].packed)
        tampered[40] ^= 1  // its seq
        #expect { try Event(packed: Data(tampered)) } throws: { ($0 as? FieldlogError)?.code == .tampered }
    }

    /// Over HTTP: a laptop that asks for packed pages gets them; one that does not (an older
    /// laptop, or anything else) gets the JSON answer, byte for byte what it got before.
    @Test func theServerPacksOnlyForThoseWhoAsk() async throws {
        let dir = TempDir()
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let server = try await EmbeddedServer.start(service: service, configuration: SyncServerConfiguration(host: "127.0.0.1", port: 0))
        do {
            let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
            let (b1, b2) = (laptops[0], laptops[1])
            var people = [(String, [Event])]()
            for n in 0..<30 { people.append(try b1.log.registerPerson(name: "P\(n)", at: t0 + Int64(n))) }
            func run(_ laptop: Laptop) async throws -> SyncSummary {
                try await SyncEngine(store: laptop.log.store, keyring: laptop.log.keyring, transport: HTTPTransport(server: server.url, token: laptop.bearer)).run()
            }
            #expect(try await run(b1).sent == 30)
            let body = SyncRequestV2(vector: VersionVector(), events: [], limit: 5000).json
            let packed = try await HTTPTransport.postForBytes(server: server.url, path: "/v1/sync", body: body, bearer: b2.bearer, accept: PackedPage.mediaType)
            let plain = try await HTTPTransport.postForBytes(server: server.url, path: "/v1/sync", body: body, bearer: b2.bearer)
            #expect(PackedPage.isPacked(packed) && plain.first == UInt8(ascii: "{"))
            let fromPacked = try PackedPage.decode(packed), fromJSON = try SyncResponseV2(json: try JSONValue.parse(plain))
            #expect(fromPacked == fromJSON && fromPacked.events.count == 30)
            // The laptop's own sync reads packed pages, and converges.
            #expect(try await run(b2).received == 30)
            #expect(try b2.log.store.vector()[b1.log.store.info.replica] == 30)

            // b1 erases one of them. The server kept the bytes of her full copy when b1 pushed it
            // and answered b2 from them; from now on every answer, packed or JSON, carries her
            // tombstone with its purge, and b2 (which read her from those kept bytes) forgets her.
            let (victim, hers) = people[7]
            try b1.log.erase(try b1.log.planErasure(of: victim), reason: "asked", at: t0 + 100)
            _ = try await run(b1)
            _ = try await run(b2)
            let packedAfter = try PackedPage.decode(try await HTTPTransport.postForBytes(server: server.url, path: "/v1/sync", body: body, bearer: b2.bearer,
                                                                                          accept: PackedPage.mediaType))
            let jsonAfter = try SyncResponseV2(json: try JSONValue.parse(try await HTTPTransport.postForBytes(server: server.url, path: "/v1/sync", body: body,
                                                                                                                bearer: b2.bearer)))
            #expect(packedAfter == jsonAfter)
            for e in hers { #expect(packedAfter.events.contains { $0.id == e.id && $0.isPurged } && !packedAfter.events.contains(e)) }
            #expect(packedAfter.events.contains { $0.scope == .public })
            let state = try b2.log.state()
            #expect(state.people[state.canonical(victim)]?.name == nil && state.people[state.canonical(people[8].0)]?.name == "P8")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
