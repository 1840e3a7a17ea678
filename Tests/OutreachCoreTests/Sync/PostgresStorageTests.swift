import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import PostgresTestSupport
import Testing
@testable import OutreachCore
import SyncServerKit
@testable import SyncServerPostgres

/// What only PostgreSQL needs proving: the database itself refuses what the rules forbid (a
/// second instance, a stray psql, a modified server), two instances pushing at once neither lose
/// nor double nor fork anything, and a wrong password fails instead of retrying for ever.
@Suite struct PostgresStorageTests {
    /// Runs `sql` directly on the storage's database, as an attacker with the database password would.
    static func raw(_ database: PostgresTestDatabase, _ sql: String) async throws {
        try await PostgresTestDatabase.admin(database.url) { try await $0.query(PostgresQuery(unsafeSQL: sql)) }
    }

    /// A page's packed index (`fieldlog_page_ids`) comes in no promised order: each origin's
    /// records are sorted by seq; a partial record, a bad flag, a seq of 0 or a seq named twice
    /// is refused, never served.
    @Test func aPackedIndexIsSortedAndCheckedRecordByRecord() throws {
        let origin = ReplicaID.random()
        func record(_ seq: UInt64, _ purged: UInt8 = 0, id byte: UInt8? = nil) -> [UInt8] {
            Array(repeating: byte ?? UInt8(seq), count: 32) + withUnsafeBytes(of: seq.bigEndian, Array.init) + [purged]
        }
        let entries = try PostgresSyncStorage.unpackIndex(ByteBuffer(bytes: record(3) + record(1, 1) + record(2)), origin: origin)
        #expect(entries.map(\.dot) == [Dot(origin, 1), Dot(origin, 2), Dot(origin, 3)])
        #expect(entries.map(\.purged) == [true, false, false])
        #expect(entries[0].id == EventID(hex: String(repeating: "01", count: 32)))
        #expect(try PostgresSyncStorage.unpackIndex(ByteBuffer(), origin: origin).isEmpty)
        for bad in [record(1) + [0], record(1, 2), record(0), record(2) + record(2, 0, id: 9)] {
            #expect(throws: FieldlogError.self) { try PostgresSyncStorage.unpackIndex(ByteBuffer(bytes: bad), origin: origin) }
        }
    }

    /// A page from memory is read without a transaction (its first statement, then the rows):
    /// an event purged in between is not served whole as it was, and its purge is not left out;
    /// the page is read again in one snapshot.
    @Test func anEventPurgedWhileAPageIsReadIsNeverServedWhole() async throws {
        try await PostgresStorages.with { storages in
            let storage = try await storages.open(try await storages.database())
            let all = SyncStorageSuite.events("basis", .partnership, origin: .random(), seqs: 1...5)
            #expect(try await storage.push(all) == .stored(new: 5, alreadyHad: 0))
            let payload = Payload(type: .eventsPurged, occurredAt: t0, author: "", fields: ["purge": .array([.string(all[2].id.hex)])])
            let purge = Event(dot: Dot(.random(), 1), org: "basis", scope: .public, context: VersionVector(), recordedAt: 1, keyID: Scope.clearKeyID,
                              sealedPayload: payload.json.canonicalData(), signature: Data(count: 64))
            let purged = Counter()
            let purging: @Sendable () async throws -> Void = {
                let outcome = try await storage.push([purge])
                #expect(outcome == .stored(new: 1, alreadyHad: 0))
                _ = purged.next()
            }
            let page = try await storage.page(for: "basis", after: VersionVector(), limit: 100, rows: .events, known: { $0.map { _ in false } },
                                              afterBegin: purging)
            #expect(purged.value == 1)
            #expect(page.events.first { $0.id == all[2].id }?.isPurged == true)
            #expect(page.events.filter { !$0.isPurged }.count == 5 && page.events.contains { $0.id == purge.id })
        }
    }

    /// The page's rows are read straight from their bytes (`RawCells`): each type reads back
    /// as PostgresNIO reads it, and a column of another type goes through PostgresNIO.
    @Test func rawCellsReadWhatPostgresNIOReads() async throws {
        try await PostgresStorages.with { storages in
            let database = try await storages.database()
            try await PostgresTestDatabase.admin(database.url) { client in
                let rows = try await client.query("""
                    SELECT 'abc'::text, 'é ✓'::varchar, NULL::text, 'x'::text, 9007199254740993::int8, -7::int4, true, false, '\\x00ff10'::bytea, ''::bytea
                    """).collect()
                let row = try #require(rows.first)
                var cells = RawCells(row)
                #expect(try cells.text() == "abc" && cells.text() == "é ✓")
                #expect(try cells.optionalText() == nil && cells.optionalText() == "x")
                #expect(try cells.int64() == 9007199254740993 && cells.int64() == -7)
                #expect(try cells.bool() == true && cells.bool() == false)
                #expect(try cells.data() == Data([0x00, 0xff, 0x10]) && cells.data() == Data())
                #expect(throws: FieldlogError.self) { try cells.text() }  // no column left
                let decoded = try row.decode((String, String, String?, String, Int64, Int64, Bool, Bool, Data, Data).self)
                #expect(decoded.0 == "abc" && decoded.1 == "é ✓" && decoded.4 == 9007199254740993 && decoded.8 == Data([0x00, 0xff, 0x10]))
            }
        }
    }

    static func isStored(_ outcome: PushOutcome) -> Bool {
        if case .stored = outcome { return true }
        return false
    }

    @Test func theDatabaseRefusesRewritesDeletesAndAVectorGoingBack() async throws {
        try await PostgresStorages.with { storages in
            let database = try await storages.database()
            let storage = try await storages.open(database)
            let r = ReplicaID.random()
            let events = SyncStorageSuite.events("basis", .partnership, origin: r, seqs: 1...3)
            _ = try await storage.push(events)
            let id = events[1].id.hex
            for attack in [
                "UPDATE events SET payload = '\\x00'::bytea WHERE id = '\(id)'",
                "UPDATE events SET org = 'joanna' WHERE id = '\(id)'",
                // A purge with no purge on record naming the event, even with the right digest.
                "UPDATE events SET payload = sha256(payload), purged = true WHERE id = '\(id)'",
                "DELETE FROM events WHERE id = '\(id)'",
                "TRUNCATE events CASCADE",
                "UPDATE coverage SET seq = 1 WHERE origin = '\(r.rawValue)'",
                "DELETE FROM coverage",
            ] {
                await #expect(throws: (any Error).self, "\(attack)") { try await Self.raw(database, attack) }
            }
            #expect(try await storage.eventCount() == 3)
            #expect(try await storage.vector()[r] == 3)
            let page = try await storage.page(for: "joanna", after: VersionVector(), limit: 10)
            #expect(page.events.map(\.id) == events.map(\.id) && page.events.allSatisfy { !$0.isPurged })
            // A purge on record, but a payload that is not the digest: still refused.
            try await Self.raw(database, "INSERT INTO purges(id, org, by) VALUES ('\(id)', 'basis', '\(events[0].id.hex)')")
            await #expect(throws: (any Error).self) {
                try await Self.raw(database, "UPDATE events SET payload = '\\x\(String(repeating: "00", count: 32))'::bytea, purged = true WHERE id = '\(id)'")
            }
            await #expect(throws: (any Error).self) { try await Self.raw(database, "DELETE FROM purges") }
        }
    }

    /// Two instances (two pools on one database) push overlapping batches of the same origins at
    /// once, in random order, as laptops retrying against either would; a forged copy of one dot
    /// races them. Every event is stored once, the vector closes every run, and the fork never lands.
    @Test func twoInstancesPushingAtOnceLoseNothingAndDoubleNothing() async throws {
        try await PostgresStorages.with { storages in
            let database = try await storages.database()
            let one = try await storages.open(database), two = try await storages.open(database)
            let origins = (0..<4).map { _ in ReplicaID.random() }
            let all = origins.flatMap { SyncStorageSuite.events("basis", .partnership, origin: $0, seqs: 1...60) }
            var rng = SeededRNG(seed: 20261125)
            var batches = [[Event]]()
            for _ in 0..<40 {
                let origin = origins.randomElement(using: &rng)!
                let start = UInt64.random(in: 1...60, using: &rng), end = min(60, start + UInt64.random(in: 0...15, using: &rng))
                batches.append(all.filter { $0.dot.replica == origin && (start...end).contains($0.dot.seq) })
            }
            batches += origins.map { o in all.filter { $0.dot.replica == o } }  // each origin whole, at least once
            batches.shuffle(using: &rng)
            let forged = Event(dot: Dot(origins[0], 30), org: "basis", scope: .partnership, context: VersionVector(), recordedAt: 999, keyID: "k",
                               sealedPayload: Data([7, 7]), signature: Data(count: 64))
            // The genuine event at the forged dot is held first: whichever of two events at one
            // dot is stored first wins, so a forgery pushed before it would (rightly) win and
            // fail the genuine pushes; that race is not what this test is about.
            let genuine = all.filter { $0.dot == forged.dot }
            let first = try await one.push(genuine)
            #expect(first == .stored(new: 1, alreadyHad: 0))
            let outcomes = try await withThrowingTaskGroup(of: PushOutcome.self) { group in
                for (n, batch) in batches.enumerated() {
                    let storage = n % 2 == 0 ? one : two
                    group.addTask { try await storage.push(batch) }
                    if n == batches.count / 2 { group.addTask { try await two.push([forged]) } }
                }
                var out = [PushOutcome]()
                for try await o in group { out.append(o) }
                return out
            }
            let rejected = outcomes.filter { !Self.isStored($0) }
            #expect(rejected == [PushOutcome.rejected(forged.dot)])
            #expect(try await one.eventCount() == all.count)
            let vector = try await two.vector()
            for o in origins { #expect(vector[o] == 60) }
            let page = try await one.page(for: "basis", after: VersionVector(), limit: 1000)
            #expect(Set(page.events.map(\.id)) == Set(all.map(\.id)) && page.events.count == all.count && !page.more)
            #expect(try await two.push([forged]) == .rejected(forged.dot))

            // Disjoint halves of one origin at the same moment, the later half first: each
            // instance must see the other's run, or the vector stops half-way for good.
            let halves = (0..<12).map { _ in ReplicaID.random() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for origin in halves {
                    let events = SyncStorageSuite.events("basis", .partnership, origin: origin, seqs: 1...40)
                    group.addTask { _ = try await two.push(Array(events[20...])) }
                    group.addTask { _ = try await one.push(Array(events[..<20])) }
                }
                try await group.waitForAll()
            }
            let after = try await one.vector()
            for o in halves { #expect(after[o] == 40, "the vector of \(o) stopped at \(after[o])") }
        }
    }

    /// A push never holds its device's row while it waits for its origin: a revocation takes
    /// the origin's lock, then the row. Forced here: the revocation holds the origin, a push with
    /// that device's last-sync mark comes and waits, then the revocation goes on to the row. When
    /// the push wrote the row first, PostgreSQL found a deadlock and failed one of the two.
    @Test func aPushWaitingForItsOriginHoldsNoDeviceRowARevocationNeeds() async throws {
        try await PostgresStorages.with { storages in
            let database = try await storages.database()
            let storage = try await storages.open(database)
            try await storage.addOrganisation("basis", at: t0)
            let replica = ReplicaID.random()
            try await Self.raw(database, """
                INSERT INTO devices(id, org, name, replica, token_hash, enrolled_at) VALUES ('d1', 'basis', 'b1', '\(replica.rawValue)', 'h', \(t0))
                """)
            let events = SyncStorageSuite.events("basis", .partnership, origin: replica, seqs: 1...3)
            let held = AsyncStream<Void>.makeStream(), pushWaits = AsyncStream<Void>.makeStream()
            let revocation = Task {
                try await storage.revoke(deviceID: "d1", at: t0 + 5) {
                    held.continuation.yield()
                    for await _ in pushWaits.stream { break }
                }
            }
            for await _ in held.stream { break }
            let push = Task { try await storage.store(events, marking: SyncMark(deviceID: "d1", at: t0 + 6)) }
            // The push waits for the origin's lock (the revocation holds it).
            let waiting = NIOLockedValueBox(false)
            try await PostgresTestDatabase.admin(database.url) { client in
                for _ in 0..<200 {
                    var n: Int64 = 0
                    for try await c in try await client.query("SELECT count(*)::int8 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").decode(Int64.self) { n = c }
                    if n > 0 { return waiting.withLockedValue { $0 = true } }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(waiting.withLockedValue { $0 }, "the push never waited for the origin's lock")
            pushWaits.continuation.yield()
            #expect(try await revocation.value, "the revocation ends, and revokes")
            #expect(try await push.value.outcome == .stored(new: 3, alreadyHad: 0), "the push ends after it, and stores")
            #expect(try await storage.revokedReplicas()[replica] == 0, "the cut is what the server held when the revocation took the lock")
            #expect(try await storage.devices().first { $0.id == "d1" }?.lastSyncAt == t0 + 6)
        }
    }

    /// postgres-nio retries a refused login for ever; the server gives up with a clear error.
    @Test func aWrongPasswordFailsWithAClearError() async throws {
        let server = try PostgresTestDatabase.serverURL()
        let wrong = try DatabaseURL("postgres://\(server.user):not-the-password@\(server.host):\(server.port)/\(server.database)?sslmode=disable")
        do {
            let storage = try await PostgresSyncStorage.open(wrong, logger: Logger(label: "test"), timeout: .seconds(3))
            await storage.close()
            Issue.record("a wrong password opened the database")
        } catch let error as ServerError {
            #expect(error.message.contains("did not answer") && error.message.contains("password"))
            #expect(!error.message.contains("not-the-password"))
        }
    }

    @Test func databaseURLsAreReadAndNeverShowThePassword() throws {
        let url = try DatabaseURL("postgresql://sync%40leeds:s3cr%2Ft@db.example:6543/fieldlog?sslmode=require", environment: [:])
        #expect(url.user == "sync@leeds" && url.host == "db.example" && url.port == 6543 && url.database == "fieldlog" && url.sslMode == "require")
        #expect("\(url)" == "postgres://sync@leeds@db.example:6543/fieldlog" && !"\(url)".contains("s3cr"))
        #expect(try DatabaseURL("postgres://u@h/d", environment: ["PGPASSWORD": "pw"]).port == 5432)
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?sslmode=maybe"] {
            #expect(throws: ServerError.self, "\(bad)") { try DatabaseURL(bad, environment: [:]) }
        }
    }
}
