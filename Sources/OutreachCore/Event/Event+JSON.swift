import Foundation

extension Event {
    /// At most this many entries in a causal context (`Protocol/trust.md` E1): far more replicas
    /// than a partnership has, small enough that a hostile event cannot cost much to read.
    public static let maxContextEntries = 10_000
    static let members: Set<String> = ["id", "origin", "seq", "prev", "org", "scope", "ctx", "recordedAt", "keyId", "payload", "payloadDigest", "sig"]

    /// The event as a JSON object (`Protocol/schemas/event.schema.json`), used by bundles and sync.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id.hex),
            "origin": .string(dot.replica.rawValue),
            "seq": .int(Int64(dot.seq)),
            "org": .string(org),
            "scope": .string(scope.rawValue),
            "ctx": context.json,
            "recordedAt": .int(recordedAt),
            "keyId": .string(keyID),
            "sig": .string(signature.base64EncodedString()),
        ]
        o["prev"] = prev.map { .string($0.hex) }
        // A purged event travels as its tombstone: the digest its id commits to, no payload.
        if let digest = purgedDigest {
            o["payloadDigest"] = .string(digest.base64EncodedString())
        } else {
            o["payload"] = .string(sealedPayload.base64EncodedString())
        }
        return .object(o)
    }

    /// Reads an event from its JSON object, strictly (exactly its members, each well formed:
    /// `Protocol/trust.md` E1), and checks its id against its contents.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue else { throw FieldlogError.malformed("an event must be a JSON object") }
        if let extra = Set(object.keys).subtracting(Self.members).sorted().first {
            throw FieldlogError.malformed("event has an unknown member \"\(extra)\"")
        }
        func field(_ name: String) throws -> JSONValue {
            guard let v = object[name] else { throw FieldlogError.malformed("event is missing \"\(name)\"") }
            return v
        }
        guard let idText = try field("id").stringValue, let id = EventID(hex: idText) else { throw FieldlogError.malformed("event has a bad id") }
        guard let originText = try field("origin").stringValue, let origin = ReplicaID(originText) else { throw FieldlogError.malformed("event has a bad origin") }
        guard let seq = try field("seq").intValue, seq >= 1 else { throw FieldlogError.malformed("event has a bad seq") }
        var prev: EventID?
        if let p = object["prev"] {
            guard seq > 1, let text = p.stringValue, let id = EventID(hex: text) else { throw FieldlogError.malformed("event has a bad prev") }
            prev = id
        }
        guard let org = try field("org").stringValue, Event.isOrgName(org) else { throw FieldlogError.malformed("event has a bad org") }
        guard let scope = try field("scope").stringValue, !scope.isEmpty, scope.utf8.count <= 32 else { throw FieldlogError.malformed("event has a bad scope") }
        guard let recordedAt = try field("recordedAt").intValue else { throw FieldlogError.malformed("event has a bad recordedAt") }
        guard let keyID = try field("keyId").stringValue, Hex.isLowerHex(keyID, length: 16) else {
            throw FieldlogError.malformed("event has a bad keyId")
        }
        var payload = Data()
        var digest: Data?
        switch (object["payload"], object["payloadDigest"]) {
        case (let p?, nil):
            guard let text = p.stringValue, let bytes = Data(base64Encoded: text) else { throw FieldlogError.malformed("event has a bad payload") }
            payload = bytes
        case (nil, let d?):
            guard let text = d.stringValue, let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw FieldlogError.malformed("event has a bad payloadDigest")
            }
            digest = bytes
        case (nil, nil): throw FieldlogError.malformed("event is missing \"payload\"")
        case (_?, _?): throw FieldlogError.malformed("event has both a payload and a payloadDigest")
        }
        guard let sigText = try field("sig").stringValue, let signature = Data(base64Encoded: sigText), signature.count == 64 else {
            throw FieldlogError.malformed("event has a bad sig")
        }
        guard let ctx = try field("ctx").objectValue, ctx.count <= Self.maxContextEntries,
              ctx.values.allSatisfy({ ($0.intValue ?? 0) >= 1 })
        else { throw FieldlogError.malformed("event has a bad ctx (entries ≥ 1, at most \(Self.maxContextEntries))") }
        let context = try VersionVector(json: .object(ctx))
        try self.init(claimedID: id, dot: Dot(origin, UInt64(seq)), prev: prev, org: org, scope: Scope(scope), context: context,
                      recordedAt: recordedAt, keyID: keyID, sealedPayload: payload, purgedDigest: digest, signature: signature)
    }
}
