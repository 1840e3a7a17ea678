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
        let database = try await PostgresTestDatabase.create()
        let b1 = CLI("b1")
        defer { b1.cleanUp() }
        let storage = ["--database-url", database.urlText]
        try ServerProcess.admin(["org", "add", "basis"] + storage)
        let token = { () throws -> String in
            let out = try ServerProcess.admin(["enrol", "basis", "--format", "json"] + storage)
            return try #require((try JSONValue.parse(out))["token"]?.stringValue)
        }
        var a = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("a1.log"))
        let b = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("b.log"))
        let watcher = try await PostgresSyncStorage.open(database.url)
        do {
            try b1.ok(["init", "--org", "basis", "--device", "b1", "--server", a.url, "--token", token()])
            let invite = b1.dir.appendingPathComponent("b2.invite").path
            let pass = try #require(try b1.ok(["device", "invite", "b2", "--out", invite, "--token", token()])["passphrase"]?.stringValue)
            var b2 = CLI("b2", base: b1.dir)
            b2.env["XDG_RUNTIME_DIR"] = b1.dir.appendingPathComponent("run2").path
            try b2.ok(["init", "--invite", invite], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])

            // b2 logs through instance B while b1's big push goes to A, which is killed part-way.
            let store = try Store.open(at: b1.store)
            let keyring = try store.keyring(masterKey: store.masterKey(passphrase: "a test passphrase"))
            try store.append((0..<6000).map { n in
                Draft(.partnership, Payload(type: .contactLogged, occurredAt: 1_763_000_000_000 + Int64(n), author: "b1",
                                            fields: ["unidentified": .int(Int64(1 + n % 3)), "setting": "van", "zone": "Z1"]))
            }, keyring: keyring)
            try FieldLog(store: store, keyring: keyring, author: "b1").announceKeys()
            for n in 0..<3 { try b2.ok(["contact", "add", "--unidentified", "\(n + 1)", "--setting", "van"]) }
            let sync = Process()
            sync.executableURL = CLI.binary
            sync.arguments = ["sync", "--server", a.url]
            sync.environment = b1.env
            sync.standardOutput = FileHandle.nullDevice
            sync.standardError = FileHandle.nullDevice
            try sync.run()
            try b2.ok(["sync", "--server", b.url])
            var heldAtKill = 0
            for _ in 0..<1000 {
                heldAtKill = try await watcher.eventCount()
                if heldAtKill > 3 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            a.kill9()
            sync.waitUntilExit()
            #expect(heldAtKill > 3)

            // b1 finishes through B; A comes back on its port; each laptop syncs with both in turn.
            try b1.ok(["sync", "--server", b.url])
            let port = Int(a.url.split(separator: ":").last!)!
            a = try ServerProcess.start(storage, log: b1.dir.appendingPathComponent("a2.log"), port: port)
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
        } catch {
            a.kill9(); b.kill9()
            await watcher.close()
            try await database.drop()
            throw error
        }
        a.kill9(); b.kill9()
        await watcher.close()
        try await database.drop()
    }
}
