import Foundation
import OutreachCore
import SyncServerKit
import Testing

/// Real `fieldlog` binaries against a real sync server on 127.0.0.1 (an ephemeral port).
@Suite struct SyncEndToEndTests {
    @Test func fourLaptopsOfTwoCharitiesSyncInAnyOrder() async throws {
        let base = CLI("b1")
        defer { base.cleanUp() }
        let service = SyncService(storage: try SQLiteSyncStorage(directory: base.dir.appendingPathComponent("server")))
        let server = try await EmbeddedServer.start(service: service)
        do {
            try await service.storage.addOrganisation("basis", at: 0)
            try await service.storage.addOrganisation("joanna", at: 0)
            func laptop(_ name: String) -> CLI {
                var c = CLI(name, base: base.dir)
                c.env["XDG_RUNTIME_DIR"] = base.dir.appendingPathComponent("run-\(name)").path
                return c
            }
            let b1 = laptop("b1"), b2 = laptop("b2"), j1 = laptop("j1"), j2 = laptop("j2")
            // Given the first laptop enrolled with a token, and the others through invites
            let first = try await b1.okAsync(["init", "--org", "basis", "--device", "b1", "--server", server.url,
                                   "--token", try await service.issueEnrolment(org: "basis", lifetime: 60_000)])
            #expect(first["server"]?.stringValue == server.url)
            /// `org` is the new laptop's organisation when it differs from the inviter's.
            func invite(_ from: CLI, _ to: CLI, _ name: String, org: String?, tokenFor tokenOrg: String) async throws {
                let file = base.dir.appendingPathComponent("\(name).invite").path
                var args = ["device", "invite", name, "--out", file, "--token", try await service.issueEnrolment(org: tokenOrg, lifetime: 60_000)]
                if let org { args += ["--org", org] }
                let pass = try #require(try await from.okAsync(args)["passphrase"]?.stringValue)
                try await to.okAsync(["init", "--invite", file], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])
            }
            try await invite(b1, b2, "b2", org: nil, tokenFor: "basis")
            try await invite(b1, j1, "j1", org: "joanna", tokenFor: "joanna")
            try await invite(j1, j2, "j2", org: nil, tokenFor: "joanna")
            #expect(try await j2.runAsync(["status", "--format", "json"]).json["org"] == "joanna")

            // When each writes offline and they sync in a shuffled order, twice round
            let rose = try await b1.okAsync(["person", "add", "--name", "Rosalind", "--note", "sister in Bradford"])["ref"]!.stringValue!
            try await b1.okAsync(["sync"])
            try await b2.okAsync(["sync"])
            try await b2.okAsync(["contact", "add", rose, "--setting", "van", "--need", "housing", "--note", "Pathway hostel"])
            try await j1.okAsync(["person", "add", "--name", "Melisande"])
            try await j1.okAsync(["incident", "add", "--type", "assault", "--consent", "L1", "--vehicle", "maroon Transit"])
            var order = [b1, b2, j1, j2, b1, b2, j1, j2]
            order.shuffle()
            for laptop in order + [b1, b2, j1, j2] { try await laptop.okAsync(["sync"]) }

            // Then each charity's laptops agree, and Joanna never holds Basis's names or notes
            let vectors = try [b1, b2, j1, j2].map { try $0.run(["status", "--format", "json"]).json }
            #expect(vectors[0]["events"] == vectors[1]["events"] && vectors[2]["events"] == vectors[3]["events"])
            #expect(vectors.allSatisfy { $0["unacknowledged"] == 0 })
            let jPeople = try await j2.runAsync(["people", "--format", "json"]).json["people"]?.arrayValue ?? []
            #expect(jPeople.contains { $0["name"] == "Melisande" })
            #expect(jPeople.contains { $0["org"] == "basis" && $0["name"] == .null })
            #expect(try await j2.runAsync(["alerts"]).stdout.contains("maroon Transit"))
            #expect(try await b2.runAsync(["alerts"]).stdout.contains("maroon Transit"))
            #expect(try await b2.runAsync(["person", "show", rose, "--format", "json"]).json["contacts"]?.arrayValue?.count == 1)
            for laptop in [j1, j2] {
                for file in try FileManager.default.contentsOfDirectory(at: laptop.store, includingPropertiesForKeys: nil) {
                    let bytes = try Data(contentsOf: file)
                    #expect(bytes.range(of: Data("Rosalind".utf8)) == nil)
                }
            }
            // A sync with nothing new: one round trip
            let quiet = try await b2.okAsync(["sync"])
            #expect(quiet["roundTrips"] == 1 && quiet["sent"] == 0 && quiet["received"] == 0)
            // The server's files hold none of the text typed on any laptop
            let serverDir = base.dir.appendingPathComponent("server")
            #expect(try await service.storage.eventCount() > 0)
            for file in try FileManager.default.contentsOfDirectory(at: serverDir, includingPropertiesForKeys: nil) {
                let bytes = try Data(contentsOf: file)
                for secret in ["Rosalind", "Bradford", "Pathway", "Melisande", "maroon Transit", "housing"] {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in clear in \(file.lastPathComponent)")
                }
            }
            // A revoked laptop gets one clear line and its store is unchanged
            let device = try await service.storage.devices().first { $0.name == "b2" }!
            _ = try await service.storage.revoke(deviceID: device.id, at: 0)
            let before = try b2.fingerprint()
            let refused = try await b2.runAsync(["sync"])
            #expect(refused.status != 0 && refused.stderr.hasPrefix("error: the sync server refused"))
            #expect(refused.stderr.split(separator: "\n").count == 1)
            #expect(try b2.fingerprint() == before)
            // Revoked from b1 as well: the keys rotate, and Joanna's laptops get the new
            // partnership key at their next sync, by themselves
            let revoked = try await b1.okAsync(["device", "revoke", "b2", "--reason", "stolen"])
            #expect(revoked["keys"]?["rotated"] == ["org": 1, "partnership": 1])
            try await b1.okAsync(["sync"])
            #expect(try await j2.okAsync(["sync"])["keysGained"] == 1)
            let keys = try await j2.okAsync(["keys"])
            #expect(keys["partnership"]?["epoch"] == 1 && keys["org"]?["epoch"] == 0 && keys["waiting"] == [])
            try await j1.okAsync(["sync"])
            #expect(try await j1.okAsync(["keys", "rotate", "--reason", "routine"])["rotated"] == ["org": 1, "partnership": 2])
            // An expired enrolment token creates no store
            let late = laptop("late")
            let usedToken = try await service.issueEnrolment(org: "basis", lifetime: 0)
            let r = try await late.runAsync(["init", "--org", "basis", "--device", "late", "--server", server.url, "--token", usedToken])
            #expect(r.status != 0 && r.stderr.contains("enrolment token"))
            #expect(!FileManager.default.fileExists(atPath: late.store.path))
            // A directory that already held the user's files keeps them
            let existing = base.dir.appendingPathComponent("Documents")
            try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
            try Data("keep me".utf8).write(to: existing.appendingPathComponent("letter.txt"))
            let again = try await late.runAsync(["init", "--org", "basis", "--device", "late", "--store", existing.path, "--server", server.url, "--token", usedToken])
            #expect(again.status != 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: existing.path) == ["letter.txt"])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}
