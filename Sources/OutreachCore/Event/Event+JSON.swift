import Foundation

extension Event {
    /// The event as a JSON object (`Protocol/schemas/event.schema.json`), used by bundles and sync.
    public var json: JSONValue {
        [
            "id": .string(id.hex),
            "origin": .string(dot.replica.rawValue),
            "seq": .int(Int64(dot.seq)),
            "org": .string(org),
            "scope": .string(scope.rawValue),
            "ctx": context.json,
            "recordedAt": .int(recordedAt),
            "keyId": .string(keyID),
            "payload": .string(sealedPayload.base64EncodedString()),
        ]
    }

    /// Reads an event from its JSON object and checks its id against its contents.
    public init(json: JSONValue) throws {
        func field(_ name: String) throws -> JSONValue {
            guard let v = json[name] else { throw FieldlogError.malformed("event is missing \"\(name)\"") }
            return v
        }
        guard let idText = try field("id").stringValue, let id = EventID(hex: idText) else { throw FieldlogError.malformed("event has a bad id") }
        guard let originText = try field("origin").stringValue, let origin = ReplicaID(originText) else { throw FieldlogError.malformed("event has a bad origin") }
        guard let seq = try field("seq").intValue, seq >= 1 else { throw FieldlogError.malformed("event has a bad seq") }
        guard let org = try field("org").stringValue, !org.isEmpty else { throw FieldlogError.malformed("event has a bad org") }
        guard let scope = try field("scope").stringValue, !scope.isEmpty else { throw FieldlogError.malformed("event has a bad scope") }
        guard let recordedAt = try field("recordedAt").intValue else { throw FieldlogError.malformed("event has a bad recordedAt") }
        guard let keyID = try field("keyId").stringValue else { throw FieldlogError.malformed("event has a bad keyId") }
        guard let payloadText = try field("payload").stringValue, let payload = Data(base64Encoded: payloadText) else {
            throw FieldlogError.malformed("event has a bad payload")
        }
        let context = try VersionVector(json: try field("ctx"))
        try self.init(claimedID: id, dot: Dot(origin, UInt64(seq)), org: org, scope: Scope(scope), context: context,
                      recordedAt: recordedAt, keyID: keyID, sealedPayload: payload)
    }
}
