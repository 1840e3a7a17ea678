import Foundation

/// An event in the packed form of bulk sync pages (`Protocol/http.md`, "Packed pages"): the
/// fields of its JSON object in a fixed order, binary, with no base64 and no JSON to parse.
/// Read as strictly as the JSON form (`Protocol/trust.md` E1), and its id checked against its
/// contents the same way.
extension Event {
    /// The packed bytes (big-endian; strings and blobs with a 32-bit length).
    public var packed: [UInt8] {
        var w = ByteWriter(capacity: 200 + context.entries.count * 16 + sealedPayload.count)
        id.withBytes { w.raw(bytes: $0) }
        w.uint64(dot.replica.bits)
        w.uint64(dot.seq)
        if let prev {
            w.uint8(1)
            prev.withBytes { w.raw(bytes: $0) }
        } else {
            w.uint8(0)
        }
        w.string(org)
        w.string(scope.rawValue)
        let entries = context.entries.sorted { $0.key < $1.key }
        w.uint32(UInt32(entries.count))
        for (replica, seq) in entries {
            w.uint64(replica.bits)
            w.uint64(seq)
        }
        w.uint64(UInt64(bitPattern: recordedAt))
        w.raw(bytes: Hex.decode(keyID) ?? [])
        if let purgedDigest {
            w.uint8(1)
            w.bytes(purgedDigest)
        } else {
            w.uint8(0)
            w.bytes(sealedPayload)
        }
        w.raw(bytes: signature)
        return w.bytes
    }

    /// Reads a packed event, strictly: exactly its bytes, each field well formed, the context's
    /// replicas in ascending order; then checks its id against its contents.
    public init(packed data: Data) throws { try self.init(packed: ByteReader(data)) }

    /// A packed event read from its record in a page (no copy of its bytes).
    init(packed record: ByteReader) throws {
        var r = record
        func bad(_ what: String) -> FieldlogError { FieldlogError.malformed("packed event has a bad \(what)") }
        let id = try r.eventID()
        let origin = ReplicaID(bits: try r.uint64())
        let seq = try r.uint64()
        guard seq >= 1, seq <= UInt64(Int64.max) else { throw bad("seq") }
        var prev: EventID?
        switch try r.uint8() {
        case 0: break
        case 1 where seq > 1: prev = try r.eventID()
        default: throw bad("prev")
        }
        let org = try r.string()
        guard Event.isOrgName(org) else { throw bad("org") }
        let scope = try r.string()
        guard !scope.isEmpty, scope.utf8.count <= 32 else { throw bad("scope") }
        let count = Int(try r.uint32())
        guard count <= Self.maxContextEntries, count * 16 <= r.remaining else { throw bad("ctx (entries ≥ 1, at most \(Self.maxContextEntries))") }
        var context = VersionVector()
        var last: ReplicaID?
        for _ in 0..<count {
            let replica = ReplicaID(bits: try r.uint64())
            let n = try r.uint64()
            guard n >= 1, n <= UInt64(Int64.max), last.map({ $0 < replica }) ?? true else { throw bad("ctx (entries ≥ 1, replicas ascending)") }
            last = replica
            context[replica] = n
        }
        let recordedAt = Int64(bitPattern: try r.uint64())
        let keyID = Hex.encode(try r.rawBytes(8))
        var payload = Data(), digest: Data?
        switch try r.uint8() {
        case 0: payload = try r.blob()
        case 1:
            digest = try r.blob()
            guard digest?.count == 32 else { throw bad("payloadDigest") }
        default: throw bad("payload")
        }
        let signature = Data(try r.rawBytes(64))
        guard r.isAtEnd else { throw FieldlogError.malformed("packed event has bytes after its signature") }
        try self.init(claimedID: id, dot: Dot(origin, seq), prev: prev, org: org, scope: Scope(scope), context: context,
                      recordedAt: recordedAt, keyID: keyID, sealedPayload: payload, purgedDigest: digest, signature: signature)
    }
}
