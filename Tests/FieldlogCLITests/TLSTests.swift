import Foundation
import OutreachCore
import SyncClient
import SyncServerKit
import Testing

/// HTTPS between laptops and the server (issue #11, item 5), with the partnership's own CA
/// pinned in the store and passed on in invites. Old code: plain HTTP only, to any address.
@Suite struct TLSTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/tls")

    @Test func laptopsSyncOverHTTPSTrustingThePartnershipsCA() async throws {
        let base = CLI("b1")
        defer { base.cleanUp() }
        let service = SyncService(storage: try SQLiteSyncStorage(directory: base.dir.appendingPathComponent("server")))
        let tls = try SyncServerConfiguration.tls(certificateFile: Self.fixtures.appendingPathComponent("server.pem").path,
                                                  keyFile: Self.fixtures.appendingPathComponent("server.key").path)
        let server = try await EmbeddedServer.start(service: service, configuration: SyncServerConfiguration(host: "127.0.0.1", port: 0, tls: tls))
        do {
            #expect(server.url.hasPrefix("https://"))
            try await service.storage.addOrganisation("basis", at: 0)
            let ca = Self.fixtures.appendingPathComponent("ca.pem").path
            // Without the CA, the server's certificate is not trusted: refused, no store left.
            var stranger = CLI("x", base: base.dir)
            stranger.env["XDG_RUNTIME_DIR"] = base.dir.appendingPathComponent("run-x").path
            let untrusted = try await stranger.runAsync(["init", "--org", "basis", "--device", "x", "--server", server.url,
                                              "--token", try await service.issueEnrolment(org: "basis", lifetime: 60_000)])
            #expect(untrusted.status != 0 && untrusted.stderr.contains("--ca"), "\(untrusted.stderr)")
            #expect(!FileManager.default.fileExists(atPath: stranger.store.path))
            // With it: enrol, sync, and an invited laptop inherits the CA.
            try await base.okAsync(["init", "--org", "basis", "--device", "b1", "--server", server.url, "--ca", ca,
                         "--token", try await service.issueEnrolment(org: "basis", lifetime: 60_000)])
            try await base.okAsync(["contact", "add", "--unidentified", "2", "--setting", "van"])
            #expect(try await base.okAsync(["sync"])["sent"] == 2)  // the contact, and b1's device.keyed (its first sync announces it)
            let invite = base.dir.appendingPathComponent("b2.invite").path
            let pass = try #require(try await base.okAsync(["device", "invite", "b2", "--out", invite,
                                                 "--token", try await service.issueEnrolment(org: "basis", lifetime: 60_000)])["passphrase"]?.stringValue)
            var b2 = CLI("b2", base: base.dir)
            b2.env["XDG_RUNTIME_DIR"] = base.dir.appendingPathComponent("run-b2").path
            try await b2.okAsync(["init", "--invite", invite], set: ["FIELDLOG_INVITE_PASSPHRASE": pass])
            #expect(try await b2.okAsync(["sync"])["received"] == 2)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func plainHTTPToAnotherMachineIsRefusedUnlessInsecure() async throws {
        #expect(throws: FieldlogError.self) { try HTTPTransport.checkAddress("http://10.1.2.3:8080", insecure: false) }
        try HTTPTransport.checkAddress("http://10.1.2.3:8080", insecure: true)
        try HTTPTransport.checkAddress("http://127.0.0.1:8080", insecure: false)
        try HTTPTransport.checkAddress("https://sync.example.org", insecure: false)
        let cli = CLI()
        defer { cli.cleanUp() }
        let r = try await cli.runAsync(["init", "--org", "basis", "--device", "b1", "--server", "http://10.1.2.3:8080", "--token", "fle_x"])
        #expect(r.status == 2 && r.stderr.contains("refusing plain HTTP"))
        #expect(!FileManager.default.fileExists(atPath: cli.store.path))
    }
}
