import Foundation
import OutreachCore
import PostgresTestSupport
import SyncServerKit
import SyncServerPostgres
import Testing

/// Issue 12, item 1: two real `SyncServer` processes on one PostgreSQL serve the same laptops;
/// laptops sync with either, one instance is killed mid-push, and nothing is lost, doubled or forked.
@Suite struct TwoInstancesTests {
    @Test func twoServersOnOneDatabaseAndOneKilledMidPushLoseNothing() async throws {
        let b1 = CLI("b1")
        defer { b1.cleanUp() }
        try await PostgresStorages.with { storages in
            let database = try await storages.database()
            let storage = ["--database-url", database.urlText]
            try ServerProcess.admin(["org", "add", "basis"] + storage)
            let token = { try ServerProcess.enrolmentToken("basis", storage: storage) }
            var a = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("a1.log"))
            let b = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("b.log"))
            defer { a.kill9(); b.kill9() }
            let watcher = try await storages.open(database)
            try b1.ok(["init", "--org", "basis", "--device", "b1", "--server", a.url, "--token", token()])
            let b2 = try b1.invite("b2", token: token())

            // b2 logs through instance B while b1's big push goes to A, which is killed part-way.
            let store = try b1.appendContacts(6000)
            for n in 0..<3 { try b2.ok(["contact", "add", "--unidentified", "\(n + 1)", "--setting", "van"]) }
            let sync = try b1.start(["sync", "--server", a.url])
            try b2.ok(["sync", "--server", b.url])
            let heldAtKill = try await a.kill9(onceMoreThan: 3, in: watcher)
            sync.waitUntilExit()
            #expect(heldAtKill > 3)

            // b1 finishes through B; A comes back on its port; each laptop syncs with both in turn.
            try b1.ok(["sync", "--server", b.url])
            a = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("a2.log"), port: a.port)
            for server in [a, b, a] {
                try b1.ok(["sync", "--server", server.url])
                try b2.ok(["sync", "--server", server.url])
            }
            let total = try store.eventCount()
            #expect(try b1.run(["status", "--format", "json"]).json["unacknowledged"] == 0)
            #expect(try b2.run(["status", "--format", "json"]).json["unacknowledged"] == 0)
            #expect(try b2.run(["status", "--format", "json"]).json["events"] == .int(Int64(total)))
            #expect(try await watcher.eventCount() == total, "the server lost or doubled events")
            #expect(try await watcher.vector() == store.vector())
            let devices = try ServerProcess.admin(["devices", "--format", "json"] + storage)
            #expect((try JSONValue.parse(devices))["devices"]?.arrayValue?.count == 2)
            #expect(try b1.run(["check", "--format", "json"]).json["healthy"] == true)
        }
    }
}
