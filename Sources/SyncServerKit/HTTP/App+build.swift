import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import OutreachCore

/// Where and how the sync server listens.
public struct SyncServerConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port (tests, the demo); the real one arrives through `onRunning`.
    public var port: Int
    /// Largest request body as sent (compressed or not), and once expanded.
    public var maxBodyBytes = 32 << 20
    public var maxExpandedBytes = 64 << 20
    /// JSON values in one sync body (memory: each parsed value costs tens of bytes, so 128 MB of
    /// `0,0,0…` was 3.4 GB before this bound); a client keeps its pushes well under it.
    public var maxValues = SyncRequestV2.maxValues
    /// Limits of the one route that takes no bearer token (enrolment): a body is a device name, a
    /// token and a roster of certificates, a few KB; nothing larger is inflated or parsed.
    public var maxEnrolBytes = 64 << 10
    public var maxEnrolExpandedBytes = 1 << 20
    public var maxEnrolValues = 100_000
    /// HTTPS when set (`SyncServer serve --tls-cert --tls-key`).
    public var tls: TLSConfiguration?
    /// A connection that sends nothing for this long is closed (idle keep-alive connections,
    /// and a client that stops half-way through its headers or body).
    public var idleTimeout: TimeAmount = .seconds(30)
    /// Connections open at once; more are closed as they arrive (well under the file limit).
    public var maxConnections = 1000
    /// How fast a request's body must arrive once its head has (a slowloris is closed).
    public var requestPace = RequestPace()

    public init(host: String = "127.0.0.1", port: Int = 8080, tls: TLSConfiguration? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// TLS from PEM files: the certificate chain (the server's first) and its private key.
    public static func tls(certificateFile: String, keyFile: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        } catch {
            throw ServerError(.exists, "cannot read the TLS certificate \(certificateFile) or key \(keyFile): \(error)")
        }
    }
}

/// Builds the sync server's HTTP application (`Protocol/http.md`). `main`, the demo and the
/// end-to-end tests all start the server through this one function.
public func buildApplication(
    service: SyncService, configuration: SyncServerConfiguration, logger: Logger,
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    try buildApplication(host: SyncHost(service: service), configuration: configuration, logger: logger, onRunning: onRunning)
}

/// The server for every partnership `host` holds: each request goes to the one its token names.
public func buildApplication(
    host: SyncHost, configuration: SyncServerConfiguration, logger: Logger,
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    let http = SyncHTTP(host: host, configuration: configuration, logger: logger)
    // First, so it wraps every route and the not-found answer: unknown paths and methods get
    // the JSON error body http.md promises (404 not-found, 405 method-not-allowed).
    router.add(middleware: JSONNotFound())

    /// 200 `{"status":"ok","protocol":2,"backend":"sqlite","database":"ok"}`; 503 with status
    /// `unavailable` and database `unreachable` when the database does not answer within 2 s.
    router.get("/v1/health") { _, _ in
        let storage = host.main.storage
        var answer: [String: JSONValue] = ["protocol": .int(Int64(SyncRequestV2.protocolVersion)), "backend": .string(storage.backend)]
        do {
            try await storage.ping(within: .seconds(2))
            (answer["status"], answer["database"]) = ("ok", "ok")
            return SyncHTTP.json(.object(answer), status: .ok, gzip: false)
        } catch {
            logger.error("health: the database does not answer", metadata: ["backend": "\(storage.backend)", "error": "\(logSafe("\(error)"))"])
            (answer["status"], answer["database"]) = ("unavailable", "unreachable")
            return SyncHTTP.json(.object(answer), status: .serviceUnavailable, gzip: false)
        }
    }
    /// 200 on enrolment; 400 malformed / unsupported-protocol, 401 bad-token, 403 not-certified, 409 replica-taken.
    router.post("/v1/enrol") { request, _ in await http.respond(to: request) { .json(try await http.enrol(&$0)) } }
    /// 200 with a page; 400 malformed / bad-scope / unsupported-protocol, 422 bad-event / bad-signature / bad-purge,
    /// 401 unauthorised, 403 not-entitled / unknown-signer / wrong-org, 409 forked-dot, 413 too-large.
    router.post("/v1/sync") { request, _ in await http.respond(to: request) { .sync(try await http.sync(&$0)) } }
    /// 200 `{"deviceToken": …, "expiresAt": ms or null}`: a new token for the calling device; the
    /// one it used works until the new one is first used. 401 unauthorised / token-expired.
    router.post("/v1/token") { request, _ in await http.respond(to: request) { .json(try await http.rotateToken(&$0)) } }

    let limiter = ConnectionLimiter(limit: configuration.maxConnections)
    let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [limiter.handler(), configuration.requestPace.handler()], idleTimeout: configuration.idleTimeout)
    return Application(
        router: router,
        server: try configuration.tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "fieldlog-sync"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger)
}

/// Unknown paths (404) and known paths with another method (405), as JSON errors.
struct JSONNotFound<Context: RequestContext>: RouterMiddleware {
    static var methods: [String: String] { ["/v1/health": "GET", "/v1/enrol": "POST", "/v1/sync": "POST", "/v1/token": "POST"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if let allowed = Self.methods[request.uri.path] {
                var response = SyncHTTP.json(["error": ["code": "method-not-allowed", "message": .string("\(request.uri.path) takes \(allowed) only")]],
                                             status: .methodNotAllowed, gzip: false)
                response.headers[.allow] = allowed
                return response
            }
            return SyncHTTP.json(["error": ["code": "not-found", "message": "no such endpoint; see Protocol/http.md"]], status: .notFound, gzip: false)
        }
    }
}

/// The handlers, and the one place errors become statuses.
struct SyncHTTP: Sendable {
    let host: SyncHost
    /// Events' bytes, encoded once for every laptop that is sent them.
    let encoded = EncodedEvents()
    let configuration: SyncServerConfiguration
    let logger: Logger

    struct Refusal: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String
        var event: Dot? = nil
    }

    /// A handler's answer: JSON to write, or a sync answer written from its kept parts.
    enum Answer {
        case json(JSONValue)
        case sync(EncodedAnswer)
    }

    func respond(to request: Request, _ handler: (inout Request) async throws -> Answer) async -> Response {
        var request = request
        let gzip = request.headers[.acceptEncoding]?.contains("gzip") == true
        do {
            switch try await handler(&request) {
            case .json(let value): return SyncHTTP.json(value, status: .ok, gzip: gzip)
            case .sync(let answer):
                if answer.form == .packed {
                    // A laptop that reads packed pages (Protocol/http.md): no JSON per event, no gzip.
                    return Response(status: .ok, headers: [.contentType: PackedPage.mediaType], body: .init(byteBuffer: answer.packedBuffer))
                }
                guard gzip, !answer.isEmpty else { return SyncHTTP.body(answer.data, status: .ok, gzip: gzip) }
                return SyncHTTP.response(try answer.gzipped(), status: .ok, gzip: true)
            }
        } catch {
            let refusal = SyncHTTP.refusal(for: error)
            if refusal.status == .internalServerError {
                logger.error("request failed", metadata: ["path": "\(logSafe(request.uri.path))", "error": "\(type(of: error))"])
            } else {
                logger.notice("request refused", metadata: ["path": "\(logSafe(request.uri.path))", "status": "\(refusal.status.code)", "code": "\(refusal.code)"])
            }
            var body: [String: JSONValue] = ["code": .string(refusal.code), "message": .string(refusal.message)]
            body["event"] = refusal.event.map { .string("\($0)") }
            return SyncHTTP.json(["error": .object(body)], status: refusal.status, gzip: false)
        }
    }

    static func refusal(for error: any Error) -> Refusal {
        switch error {
        case let r as Refusal: return r
        case let e as ServerError:
            let status: HTTPResponse.Status = switch e.kind {
            case .unauthorised, .badToken, .tokenExpired: .unauthorized
            case .notEntitled, .unknownSigner, .wrongOrg, .notCertified, .revoked: .forbidden
            case .badScope, .ambiguous: .badRequest
            // Well-formed (the schema holds) but not what it claims: a signature that does not verify,
            // a public event that is not a purge.
            case .badSignature, .badPurge: .unprocessableContent
            case .foreignPurge, .unauthorisedPurge: .forbidden
            case .forkedDot, .replicaTaken, .exists, .restored: .conflict
            case .unknownOrganisation, .notFound: .notFound
            }
            return Refusal(status: status, code: e.kind.rawValue, message: e.message, event: e.event)
        case let e as SyncWireError:
            return Refusal(status: e.code == "bad-event" ? .unprocessableContent : .badRequest, code: e.code, message: e.description)
        case let e as Gzip.TooLarge:
            return Refusal(status: .contentTooLarge, code: "too-large", message: e.description)
        case let e as JSONTooManyValues:
            return Refusal(status: .contentTooLarge, code: "too-large", message: "\(e.description); send fewer events per request")
        case let e as JSONParseError:
            return Refusal(status: .badRequest, code: "malformed", message: e.description)
        case let e as any HTTPResponseError where e.status == .contentTooLarge:  // NIOTooManyBytesError from collectBody
            return Refusal(status: .contentTooLarge, code: "too-large", message: "the body is over the limit")
        default:
            return Refusal(status: .internalServerError, code: "internal", message: "the server could not complete the request")
        }
    }

    /// The request body as JSON: size-limited as sent and once inflated, gunzipped when it says so.
    func body(_ request: inout Request, limit: Int, expanded: Int, values: Int) async throws -> JSONValue {
        let buffer = try await request.collectBody(upTo: limit)
        var data = Data(buffer.readableBytesView)
        if let encoding = request.headers[.contentEncoding], encoding.lowercased() != "identity" {
            guard encoding.lowercased() == "gzip" else {
                throw Refusal(status: .badRequest, code: "malformed", message: "unsupported Content-Encoding \(encoding); send gzip or nothing")
            }
            do { data = try Gzip.decompress(data, maxSize: expanded) } catch is FieldlogError {
                throw Refusal(status: .badRequest, code: "malformed", message: "the gzip body is damaged")
            }
        }
        return try JSONValue.parse(data, maxValues: values)
    }

    func bearer(_ request: Request) -> String? {
        guard let value = request.headers[.authorization], value.lowercased().hasPrefix("bearer ") else { return nil }
        return String(value.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    func enrol(_ request: inout Request) async throws -> JSONValue {
        let json = try await body(&request, limit: configuration.maxEnrolBytes, expanded: configuration.maxEnrolExpandedBytes,
                                  values: configuration.maxEnrolValues)
        guard json["protocol"]?.intValue == Int64(SyncRequestV2.protocolVersion) else {
            throw SyncWireError.unsupportedProtocol(Int(json["protocol"]?.intValue ?? 0))
        }
        try SyncWireError.onlyMembers(["protocol", "token", "device", "replica", "certificates"], of: json.objectValue ?? [:])
        guard let token = json["token"]?.stringValue, let name = json["device"]?.stringValue, Event.isName(name),
            let replica = json["replica"]?.stringValue.flatMap(ReplicaID.init), json["certificates"]?.arrayValue != nil
        else { throw SyncWireError.malformed("enrolment needs \"token\", \"device\" (no control characters), \"replica\" and \"certificates\"") }
        let certificates = try SyncWireError.certificatesOf(json["certificates"])
        let service: SyncService
        do { service = try await host.service(forToken: token) } catch let e as ServerError where e.kind == .unauthorised {
            throw ServerError(.badToken, "the enrolment token is unknown, used or expired")
        }
        let (device, bearer) = try await service.enrol(token: token, device: name, replica: replica, certificates: certificates)
        logger.info("device enrolled", metadata: ["partnership": "\(service.partnership ?? "-")", "device": "\(device.id)",
                                                  "org": "\(logSafe(device.org))", "name": "\(logSafe(device.name))"])
        return ["deviceId": .string(device.id), "deviceToken": .string(bearer), "org": .string(device.org)]
    }

    /// The device a request's bearer token belongs to, and its partnership's service.
    func authenticate(_ request: Request) async throws -> (SyncService, Device) {
        let token = bearer(request)
        let service = try await host.service(forToken: token)
        return (service, try await service.authenticate(bearer: token))
    }

    func rotateToken(_ request: inout Request) async throws -> JSONValue {
        let (service, device) = try await authenticate(request)
        let (token, expiresAt) = try await service.rotateToken(for: device)
        logger.info("token rotated", metadata: ["partnership": "\(service.partnership ?? "-")", "device": "\(device.id)", "org": "\(logSafe(device.org))"])
        return ["deviceToken": .string(token), "expiresAt": expiresAt.map { .int($0) } ?? .null]
    }

    func sync(_ request: inout Request) async throws -> EncodedAnswer {
        let token = bearer(request)
        let service = try await host.service(forToken: token)
        let admission = try await service.admit(bearer: token)  // before reading a byte of the body
        let device = admission.device
        let exchange = try SyncRequestV2(json: try await body(&request, limit: configuration.maxBodyBytes, expanded: configuration.maxExpandedBytes,
                                                                values: configuration.maxValues))
        // A laptop that reads packed pages is answered packed (Protocol/http.md).
        let form: EncodedEvents.Form = request.headers[.accept]?.contains(PackedPage.mediaType) == true ? .packed : .json
        let lookup = encoded.lookup(form, partnership: service.partnership)
        let encoded = encoded, partnership = service.partnership
        let result = try await service.exchange(exchange, from: device, standing: admission.standing, rows: form == .packed ? .packed : .events, accepted: { encoded.keep($0, form, partnership: partnership) }, known: lookup.knows)
        let response = result.response
        // The purges this push carried are honoured (the push is stored): drop what is kept of
        // the full copies they erased (Protocol/erasure.md §4).
        let purged = exchange.events.compactMap(EventTable.Purge.init).flatMap(\.ids)
        if !purged.isEmpty { encoded.forget(purged) }
        logger.info("sync", metadata: ["partnership": "\(service.partnership ?? "-")", "device": "\(device.id)", "org": "\(device.org)", "pushed": "\(exchange.events.count)",
                                       "stored": "\(response.stored)", "sent": "\(result.entries.count)", "more": "\(response.more)"])
        return try encoded.answer(result, lookup)
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status, gzip: Bool) -> Response {
        body(value.canonicalData(), status: status, gzip: gzip)
    }

    /// A JSON body, gzipped when the client takes it and it is worth it.
    static func body(_ json: Data, status: HTTPResponse.Status, gzip: Bool) -> Response {
        if gzip, json.count > 512, let compressed = try? Gzip.compress(json, level: Gzip.fastLevel) {
            return response(compressed, status: status, gzip: true)
        }
        return response(json, status: status, gzip: false)
    }

    static func response(_ bytes: Data, status: HTTPResponse.Status, gzip: Bool, contentType: String = "application/json") -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        if gzip { headers[.contentEncoding] = "gzip" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
