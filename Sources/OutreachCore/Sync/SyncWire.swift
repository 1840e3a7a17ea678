/// The body of `POST /v1/sync` (`Protocol/http.md`). Wire types stay apart from the domain:
/// they convert to and from JSON here, and nothing else knows their layout.
public struct SyncRequestV2: Sendable, Equatable {
    public static let protocolVersion = 2
    public static let defaultLimit = 2000
    public static let maxEvents = 5000
    /// JSON values a server reads in one request body (`Protocol/http.md`): it bounds the memory
    /// a body costs once parsed. An event is 13 values and one per entry of its context.
    public static let maxValues = 2_000_000
    /// Every member a request may have (the schema's `additionalProperties: false`): an unknown
    /// one is refused, not ignored, so what the server acts on is what the schema describes.
    static let members: Set<String> = ["protocol", "vector", "events", "limit", "certificates", "certDigest"]

    public var vector: VersionVector
    public var events: [Event]
    public var limit: Int?
    /// Certificates the server may lack: those that sign the pushed events, and those it showed it lacked.
    public var certificates: [DeviceCertificate]
    /// `Roster.digest` of the device's roster: the server sends its certificates only when they differ.
    public var certDigest: String?

    public init(vector: VersionVector, events: [Event], limit: Int? = nil, certificates: [DeviceCertificate] = [], certDigest: String? = nil) {
        self.vector = vector
        self.events = events
        self.limit = limit
        self.certificates = certificates
        self.certDigest = certDigest
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = ["protocol": .int(Int64(Self.protocolVersion)), "vector": vector.json, "events": .array(events.map(\.json))]
        o["limit"] = limit.map { .int(Int64($0)) }
        if !certificates.isEmpty { o["certificates"] = .array(certificates.map(\.json)) }
        o["certDigest"] = certDigest.map { .string($0) }
        return .object(o)
    }

    /// Reads a request; every failure is a `SyncWireError` a server can map to a status.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw SyncWireError.malformed("the body must be a JSON object") }
        guard let version = object["protocol"]?.intValue else { throw SyncWireError.malformed("\"protocol\" is missing") }
        guard version == Int64(Self.protocolVersion) else { throw SyncWireError.unsupportedProtocol(Int(version)) }
        try SyncWireError.onlyMembers(Self.members, of: object)
        guard let vectorJSON = object["vector"], let vector = try? VersionVector(json: vectorJSON) else {
            throw SyncWireError.malformed("\"vector\" must map replica ids to sequence numbers")
        }
        guard let list = object["events"]?.arrayValue else { throw SyncWireError.malformed("\"events\" must be an array") }
        guard list.count <= Self.maxEvents else { throw SyncWireError.malformed("at most \(Self.maxEvents) events per request (the schema's maxItems)") }
        var limit: Int?
        if let l = object["limit"] {
            guard let n = l.intValue, (1...Int64(Self.maxEvents)).contains(n) else {
                throw SyncWireError.malformed("\"limit\" must be 1 to \(Self.maxEvents)")
            }
            limit = Int(n)
        }
        let certs = try SyncWireError.certificates(object["certificates"])
        var digest: String?
        if let d = object["certDigest"] {
            guard let text = d.stringValue, Hex.isLowerHex(text, length: 32) else {
                throw SyncWireError.malformed("\"certDigest\" must be 32 lowercase hex characters")
            }
            digest = text
        }
        self.init(vector: vector, events: try SyncWireError.events(list), limit: limit, certificates: certs, certDigest: digest)
    }
}

/// The answer to `POST /v1/sync`.
public struct SyncResponseV2: Sendable, Equatable {
    /// The server vector S.
    public var vector: VersionVector
    /// The covered vector C (`Protocol/sync-model.md`).
    public var covered: VersionVector
    public var events: [Event]
    public var more: Bool
    public var stored: Int
    public var alreadyHad: Int
    /// Every certificate the server holds, when the request's digest differed from `certDigest`.
    public var certificates: [DeviceCertificate]?
    public var certDigest: String

    public init(vector: VersionVector, covered: VersionVector, events: [Event], more: Bool, stored: Int, alreadyHad: Int,
                certificates: [DeviceCertificate]? = nil, certDigest: String = Roster.digest(of: [])) {
        self.vector = vector
        self.covered = covered
        self.events = events
        self.more = more
        self.stored = stored
        self.alreadyHad = alreadyHad
        self.certificates = certificates
        self.certDigest = certDigest
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "protocol": .int(Int64(SyncRequestV2.protocolVersion)), "vector": vector.json, "covered": covered.json,
            "events": .array(events.map(\.json)), "more": .bool(more), "stored": .int(Int64(stored)), "alreadyHad": .int(Int64(alreadyHad)),
            "certDigest": .string(certDigest),
        ]
        o["certificates"] = certificates.map { .array($0.map(\.json)) }
        return .object(o)
    }

    public init(json: JSONValue) throws {
        guard json["protocol"]?.intValue == Int64(SyncRequestV2.protocolVersion) else {
            throw SyncWireError.unsupportedProtocol(Int(json["protocol"]?.intValue ?? 0))
        }
        guard let v = json["vector"], let c = json["covered"], let list = json["events"]?.arrayValue, let more = json["more"]?.boolValue,
            let stored = json["stored"]?.intValue, let had = json["alreadyHad"]?.intValue, let digest = json["certDigest"]?.stringValue
        else { throw SyncWireError.malformed("the sync response is incomplete") }
        do {
            self.init(vector: try VersionVector(json: v), covered: try VersionVector(json: c), events: try SyncWireError.events(list),
                      more: more, stored: Int(stored), alreadyHad: Int(had),
                      certificates: json["certificates"] == nil ? nil : try SyncWireError.certificates(json["certificates"]), certDigest: digest)
        } catch let e as SyncWireError { throw e } catch { throw SyncWireError.malformed("\(error)") }
    }
}

/// Why a sync body was refused; each maps to one HTTP status and error code (`Protocol/http.md`).
public enum SyncWireError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case badEvent(String)
    case unsupportedProtocol(Int)

    public var code: String {
        switch self {
        case .malformed: "malformed"
        case .badEvent: "bad-event"
        case .unsupportedProtocol: "unsupported-protocol"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let m): m
        case .badEvent(let m): m
        case .unsupportedProtocol(let v): "protocol \(v) is not supported; this server speaks protocol \(SyncRequestV2.protocolVersion) (update fieldlog)"
        }
    }

    /// Refuses an object with a member outside `known` (the name is not echoed: it is the
    /// sender's text).
    public static func onlyMembers(_ known: Set<String>, of object: [String: JSONValue]) throws {
        let unknown = object.keys.filter { !known.contains($0) }.count
        guard unknown == 0 else {
            throw SyncWireError.malformed("\(unknown) unknown member\(unknown == 1 ? "" : "s"); the members are \(known.sorted().joined(separator: ", "))")
        }
    }

    /// At most this many certificates in one body.
    static let maxCertificates = 10_000

    /// Reads a list of certificates (a server's enrolment body, a sync body).
    public static func certificatesOf(_ value: JSONValue?) throws -> [DeviceCertificate] { try certificates(value) }

    static func certificates(_ value: JSONValue?) throws -> [DeviceCertificate] {
        guard let value else { return [] }
        guard let list = value.arrayValue, list.count <= maxCertificates else { throw SyncWireError.malformed("\"certificates\" must be an array of certificates") }
        do { return try list.map(DeviceCertificate.init(json:)) } catch let e as FieldlogError { throw SyncWireError.malformed(e.message) }
    }

    /// The events of a page, each id recomputed from its contents, on every core (a page holds
    /// up to 5,000). The error is the first bad event's, as one by one.
    static func events(_ list: [JSONValue]) throws -> [Event] {
        try Parallel.map(count: list.count, chunk: 256) { n in try event { try Event(json: list[n]) } }
    }

    /// An event read from a body (JSON or packed): an id that does not match its contents is a
    /// bad event, anything else malformed.
    static func event(_ read: () throws -> Event) throws -> Event {
        do { return try read() } catch let e as FieldlogError {
            throw e.code == .tampered ? SyncWireError.badEvent(e.message) : SyncWireError.malformed(e.message)
        }
    }
}

/// A server's refusal of a sync request that names one event (`Protocol/http.md`): the device
/// holds back that event's origin and carries on with the rest (`SyncEngine`).
public struct SyncRefusal: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    /// The origin of the event the server refused.
    public let origin: ReplicaID

    public init(code: String, message: String, origin: ReplicaID) {
        self.code = code
        self.message = message
        self.origin = origin
    }

    /// Reads `origin@seq` as the server writes it.
    public init?(code: String, message: String, event: String) {
        guard let at = event.firstIndex(of: "@"), let origin = ReplicaID(String(event[..<at])) else { return nil }
        self.init(code: code, message: message, origin: origin)
    }

    public var description: String { message }
}
