import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import OutreachCore

/// Talks to a sync server over HTTP (`Protocol/http.md`): gzip both ways, one client for the process.
public struct HTTPTransport: SyncTransport {
    public let server: String
    public let token: String
    let client: HTTPClient
    /// Counts the bytes of each exchange as they cross the wire (benchmarks and `sync --verbose`).
    public let meter: WireMeter?

    public init(server: String, token: String, client: HTTPClient = HTTPTransport.client, meter: WireMeter? = nil) {
        self.server = server
        self.token = token
        self.client = client
        self.meter = meter
    }

    /// One client for the process. Decompression is off: the protocol gzips bodies itself and
    /// sets its own limits (AsyncHTTPClient's shared client would inflate responses first).
    public static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(decompression: .disabled))

    /// Refuses plain HTTP to another machine (a token sniffed on the office Wi-Fi would be a
    /// device) unless `insecure`; HTTPS anywhere and HTTP on this machine are fine.
    public static func checkAddress(_ server: String, insecure: Bool) throws {
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(),
              scheme == "http" || scheme == "https"
        else { throw FieldlogError.badInput("cannot read the server address \"\(server)\"", hint: "use e.g. https://sync.example.org") }
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        guard scheme == "https" || loopback || insecure else {
            throw FieldlogError(.notPermitted, "refusing plain HTTP to \(host): the device token and every exchange would cross the network readable",
                                hint: "use https:// (the administrator's guide shows how), or add --insecure if you must")
        }
    }

    /// Runs `body` with a client that trusts the partnership's own certificate authority (`caPEM`)
    /// instead of the system's, and shuts it down afterwards; with no CA, the shared client.
    public static func withClient<T>(trusting caPEM: String?, _ body: (HTTPClient) async throws -> T) async throws -> T {
        guard let caPEM else { return try await body(client) }
        let roots: [NIOSSLCertificate]
        do { roots = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)) } catch {
            throw FieldlogError.badInput("cannot read the certificate authority (\(error))", hint: "give the partnership's CA certificate as a PEM file")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(roots)
        let pinned = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls, decompression: .disabled))
        do {
            let result = try await body(pinned)
            try? await pinned.shutdown()
            return result
        } catch {
            try? await pinned.shutdown()
            throw error
        }
    }

    public func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 {
        try await exchangeInSteps(request).whole()
    }

    /// The answer's head as soon as it is in; its events read when asked (a packed page's; a
    /// JSON answer is read whole).
    public func exchangeInSteps(_ request: SyncRequestV2) async throws -> SteppedResponse {
        // Packed pages where the server has them; a server that does not answers JSON.
        let data = try await HTTPTransport.postForBytes(server: server, path: "/v1/sync", body: request.json, bearer: token, client: client, meter: meter,
                                                        accept: PackedPage.mediaType + ", application/json")
        @Sendable func unreadable(_ error: any Error) -> FieldlogError {
            FieldlogError(.malformed, "the server's answer is not a fieldlog sync response (\(error))", hint: "check --server points at a fieldlog SyncServer")
        }
        do {
            if PackedPage.isPacked(data) {
                let stepped = try PackedPage.decodeInSteps(data)
                return SteppedResponse(head: stepped.head) {
                    do { return try await stepped.events() } catch { throw unreadable(error) }
                }
            }
            return SteppedResponse(whole: try SyncResponseV2(json: (try? JSONValue.parse(data)) ?? .null))
        } catch {
            throw unreadable(error)
        }
    }

    /// Enrols this laptop with a single-use enrolment token and the certificates that make it a
    /// device of its organisation (its roster); returns the device token and organisation.
    public static func enrol(server: String, token: String, device: String, replica: ReplicaID,
                             certificates: [DeviceCertificate], client: HTTPClient = HTTPTransport.client) async throws -> (deviceToken: String, org: String) {
        let json = try await post(server: server, path: "/v1/enrol",
                                  body: ["protocol": .int(Int64(SyncRequestV2.protocolVersion)), "token": .string(token), "device": .string(device),
                                         "replica": .string(replica.rawValue), "certificates": .array(certificates.map(\.json))], bearer: nil,
                                  client: client)
        guard let deviceToken = json["deviceToken"]?.stringValue, let org = json["org"]?.stringValue else {
            throw FieldlogError(.malformed, "the server's enrolment answer is incomplete")
        }
        return (deviceToken, org)
    }

    /// Asks the server for a new device token (`POST /v1/token`); the one used keeps working
    /// until the new one is first used. Returns it and when it will expire (nil: never).
    public static func rotateToken(server: String, token: String, client: HTTPClient = HTTPTransport.client) async throws -> (token: String, expiresAt: Int64?) {
        let json = try await post(server: server, path: "/v1/token", body: [:], bearer: token, client: client)
        guard let next = json["deviceToken"]?.stringValue, !next.isEmpty else {
            throw FieldlogError(.malformed, "the server's token answer is incomplete")
        }
        return (next, json["expiresAt"]?.intValue)
    }

    public static func post(server: String, path: String, body: JSONValue, bearer: String?, client: HTTPClient = HTTPTransport.client,
                     meter: WireMeter? = nil) async throws -> JSONValue {
        let data = try await postForBytes(server: server, path: path, body: body, bearer: bearer, client: client, meter: meter)
        return (try? JSONValue.parse(data)) ?? .null
    }

    /// `post`, answering with the body's bytes (unzipped) instead of their JSON.
    public static func postForBytes(server: String, path: String, body: JSONValue, bearer: String?, client: HTTPClient = HTTPTransport.client,
                                    meter: WireMeter? = nil, accept: String? = nil) async throws -> Data {
        try await postForBytes(server: server, path: path, gzipped: try gzipped(body), bearer: bearer, client: client, meter: meter, accept: accept)
    }

    /// A request body as `postForBytes` sends it: its canonical JSON, gzipped.
    public static func gzipped(_ body: JSONValue) throws -> Data {
        try Gzip.compress(body.canonicalData(), level: Gzip.fastLevel)
    }

    /// `postForBytes` with a body already made by `gzipped` (a load generator makes its
    /// requests' bodies before it starts the clock).
    public static func postForBytes(server: String, path: String, gzipped sent: Data, bearer: String?, client: HTTPClient = HTTPTransport.client,
                                    meter: WireMeter? = nil, accept: String? = nil) async throws -> Data {
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        guard let url = URL(string: base + path), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw FieldlogError.badInput("cannot read the server address \"\(server)\"", hint: "use e.g. http://127.0.0.1:8080")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Content-Encoding", value: "gzip")
        request.headers.add(name: "Accept-Encoding", value: "gzip")
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        request.body = .bytes(ByteBuffer(bytes: sent))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(120))
        } catch {
            if error is NIOSSLError || error is BoringSSLError {
                throw FieldlogError(.io, "cannot set up a trusted connection to \(server) (\(error))",
                                    hint: "the server's certificate is not one this laptop trusts: give the partnership's CA with --ca at init")
            }
            throw FieldlogError(.io, "cannot reach the sync server at \(server)", hint: "check the network and the address; nothing was lost, run fieldlog sync again later")
        }
        var data = Data((try await response.body.collect(upTo: 512 << 20)).readableBytesView)
        meter?.count(sent: sent.count, received: data.count)
        if response.headers.first(name: "Content-Encoding")?.lowercased() == "gzip" {
            data = try Gzip.decompress(data, maxSize: 1 << 30)
        }
        guard response.status == .ok else {
            let json = (try? JSONValue.parse(data)) ?? .null
            let message = json["error"]?["message"]?.stringValue ?? "HTTP \(response.status.code)"
            let code = json["error"]?["code"]?.stringValue ?? ""
            if let event = json["error"]?["event"]?.stringValue, let refusal = SyncRefusal(code: code, message: message, event: event) { throw refusal }
            let hint: String = switch code {
            case "unauthorised": "this laptop's token was refused (revoked?); ask the administrator"
            case "bad-token": "the enrolment token is unknown, used or expired; ask for a new one"
            case "not-certified": "invite this laptop from a laptop of its own organisation that is enrolled with this server"
            case "unsupported-protocol": "this laptop and the server run different fieldlog versions; update the older one"
            default: "nothing was changed"
            }
            throw FieldlogError(["unauthorised", "bad-token", "not-certified"].contains(code) ? .notPermitted : .io, "the sync server refused: \(message)", hint: hint)
        }
        return data
    }
}

/// Bytes and exchanges as they crossed the wire (gzipped where the body was).
public final class WireMeter: @unchecked Sendable {
    private let lock = NSLock()
    private var totals = (sent: 0, received: 0, exchanges: 0)

    public init() {}

    func count(sent: Int, received: Int) {
        lock.withLock { totals = (totals.sent + sent, totals.received + received, totals.exchanges + 1) }
    }

    public var sent: Int { lock.withLock { totals.sent } }
    public var received: Int { lock.withLock { totals.received } }
    public var exchanges: Int { lock.withLock { totals.exchanges } }
}
