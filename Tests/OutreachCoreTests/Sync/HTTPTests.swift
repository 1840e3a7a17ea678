import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import OutreachCore
import SyncServerKit

/// The HTTP layer, live on 127.0.0.1: statuses, JSON errors, limits and gzip (`Protocol/http.md`).
@Suite struct HTTPTests {
    struct Reply {
        let status: Int
        let json: JSONValue
        let gzipped: Bool
    }

    /// Decompression off, so the test sees exactly what the server sent.
    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))

    static func post(_ url: String, _ body: Data, bearer: String? = nil, gzip: Bool = false, acceptGzip: Bool = false) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if gzip { request.headers.add(name: "Content-Encoding", value: "gzip") }
        if acceptGzip { request.headers.add(name: "Accept-Encoding", value: "gzip") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await Self.client.execute(request, timeout: .seconds(30))
        var data = Data((try await response.body.collect(upTo: 64 << 20)).readableBytesView)
        let gzipped = response.headers.first(name: "Content-Encoding") == "gzip"
        if gzipped { data = try Gzip.decompress(data, maxSize: 1 << 30) }
        return Reply(status: Int(response.status.code), json: (try? JSONValue.parse(data)) ?? .null, gzipped: gzipped)
    }

    @Test func everyRefusalIsAJSONErrorAndChangesNothing() async throws {
        let dir = TempDir()
        var config = SyncServerConfiguration(host: "127.0.0.1", port: 0)
        config.maxBodyBytes = 64 * 1024
        config.maxExpandedBytes = 256 * 1024
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let server = try await EmbeddedServer.start(service: service, configuration: config)
        do { try await refusals(server: server, service: service, dir: dir) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func refusals(server: EmbeddedServer, service: SyncService, dir: TempDir) async throws {
        let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
        let (_, events) = try laptops[0].log.registerPerson(name: "Rose", at: t0)
        let sync = server.url + "/v1/sync"
        func body(_ json: JSONValue) -> Data { json.canonicalData() }
        let good = body(SyncRequestV2(vector: VersionVector(), events: events).json)

        // Health
        var health = HTTPClientRequest(url: server.url + "/v1/health")
        health.method = .GET
        #expect(try await Self.client.execute(health, timeout: .seconds(10)).status.code == 200)
        // A device rotates its token: 401 without one; the new one works, and once used the old one stops.
        let tokenURL = server.url + "/v1/token"
        let anonymous = try await Self.post(tokenURL, Data("{}".utf8))
        #expect(anonymous.status == 401 && anonymous.json["error"]?["code"] == "unauthorised")
        let rotated = try await Self.post(tokenURL, Data("{}".utf8), bearer: laptops[3].bearer)
        let next = try #require(rotated.json["deviceToken"]?.stringValue)
        #expect(rotated.status == 200 && rotated.json["expiresAt"] == .null)
        #expect(try await Self.post(sync, body(SyncRequestV2(vector: VersionVector(), events: []).json), bearer: next).status == 200)
        #expect(try await Self.post(sync, body(SyncRequestV2(vector: VersionVector(), events: []).json), bearer: laptops[3].bearer).status == 401)
        // Unknown paths and methods: the JSON error body, not an empty 404 (issue #11, item 6).
        let nowhere = try await Self.post(server.url + "/v2/nowhere", Data("{}".utf8))
        #expect(nowhere.status == 404 && nowhere.json["error"]?["code"] == "not-found")
        var getSync = HTTPClientRequest(url: server.url + "/v1/sync")
        getSync.method = .GET
        let wrongMethod = try await Self.client.execute(getSync, timeout: .seconds(10))
        #expect(wrongMethod.status.code == 405 && wrongMethod.headers.first(name: "Allow") == "POST")

        // Well-formed but not so (schemathesis, issue #11 item 8): 422, not 400.
        func request(_ event: JSONValue, extra: [String: JSONValue] = [:]) -> Data {
            var o = SyncRequestV2(vector: VersionVector(), events: []).json.objectValue!
            o["events"] = [event]
            o.merge(extra) { $1 }
            return body(.object(o))
        }
        func altered(_ member: String, _ value: JSONValue) -> JSONValue {
            var e = events[0].json.objectValue!
            e[member] = value
            return .object(e)
        }
        let cases: [(String, Data, String?, Bool, Int, String)] = [
            ("an event whose id does not match it", request(altered("recordedAt", 7)), laptops[0].bearer, false, 422, "bad-event"),
            ("an event whose signature does not verify", request(altered("sig", .string(Data(count: 64).base64EncodedString()))),
             laptops[0].bearer, false, 422, "bad-signature"),
            ("a member the schema does not list", request(events[0].json, extra: ["pushAll": true]), laptops[0].bearer, false, 400, "malformed"),
            ("over 5000 events (the schema's maxItems)", body(["protocol": 2, "vector": [:], "events": .array(Array(repeating: 0, count: 5001))]),
             laptops[0].bearer, false, 400, "malformed"),
            ("a limit that is not whole", request(events[0].json, extra: ["limit": .int(0)]).replacingLimit(with: "2.5"), laptops[0].bearer, false, 400, "malformed"),
            ("no token", good, nil, false, 401, "unauthorised"),
            ("a wrong token", good, "not-a-token", false, 401, "unauthorised"),
            ("another organisation's org-only event", good, laptops[2].bearer, false, 403, "not-entitled"),
            ("malformed JSON", Data("{\"protocol\":1,".utf8), laptops[0].bearer, false, 400, "malformed"),
            ("a wrong protocol version", body(["protocol": 9, "vector": [:], "events": []]), laptops[0].bearer, false, 400, "unsupported-protocol"),
            ("a bad gzip stream", Data("definitely not gzip".utf8), laptops[0].bearer, true, 400, "malformed"),
            ("a body over the limit", Data(repeating: 0x20, count: 100 * 1024), laptops[0].bearer, false, 413, "too-large"),
            ("a gzip bomb", try Gzip.compress(Data(repeating: 0x20, count: 1 << 20)), laptops[0].bearer, true, 413, "too-large"),
        ]
        for (what, data, bearer, gzip, status, code) in cases {
            let reply = try await Self.post(sync, data, bearer: bearer, gzip: gzip)
            #expect(reply.status == status, "\(what)")
            #expect(reply.json["error"]?["code"]?.stringValue == code, "\(what): \(reply.json)")
            #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false, "\(what)")
            #expect(try await service.storage.eventCount() == 0, "\(what) changed the server")
        }

        // A whole number written as JSON Schema allows (`100.0`) is an integer.
        let wholeLimit = try await Self.post(sync, body(SyncRequestV2(vector: VersionVector(), events: []).json).replacingLimit(with: "100.0", adding: true),
                                             bearer: laptops[0].bearer)
        #expect(wholeLimit.status == 200, "\(wholeLimit.json)")

        // A good push, gzipped both ways, then the same dot with other content: 409, nothing stored
        let ok = try await Self.post(sync, try Gzip.compress(good), bearer: laptops[0].bearer, gzip: true, acceptGzip: true)
        #expect(ok.status == 200 && ok.json["stored"] == 1)
        let key = laptops[0].log.keyring.orgKey
        let forged = try Event(dot: events[0].dot, org: "basis", scope: .org, context: VersionVector(), recordedAt: 1, keyID: key.id,
                               sealedPayload: try key.seal(Data("{}".utf8), aad: events[0].associatedData), signer: laptops[0].log.keyring.deviceKey)
        let fork = try await Self.post(sync, body(SyncRequestV2(vector: VersionVector(), events: [forged]).json), bearer: laptops[0].bearer)
        #expect(fork.status == 409 && fork.json["error"]?["code"] == "forked-dot")
        #expect(try await service.storage.eventCount() == 1)

        // Enrolment: a used token, and a replica already enrolled
        let enrol = server.url + "/v1/enrol"
        let used = try await Self.post(enrol, body(["protocol": 2, "token": "used-or-unknown", "device": "x", "replica": .string(ReplicaID.random().rawValue), "certificates": []]))
        #expect(used.status == 401 && used.json["error"]?["code"] == "bad-token")
        let token = try await service.issueEnrolment(org: "basis", lifetime: 60_000)
        let taken = try await Self.post(enrol, body(["protocol": 2, "token": .string(token), "device": "x", "replica": .string(laptops[0].log.store.info.replica.rawValue),
                                                        "certificates": .array(try laptops[0].log.store.roster().certificates.map(\.json))]))
        #expect(taken.status == 409 && taken.json["error"]?["code"] == "replica-taken")
        // Enrolment takes no bearer token, so nothing big is inflated or parsed before the token is
        // checked (issue #11: 78 KB of gzip once cost 1.7 GB of memory): 8 MB of JSON whitespace in
        // 8 KB of gzip, and 100 KB sent plain, are refused as they arrive.
        let bomb = try Gzip.compress(Data(repeating: 0x20, count: 8 << 20))
        #expect(bomb.count < 64 << 10)
        for (what, data, gzip) in [("an enrolment gzip bomb", bomb, true), ("an enrolment over 64 KB", Data(repeating: 0x20, count: 100 << 10), false)] {
            let reply = try await Self.post(enrol, data, gzip: gzip)
            #expect(reply.status == 413 && reply.json["error"]?["code"] == "too-large", "\(what)")
        }
        // A revoked device
        let device = try await service.authenticate(bearer: laptops[1].bearer)
        _ = try await service.storage.revoke(deviceID: device.id, at: t0)
        #expect(try await Self.post(sync, good, bearer: laptops[1].bearer).status == 401)
    }
}

private extension Data {
    /// The request with `"limit"` written as given (JSONValue has only integers, so a fraction is
    /// spliced into the text).
    func replacingLimit(with text: String, adding: Bool = false) -> Data {
        var json = String(decoding: self, as: UTF8.self)
        if adding { json = "{\"limit\":0," + json.dropFirst() }
        return Data(json.replacingOccurrences(of: "\"limit\":0", with: "\"limit\":" + text).utf8)
    }
}
