import Foundation

/// An event in the packed form of bulk sync pages (`Protocol/http.md`, "Packed pages"): the
/// fields of its JSON object in a fixed order, binary, with no base64 and no JSON to parse.
/// Read as strictly as the JSON form (`Protocol/trust.md` E1), and its id checked against its
/// contents the same way.
extension Event {
    /// The packed bytes (big-endian; strings and blobs with a 32-bit length).
    public var packed: [UInt8] {
        var w = ByteWriter(capacity: 200 + context.entries.count * 16 + sealedPayload.count)
        let entries = context.entries.count < 2 ? Array(context.entries) : context.entries.sorted { $0.key < $1.key }
        var org = org, scope = scope.rawValue
        org.withUTF8 { org in
            scope.withUTF8 { scope in
                let keyID = Hex.decode(keyID) ?? []
                keyID.withUnsafeBytes { keyID in
                    Self.writePacked(&w, id: id, origin: dot.replica, seq: dot.seq, prev: prev, org: UnsafeRawBufferPointer(org), scope: UnsafeRawBufferPointer(scope),
                                     context: entries, recordedAt: recordedAt, keyID: keyID, digest: purgedDigest, payload: sealedPayload, signature: signature)
                }
            }
        }
        return w.bytes
    }

    /// The one writer of the packed form (`Protocol/http.md`, "Packed pages"): from an event,
    /// or from its stored columns (`packed(stored:)`), field by field in this order. `context`
    /// is sorted by replica; `keyID` is the key id's 8 bytes; a purged event has its `digest`.
    static func writePacked(_ w: inout ByteWriter, id: EventID, origin: ReplicaID, seq: UInt64, prev: EventID?, org: UnsafeRawBufferPointer,
                            scope: UnsafeRawBufferPointer, context: [(key: ReplicaID, value: UInt64)], recordedAt: Int64, keyID: UnsafeRawBufferPointer,
                            digest: (some ContiguousBytes)?, payload: some ContiguousBytes, signature: some ContiguousBytes) {
        id.withBytes { w.raw(bytes: $0) }
        w.uint64(origin.bits)
        w.uint64(seq)
        if let prev {
            w.uint8(1)
            prev.withBytes { w.raw(bytes: $0) }
        } else {
            w.uint8(0)
        }
        w.bytes(org)
        w.bytes(scope)
        w.uint32(UInt32(context.count))
        for (replica, seq) in context {
            w.uint64(replica.bits)
            w.uint64(seq)
        }
        w.uint64(UInt64(bitPattern: recordedAt))
        w.raw(bytes: keyID)
        if let digest {
            w.uint8(1)
            w.bytes(digest)
        } else {
            w.uint8(0)
            w.bytes(payload)
        }
        signature.withUnsafeBytes { w.raw(bytes: $0) }
    }

    /// The packed bytes of a stored event read from its columns as they lie in a database's row
    /// (`EventTable.ColumnBytes`), with no `Event` built: a server sends a new laptop its pages
    /// so. The same bytes as `packed` of the event the row holds (a property test holds them to
    /// it); the laptop reads them as strictly as any (its id is checked against its contents
    /// there). Throws on a row no event could have been stored as.
    public static func packed(stored row: EventTable.ColumnBytes) throws -> [UInt8] {
        func corrupt(_ what: String) -> FieldlogError { FieldlogError(.corrupt, "an event row has a bad \(what)", hint: "run fieldlog check") }
        guard let id = row.eventID else { throw corrupt("id") }
        guard let origin = ReplicaID(utf8: row.origin.assumingMemoryBound(to: UInt8.self)) else { throw corrupt("origin") }
        guard row.seq >= 1 else { throw corrupt("seq") }
        var prev: EventID?
        if let text = row.prev {
            guard let id = EventID(utf8: text.assumingMemoryBound(to: UInt8.self)) else { throw corrupt("prev") }
            prev = id
        }
        guard let keyID = Hex.word(row.keyID.assumingMemoryBound(to: UInt8.self)) else { throw corrupt("key id") }
        guard row.signature.count == 64 else { throw corrupt("signature") }
        guard !row.purged || row.payload.count == 32 else { throw corrupt("payload digest") }
        let context = try VersionVector.sortedEntries(storedJSON: row.ctx)
        var w = ByteWriter(capacity: 200 + context.count * 16 + row.payload.count)
        withUnsafeBytes(of: keyID.bigEndian) { keyID in
            writePacked(&w, id: id, origin: origin, seq: UInt64(row.seq), prev: prev, org: row.org, scope: row.scope, context: context,
                        recordedAt: row.recordedAt, keyID: keyID, digest: row.purged ? row.payload : nil, payload: row.payload, signature: row.signature)
        }
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
