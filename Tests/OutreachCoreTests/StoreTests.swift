import Foundation
import GRDB
import Testing
@testable import OutreachCore
import SyncServerKit

@Suite struct StoreTests {
    @Test func theEventTableRefusesUpdateAndDeleteInSQLiteItself() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        try log.registerPerson(name: "Rose", at: t0)
        // Given a raw connection to the file, as someone with sqlite3 would have
        let db = try DatabaseQueue(path: dir.sub("s").appendingPathComponent(Store.fileName).path)
        // Then UPDATE and DELETE fail, and the event is unchanged
        #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "UPDATE events SET org = 'x'") } }
        #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "DELETE FROM events") } }
        #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "UPDATE coverage SET seq = 0") } }
        #expect(try log.store.eventCount() == 1)
        #expect(try log.store.check(keyring: log.keyring).isHealthy)
    }

    /// `eventCount` and the report's content mark read the last row id instead of counting:
    /// that holds only while rows are numbered without gaps, appended, imported or set aside alike.
    @Test func theLastRowIDCountsTheEventsAndMovesWithEveryOneStored() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        func counted(_ log: FieldLog) throws -> Int { try log.store.db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM events") ?? -1 } }
        let (p, _) = try a.registerPerson(name: "Rose", at: t0)
        for i in 0..<5 { try a.logContact(NewContact(person: p, setting: .van), at: t0 + Int64(i)) }
        try b.registerPerson(name: "Lily", at: t0)
        // A refused draft (it names a later draft) rolls back and leaves no gap behind.
        #expect(throws: FieldlogError.self) { try a.store.append([Draft(Payload(type: .contactNote, occurredAt: t0, author: "w", fields: ["text": "x"]), references: ["contact": 0])], keyring: a.keyring) }
        let before = try b.store.contentMark()
        try a.send(to: b)
        try b.send(to: a)
        for log in [a, b] {
            let (byRow, byCount) = (try log.store.eventCount(), try counted(log))
            #expect(byRow == byCount && byCount == 7, "\(byRow) by row id, \(byCount) counted")
        }
        #expect(try counted(a) == counted(b))
        #expect(try b.store.contentMark() > before)
    }

    @Test func checkFindsAnAlteredRowAMissingTriggerAndAGap() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        try log.registerPerson(name: "Rose", at: t0)
        #expect(try log.store.check(keyring: log.keyring).isHealthy)
        // Someone with sqlite3 adds a row whose id does not match its contents, at seq 3 (a gap at 2),
        // and drops a trigger.
        let raw = try DatabaseQueue(path: dir.sub("s").appendingPathComponent(Store.fileName).path)
        try raw.write { db in
            try db.execute(sql: "INSERT INTO events(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig) VALUES (?,?,?,?,?,?,?,?,?,?)",
                           arguments: [String(repeating: "ab", count: 32), log.store.info.replica.rawValue, 3, "basis", "org", "{}", 0, "k", Data([1, 2, 3]),
                                       Data(count: 64)])
            try db.execute(sql: "DROP TRIGGER events_no_delete")
        }
        let report = try log.store.check(keyring: log.keyring)
        #expect(!report.isHealthy)
        let text = report.findings.map(\.message).joined(separator: "\n")
        #expect(text.contains("does not match its id"))
        #expect(text.contains("events_no_delete"))
        #expect(text.contains("without gaps"))
    }

    @Test func ownSeqsAreContiguousAndContextsGrow() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let (p, _) = try log.registerPerson(name: "Rose", at: t0)
        for i in 0..<5 { try log.logContact(NewContact(person: p, setting: .van, zone: "Z\(i)"), at: t0 + Int64(i)) }
        let events = try log.store.allEvents()
        #expect(events.map(\.dot.seq) == Array(1...UInt64(events.count)))
        for (n, e) in events.enumerated() { #expect(e.context[log.store.info.replica] == UInt64(n)) }
        #expect(try log.store.vector()[log.store.info.replica] == UInt64(events.count))
    }

    @Test func aBulkAppendSealedInParallelIsNumberedAndSealedLikeSerialOnes() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let (p, _) = try log.registerPerson(name: "Rose", at: t0)
        // Enough drafts to take the parallel path (chunks of 1024).
        let drafts = (0..<3000).map { n in
            Draft(.partnership, Payload(type: .contactLogged, occurredAt: t0 + Int64(n), author: "b1",
                                        fields: ["person": .string(p), "setting": "van", "services": ["condoms": .int(Int64(n))]]))
        }
        let written = try log.store.append(drafts, keyring: log.keyring)
        #expect(written.map(\.dot.seq) == Array(2...3001))
        for (n, e) in written.enumerated() {
            #expect(e.context[log.store.info.replica] == UInt64(n + 1))
            let opened = try #require(log.keyring.open(e))
            #expect(opened.payload["services"] == ["condoms": .int(Int64(n))])
        }
        #expect(Set(written.map { $0.sealedPayload.prefix(12) }).count == 3000)  // no nonce reused
        #expect(try log.store.check(keyring: log.keyring).isHealthy)
        #expect(try log.state().contacts.count == 3000)
    }

    @Test func theFileHoldsNoPayloadTextInClear() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let (p, _) = try log.registerPerson(name: "Moonflower", descriptor: "green anorak", note: "sister in Bradford", at: t0)
        var c = NewContact(person: p, setting: .van, zone: "Kirkstall")
        c.note = "asked about Pathway hostel"
        try log.logContact(c, at: t0)
        var i = NewIncident(person: p, kind: .robbery, consent: .l1)
        i.offender = "bald man"
        i.vehicle = "silver Astra"
        try log.reportIncident(i, at: t0, now: t0)
        // Checkpoint the WAL so everything is in the main file, then search every file's bytes.
        _ = try log.store.db.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        let files = try FileManager.default.contentsOfDirectory(at: dir.sub("s"), includingPropertiesForKeys: nil)
        for file in files {
            let bytes = try Data(contentsOf: file)
            for secret in ["Moonflower", "green anorak", "Bradford", "Kirkstall", "Pathway", "bald man", "silver Astra", "robbery", "housing", "condoms", p] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) found in clear in \(file.lastPathComponent)")
            }
        }
    }

    @Test func importIsIdempotentAndRefusesAForkedDot() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        try a.registerPerson(name: "Rose", at: t0)
        #expect(try a.send(to: b).stored == 1)
        #expect(try a.send(to: b).stored == 0)
        let full = try EventBundle.make(from: a.store, keyring: a.keyring)
        #expect(try b.store.importEvents(full.events, from: full.batchOrigin, keyring: b.keyring) == {
            var o = ImportOutcome(); o.alreadyHad = 1; return o }())
        // A different event claiming a's dot 1: forged (not a's signature) or forked (a's own
        // signature: a cloned laptop). Either is set aside; nothing stored, nothing stops.
        let original = full.events[0]
        let key = a.keyring.orgKey
        let box = try key.seal(Payload(type: .personRegistered, occurredAt: t0, author: "x", fields: ["person": "ab", "name": "X"]).json.canonicalData(),
                               aad: original.associatedData)
        let forged = Event(dot: original.dot, org: "basis", scope: .org, context: VersionVector(), recordedAt: 5, keyID: key.id,
                           sealedPayload: box, signature: Data(count: 64))
        let forked = try Event(dot: original.dot, org: "basis", scope: .org, context: VersionVector(), recordedAt: 6, keyID: key.id,
                               sealedPayload: box, signer: a.keyring.deviceKey)
        let before = try b.store.eventCount()
        let outcome = try b.store.importEvents([forged, forked], from: full.batchOrigin, keyring: b.keyring)
        #expect(outcome.setAside == [.badSignature: 1, .forked: 1] && outcome.stored == 0)
        #expect(try b.store.eventCount() == before)
        #expect(Set(try b.store.setAside().map(\.rule)) == ["bad-signature", "forked"])
    }

    @Test func aGapInABundleHoldsTheVectorBackUntilItIsFilled() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        for n in 0..<4 { try a.registerPerson(name: "P\(n)", at: t0) }
        let events = try a.store.allEvents()
        // Given a bundle that claims to start after seq 2, imported by a store that has nothing
        let late = BatchOrigin.carried("a bundle")
        let certificates = try a.store.roster().certificates
        _ = try b.store.importEvents(Array(events[2...]), certificates: certificates, from: late, keyring: b.keyring)
        // Then the events are kept, but the vector does not jump the gap
        #expect(try b.store.eventCount() == 2)
        #expect(try b.store.vector()[a.store.info.replica] == 0)
        // When the earlier events arrive, the vector closes over the whole run
        _ = try b.store.importEvents(Array(events[..<2]), certificates: certificates, from: late, keyring: b.keyring)
        #expect(try b.store.vector()[a.store.info.replica] == 4)
        #expect(try b.store.check(keyring: b.keyring).isHealthy)
    }

    @Test func anotherOrganisationReceivesOnlyPartnershipEvents() throws {
        let dir = TempDir()
        let basis = try TestKeys.log("basis", device: "b1", in: dir.sub("b"))
        let joanna = try TestKeys.log("joanna", device: "j1", in: dir.sub("j"))
        let (p, _) = try basis.registerPerson(name: "Rose", at: t0)  // org
        try basis.logContact(NewContact(person: p, setting: .van), at: t0)  // partnership
        let outcome = try basis.send(to: joanna)
        #expect(outcome.stored == 1)
        #expect(try joanna.store.allEvents().allSatisfy { $0.scope == .partnership })
        let state = try joanna.state()
        #expect(state.people[p]?.name == nil)
        #expect(state.contacts.count == 1)
    }
}

/// Stores and server data written by fieldlog 0.1 (unsigned events) are refused with what to do.
@Suite struct UpgradeTests {
    @Test func aStoreFromBeforeSignedEventsIsRefusedWithWhatToDo() throws {
        let dir = TempDir()
        let url = dir.sub("old")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let db = try DatabaseQueue(path: url.appendingPathComponent(Store.fileName).path)
        try db.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v1-event-log')")
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO meta VALUES ('format', 'fieldlog-store/1')")
        }
        let error = try #require(throws: FieldlogError.self) { try Store.open(at: url) }
        #expect(error.message.contains("before events were signed") && error.hint?.contains("join again from an invite") == true)
    }

    @Test func serverDataFromBeforeSignedEventsIsRefusedWithWhatToDo() throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(at: dir.sub("server"), withIntermediateDirectories: true)
        let db = try DatabaseQueue(path: dir.sub("server").appendingPathComponent(SQLiteSyncStorage.fileName).path)
        try db.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v1')")
        }
        let error = try #require(throws: ServerError.self) { try SQLiteSyncStorage(directory: dir.sub("server")) }
        #expect(error.message.contains("before events were signed") && error.message.contains("new, empty data directory"))
    }
}

@Suite struct CheckSignatureTests {
    /// A row written into the file by hand, with an id that matches but no valid signature:
    /// `fieldlog check` names it (reads trust the table; check verifies it).
    @Test func checkFindsARowWhoseSignatureDoesNotVerify() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        try log.registerPerson(name: "Rose", at: t0)
        let first = try log.store.allEvents()[0]
        let forged = Event(dot: Dot(log.store.info.replica, 2), prev: first.id, org: "basis", scope: .org, context: VersionVector(), recordedAt: 0,
                           keyID: log.keyring.orgKey.id, sealedPayload: Data(count: 40), signature: Data(count: 64))
        let raw = try DatabaseQueue(path: dir.sub("s").appendingPathComponent(Store.fileName).path)
        try raw.write { db in try EventTable.insert(forged, try db.makeStatement(sql: EventTable.insertSQL), db) }
        let text = try log.store.check(keyring: nil).findings.map(\.message).joined(separator: "\n")
        #expect(text.contains("event \(forged.dot): its signature does not verify"))
        #expect(!text.contains("event \(first.dot)"))
    }
}

@Suite struct OneActOneTransactionTests {
    /// A contact with its referrals and note, an incident with its summary and alert: one append
    /// each (consecutive seqs, one transaction), each follower naming the first by its id.
    @Test func theEventsOfOneActAreAppendedTogetherAndNameEachOther() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        var c = NewContact(person: nil, unidentified: 1, setting: .van)
        c.referrals = [.housing, .gp]
        c.note = "asked about hostels"
        let contact = try log.logContact(c, at: t0)
        #expect(contact.allEvents.map(\.dot.seq) == [1, 2, 3, 4])
        for follower in contact.referrals + [contact.note!] {
            #expect(log.keyring.open(follower)?.payload.fields["contact"]?.stringValue == contact.contact.id.hex)
            #expect(follower.context[log.store.info.replica] == follower.dot.seq - 1)
        }
        var i = NewIncident(person: nil, kind: .robbery, consent: .l2)
        i.offender = "man in a van"
        let incident = try log.reportIncident(i, at: t0, now: t0)
        #expect([incident.incident, incident.summary, incident.alert!].map(\.dot.seq) == [5, 6, 7])
        #expect(log.keyring.open(incident.summary).flatMap { Body.IncidentSummary($0.payload) }?.incident == incident.incident.id)
        #expect(log.keyring.open(incident.alert!).flatMap { Body.AlertIssued($0.payload) }?.incident == incident.incident.id)
        #expect(incident.summary.scope == .partnership && incident.incident.scope == .org)
        #expect(try log.store.check(keyring: log.keyring).isHealthy)
    }

    /// What a crash between two transactions used to leave: an incident without its summary.
    /// `fieldlog check` now notices.
    @Test func checkFindsAnIncidentWithoutItsSummary() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        let lonely = try log.store.append([Draft(Payload(type: .incidentReported, occurredAt: t0, author: "b1", fields: ["kind": "robbery", "consent": "L2"]))],
                                          keyring: log.keyring)[0]
        let report = try log.store.check(keyring: log.keyring)
        #expect(report.findings.map(\.message) == ["incident \(lonely.id.short) has no summary: the other organisations never count it"])
    }
}

/// The store's files are private from the first byte and on every open (issue 11, item 7).
@Suite struct StoreFileModeTests {
    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
    }

    @Test func theDatabaseAndItsWALAreOwnerOnlyAndLooserModesAreTightenedOnOpen() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        try log.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: t0)
        let db = dir.sub("b1").appendingPathComponent(Store.fileName).path
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: db + suffix) {
            #expect(Self.mode(db + suffix) == 0o600, "\(suffix.isEmpty ? "database" : suffix) is \(String(Self.mode(db + suffix), radix: 8))")
        }
        #expect(Self.mode(dir.sub("b1").path) == 0o700)
        // Copied back from a backup with the usual modes: opening makes it private again.
        chmod(db, 0o644)
        chmod(dir.sub("b1").path, 0o755)
        _ = try Store.open(at: dir.sub("b1"))
        #expect(Self.mode(db) == 0o600 && Self.mode(dir.sub("b1").path) == 0o700)
    }
}

/// Events are found by id through `id8` (their id's first 8 digits) and its index, in stores made
/// with it and in stores made before it (which keep their index of whole ids too).
@Suite struct IDPrefixIndexTests {
    /// Rows with chosen ids (the table checks only their length), several sharing 8 digits.
    static let ids = ["abcd1234" + String(repeating: "0", count: 56), "abcd1234" + String(repeating: "f", count: 56),
                      "abcd1235" + String(repeating: "1", count: 56), "0123" + String(repeating: "9", count: 60),
                      "abcd" + String(repeating: "2", count: 60)].map { EventID(hex: $0)! }

    static func fill(_ db: Database) throws {
        let insert = try db.makeStatement(sql: EventTable.insertSQL)
        for (n, id) in ids.enumerated() {
            try EventTable.insert(Event(storedID: id, dot: Dot(ReplicaID(bits: 7), UInt64(n + 1)), prev: nil, org: "basis", scope: .org,
                                        context: VersionVector(), recordedAt: 0, keyID: "k", sealedPayload: Data(count: 40), signature: Data(count: 64)),
                                  insert, db)
        }
    }

    /// What `idIs` and `idBetween` find, and that SQLite finds it through an index of ids:
    /// `events_id8` (`prefix`), or in an older store either that or its index of whole ids.
    static func expectFoundThroughAnIndex(_ db: Database, prefix: Bool) throws {
        let byID = "SELECT id FROM events WHERE \(EventTable.idIs("?1"))"
        for id in ids { #expect(try String.fetchAll(db, sql: byID, arguments: [id.hex]) == [id.hex]) }
        #expect(try String.fetchAll(db, sql: byID, arguments: ["abcd1234" + String(repeating: "7", count: 56)]).isEmpty)
        let between = "SELECT id FROM events WHERE \(EventTable.idBetween("?1", "?2")) ORDER BY id"
        #expect(try String.fetchAll(db, sql: between, arguments: ["abcd", "abcdg"]) == ids.map(\.hex).filter { $0.hasPrefix("abcd") }.sorted())
        #expect(try String.fetchAll(db, sql: between, arguments: ["abcd1234f", "abcd1234g"]) == [ids[1].hex])
        #expect(try String.fetchAll(db, sql: between, arguments: ["abcd12345", "abcd12346"]).isEmpty)
        // Joined as the server joins its quarantine (CROSS JOIN: the ids outside, each event found by its prefix).
        let joined = "SELECT e.id FROM purges p CROSS JOIN events e ON \(EventTable.idIs("p.id", in: "e"))"
        for sql in [byID, between, joined] {
            let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: sql == between ? ["a", "b"] : sql == byID ? ["a"] : [])
                .map { $0["detail"] as String }.joined(separator: "; ")
            let search = try #require(plan.split(separator: "; ").last { ["e", "events"].contains($0.split(separator: " ").dropFirst().first ?? "") }, "\(plan)")
            #expect(search.hasPrefix("SEARCH") && (search.contains("events_id8") || !prefix && search.contains("sqlite_autoindex_events_1")), "\(sql): \(plan)")
        }
    }

    @Test func aNewStoreFindsEventsByTheirFirstEightDigits() throws {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: EventTable.schemaSQL)
            try Self.fill(db)
            try Self.expectFoundThroughAnIndex(db, prefix: true)
            // No index of whole ids: the one id index is the prefix's.
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")
            #expect(Set(indexes) == ["events_id8", "sqlite_autoindex_events_1"], "\(indexes)")  // the prefix, and (origin, seq)
        }
    }

    @Test func aStoreMadeBeforeThePrefixGainsItAndFindsEventsTheSameWay() throws {
        // The events table as stores were made before `id8`: an index of whole ids, no prefix.
        var old = EventTable.schemaSQL
        for (from, to) in [("id          TEXT NOT NULL CHECK (length(id) = 64),", "id          TEXT NOT NULL UNIQUE CHECK (length(id) = 64),"),
                           ("id8         TEXT GENERATED ALWAYS AS (substr(id, 1, 8)) VIRTUAL,", ""),
                           ("CREATE INDEX events_id8 ON events(id8);", "")] {
            #expect(old.contains(from))
            old = old.replacingOccurrences(of: from, with: to)
        }
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: old)
            try Self.fill(db)
            try EventTable.addIDPrefix(db)
            try EventTable.addIDPrefix(db)  // once only
            try Self.expectFoundThroughAnIndex(db, prefix: false)
        }
    }

    /// The laptop's lookups on top of it: by id, by prefix, and an id's neighbours (for refs).
    @Test func aLaptopFindsItsEventsByIDPrefixAndNeighbour() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        for n in 0..<12 { try log.registerPerson(name: "P\(n)", at: t0 + Int64(n)) }
        let sorted = try log.store.allEvents().map(\.id).sorted { $0.hex < $1.hex }
        #expect(Set(try log.store.events(ids: sorted).keys) == Set(sorted))
        for (n, id) in sorted.enumerated() {
            #expect(try log.store.events(idPrefix: String(id.hex.prefix(10))).map(\.id) == [id])
            let around = [n > 0 ? sorted[n - 1].hex : nil, n + 1 < sorted.count ? sorted[n + 1].hex : nil].compactMap { $0 }
            #expect(try log.store.neighbourIDs(of: id) == around)
        }
        #expect(try log.store.events(idPrefix: "").count == sorted.count)
    }
}
