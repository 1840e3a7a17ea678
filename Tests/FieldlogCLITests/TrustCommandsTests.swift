import Foundation
@testable import OutreachCore
import Testing

/// Trust through the real binaries: roots and invites, `device list`, and a forged bundle from
/// an insider's own code, set aside and reported.
@Suite struct TrustCommandsTests {
    @Test func rootsInvitesAndAForgedBundleAsTheUsersSeeThem() throws {
        let b1 = CLI("b1")
        defer { b1.cleanUp() }
        try b1.ok(["init", "--org", "basis", "--device", "b1"])
        // Joanna's first laptop, invited from Basis, becomes Joanna's root.
        let invite = b1.dir.appendingPathComponent("j1.invite")
        let pass = try #require(try b1.ok(["device", "invite", "j1", "--org", "joanna", "--out", invite.path])["passphrase"]?.stringValue)
        var j1 = CLI("j1", base: b1.dir)
        j1.env["XDG_RUNTIME_DIR"] = b1.dir.appendingPathComponent("run-j1").path
        try j1.ok(["init", "--invite", invite.path], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])
        let contact = try #require(try j1.ok(["contact", "add", "--unidentified", "2", "--setting", "van"])["ref"]?.stringValue)
        let bundle = b1.dir.appendingPathComponent("j1.bundle")
        try j1.ok(["export", "--out", bundle.path])
        try b1.ok(["import", bundle.path])

        // Both laptops list both roots, pinned, with the same fingerprints.
        let listed = try b1.run(["device", "list", "--format", "json"]).json["devices"]?.arrayValue ?? []
        #expect(Set(listed.compactMap { $0["org"]?.stringValue }) == ["basis", "joanna"] && listed.allSatisfy { $0["pinned"] == true })
        #expect(try j1.run(["device", "list", "--format", "json"]).json["devices"] == .array(listed.map { d in
            var o = d.objectValue!
            o["thisLaptop"] = .bool(o["device"] == "j1")
            return .object(o)
        }))
        let table = try b1.run(["device", "list"]).stdout
        #expect(table.contains("certified by itself (root)") && table.contains("(this laptop)"))

        // Now that Joanna has a root, Basis cannot invite a Joanna laptop.
        let refused = try b1.run(["device", "invite", "j2", "--org", "joanna", "--out", b1.dir.appendingPathComponent("j2.invite").path])
        #expect(refused.status != 0 && refused.stderr.contains("invite this laptop from one of joanna's own laptops"))
        #expect(!FileManager.default.fileExists(atPath: b1.dir.appendingPathComponent("j2.invite").path))

        // An insider with b1's store and passphrase writes, with the library, a retraction of
        // Joanna's contact claiming to be Joanna, and a bundle of it.
        let store = try Store.open(at: b1.store)
        let keyring = try store.keyring(masterKey: try store.masterKey(passphrase: "a test passphrase"))
        let target = try #require(try store.events(idPrefix: contact).first)
        let dot = Dot(store.info.replica, try store.vector()[store.info.replica] + 1)
        let payload = Payload(type: .eventRetracted, occurredAt: 0, author: "j1", fields: ["target": .string(target.id.hex), "reason": "error"])
        let aad = EventEncoding.associatedData(dot: dot, org: "joanna", scope: .partnership, keyID: keyring.partnershipKey.id)
        let forged = try Event(dot: dot, org: "joanna", scope: .partnership, context: VersionVector(), recordedAt: 0, keyID: keyring.partnershipKey.id,
                               sealedPayload: try keyring.partnershipKey.seal(payload.json.canonicalData(), aad: aad), signer: keyring.deviceKey)
        let header = EventBundle.Header(partnershipID: keyring.partnershipID, org: "joanna", device: "j1", replica: store.info.replica, since: VersionVector(),
                                   covered: VersionVector(), count: 1, createdAt: 0, certificates: try store.roster().certificates)
        let file = b1.dir.appendingPathComponent("forged.bundle")
        try EventBundle(header: header, events: [forged]).encoded(keyring: keyring).write(to: file)

        let imported = try j1.run(["import", file.path])
        #expect(imported.status == 0 && imported.stdout.contains("1 event set aside"))
        #expect(try j1.run(["status"]).stdout.contains("1 event set aside"))
        let check = try j1.run(["check", "--format", "json"]).json
        #expect(check["healthy"] == true && check["setAside"]?.arrayValue?.first?["rule"] == "wrong-org")
        #expect(try j1.run(["check"]).stdout.contains("wrong-org: its organisation is not its signer's"))
        // Her contact still counts.
        let log = try j1.run(["log", "--format", "json"]).stdout
        #expect(log.contains(contact))
    }
}
