import Crypto
import Foundation

/// The byte encodings that ids and seals are computed over (documented in `Protocol/encoding.md`).
///
/// A length-prefixed binary layout rather than JSON: unambiguous, cheap to compute at
/// hundreds of thousands of events a second, and easy to reproduce in any language.
public enum EventEncoding {
    static let idDomain = "fieldlog/event/v3"
    static let aadDomain = "fieldlog/payload-aad/v1"

    /// SHA-256 input for an event id.
    public static func hashInput(dot: Dot, prev: EventID?, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String,
                                 payloadDigest: Data) -> Data {
        Data(hashInputBytes(dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID, payloadDigest: payloadDigest))
    }

    /// The SHA-256 of a sealed payload: what the id commits to (§3, item 9), so that a purged
    /// event (its payload erased, `Protocol/erasure.md`) keeps an id anyone can check.
    public static func payloadDigest(_ sealedPayload: Data) -> Data { Data(SHA256.hash(data: sealedPayload)) }

    static func hashInputBytes(dot: Dot, prev: EventID?, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String,
                               payloadDigest: some ContiguousBytes) -> [UInt8] {
        var w = ByteWriter(capacity: 200 + context.entries.count * 24)
        w.string(idDomain)
        w.hex(dot.replica)
        w.uint64(dot.seq)
        if let prev { w.hex(prev) } else { w.string("") }
        w.string(org)
        w.string(scope.rawValue)
        let entries = context.entries.sorted { $0.key < $1.key }
        w.uint32(UInt32(entries.count))
        for (replica, seq) in entries {
            w.hex(replica)
            w.uint64(seq)
        }
        w.uint64(UInt64(bitPattern: recordedAt))
        w.string(keyID)
        w.bytes(payloadDigest)
        return w.bytes
    }

    /// The AEAD associated data of a payload.
    public static func associatedData(dot: Dot, org: String, scope: Scope, keyID: String) -> Data {
        Data(associatedDataBytes(dot: dot, org: org, scope: scope, keyID: keyID))
    }

    /// The same bytes, as written (an open on every event of a page needs no `Data` of them).
    static func associatedDataBytes(dot: Dot, org: String, scope: Scope, keyID: String) -> [UInt8] {
        var w = ByteWriter(capacity: 96)
        w.string(aadDomain)
        w.hex(dot.replica)
        w.uint64(dot.seq)
        w.string(org)
        w.string(scope.rawValue)
        w.string(keyID)
        return w.bytes
    }
}

/// Big-endian, length-prefixed field writer (a byte array: `Data.append` costs more than hashing).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    var data: Data { Data(bytes) }

    // Each field is copied in one piece (appending byte by byte, or through a sequence's
    // iterator, cost as much as the SHA-256 of what is written).
    mutating func uint32(_ v: UInt32) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint64(_ v: UInt64) { withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func bytes(_ d: some ContiguousBytes) {
        d.withUnsafeBytes { raw in
            uint32(UInt32(raw.count))
            bytes.append(contentsOf: raw)
        }
    }
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            uint32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A replica id as its text, with its length (as `string(id.rawValue)`, without the string).
    mutating func hex(_ replica: ReplicaID) {
        uint32(16)
        hexWord(replica.bits)
    }

    /// An event id as its text, with its length (as `string(id.hex)`, without the string).
    mutating func hex(_ id: EventID) {
        uint32(64)
        rawHex(id)
    }

    /// An event id's 64 hex characters, with no length.
    mutating func rawHex(_ id: EventID) {
        hexWord(id.w0); hexWord(id.w1); hexWord(id.w2); hexWord(id.w3)
    }

    private mutating func hexWord(_ word: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { out in
            Hex.write(word: word, into: out, at: 0)
            bytes.append(contentsOf: out)
        }
    }

    /// Bytes with no length (fixed-size fields).
    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }
    mutating func raw<S: Sequence>(bytes more: S) where S.Element == UInt8 { bytes.append(contentsOf: more) }
    mutating func uint8(_ v: UInt8) { bytes.append(v) }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked.
struct ByteReader {
    private let bytes: [UInt8]
    private var at: Int
    /// Where this reader stops: the end of `bytes`, or of a record within them (`record()`).
    private let end: Int

    init(_ data: Data) {
        bytes = [UInt8](data)
        (at, end) = (0, bytes.count)
    }

    private init(_ bytes: [UInt8], from: Int, to: Int) { (self.bytes, at, end) = (bytes, from, to) }

    var isAtEnd: Bool { at == end }
    var remaining: Int { end - at }

    /// Bytes with a 32-bit length, as a reader of their own over the same storage (a packed
    /// page's events are read with no copy of each).
    mutating func record() throws -> ByteReader {
        let n = Int(try uint32())
        guard n <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += n }
        return ByteReader(bytes, from: at, to: at + n)
    }

    /// `n` bytes with no length, as text.
    mutating func raw(_ n: Int) throws -> String {
        guard n <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += n }
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }

    /// `n` bytes with no length.
    mutating func rawBytes(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += n }
        return bytes[at..<at + n]
    }

    mutating func uint8() throws -> UInt8 { try rawBytes(1).first! }

    /// An event id as its 64 hex characters, with no length; nil if they are not lowercase hex.
    mutating func hexID() throws -> EventID? {
        guard 64 <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += 64 }
        return bytes.withUnsafeBufferPointer { EventID(utf8: UnsafeBufferPointer(rebasing: $0[at..<at + 64])) }
    }

    /// An event id as its 32 raw bytes.
    mutating func eventID() throws -> EventID {
        guard 32 <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += 32 }
        return bytes.withUnsafeBytes { EventID(bytes: UnsafeRawBufferPointer(rebasing: $0[at..<at + 32]))! }
    }

    /// Bytes with a 32-bit length.
    mutating func blob() throws -> Data { Data(try rawBytes(Int(try uint32()))) }

    mutating func uint32() throws -> UInt32 { UInt32(truncatingIfNeeded: try fixed(4)) }
    mutating func uint64() throws -> UInt64 { try fixed(8) }

    mutating func string() throws -> String {
        let n = Int(try uint32())
        guard n <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += n }
        return String(decoding: bytes[at..<at + n], as: UTF8.self)
    }

    private mutating func fixed(_ n: Int) throws -> UInt64 {
        guard n <= end - at else { throw FieldlogError.malformed("truncated binary record") }
        defer { at += n }
        return bytes.withUnsafeBytes { raw in
            n == 4 ? UInt64(UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
                : n == 8 ? UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                : raw[at..<at + n].reduce(0) { $0 << 8 | UInt64($1) }
        }
    }
}
