import AsyncHTTPClient
import Foundation
import Testing
@testable import OutreachCore
import SyncServerKit

/// Replays `Protocol/vectors/sync-exchanges.json` over HTTP against a fresh server.
@Suite struct ExchangeVectorTests {
    @Test(arguments: Backend.allCases) func goldenExchangesReplay(backend: Backend) async throws {
        let root = repositoryRoot.appendingPathComponent("Protocol/vectors")
        let golden = try JSONValue.parse(Data(contentsOf: root.appendingPathComponent("events.json")))
        let events = try #require(golden["events"]?.arrayValue).map { $0["event"]! }
        let attacks = try #require(golden["attacks"]?.arrayValue).map { $0["event"]! }
        let certificates = try #require(golden["certificates"]?.arrayValue).map { try DeviceCertificate(json: .object($0.objectValue!.filter { !["signedBytes", "fingerprint"].contains($0.key) })) }
        let script = try JSONValue.parse(Data(contentsOf: root.appendingPathComponent("sync-exchanges.json")))
        func resolve(_ list: JSONValue?) -> [JSONValue] {
            (list?.arrayValue ?? []).map { item in
                if let ref = item.stringValue, ref.hasPrefix("events["), let n = Int(ref.dropFirst(7).dropLast()) { return events[n] }
                if let ref = item.stringValue, ref.hasPrefix("attacks["), let n = Int(ref.dropFirst(8).dropLast()) { return attacks[n] }
                return item
            }
        }

        try await withStorage(backend, TempDir()) { storage in
            let service = SyncService(storage: storage)
            let server = try await EmbeddedServer.start(service: service)
            var bearers = [String: String]()
            for (n, org) in ["basis", "joanna"].enumerated() {
                try await service.storage.addOrganisation(org, at: 0)
                bearers[org] = try await service.enrol(token: try await service.issueEnrolment(org: org, lifetime: 60_000), device: org,
                                                       replica: certificates[n].replica, certificates: [certificates[n]]).1
            }
            do {
                for exchange in try #require(script["exchanges"]?.arrayValue) {
                    let name = exchange["name"]?.stringValue ?? "?"
                    var request = try #require(exchange["request"]?.objectValue)
                    request["events"] = .array(resolve(request["events"]))
                    let reply = try await HTTPTests.post(server.url + "/v1/sync", JSONValue.object(request).canonicalData(),
                                                         bearer: bearers[exchange["device"]!.stringValue!])
                    let expect = try #require(exchange["expect"])
                    #expect(reply.status == Int(expect["status"]!.intValue!), "\(name)")
                    if let code = expect["error"] { #expect(reply.json["error"]?["code"] == code, "\(name)") }
                    if let event = expect["event"] { #expect(reply.json["error"]?["event"] == event, "\(name): the refused event") }
                    for key in ["stored", "alreadyHad", "vector", "covered", "more"] {
                        if let want = expect[key] { #expect(reply.json[key] == want, "\(name): \(key)") }
                    }
                    if let want = expect["events"] {
                        #expect(reply.json["events"] == .array(resolve(want)), "\(name): events")
                    }
                }
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
        }
    }
}
