import Crypto
import Foundation

/// One immutable event as stored and exchanged: the cleartext envelope and the sealed payload.
///
/// The envelope is what a server sees (origin, seq, organisation, scope, causal context,
/// recorded-at, key id); the payload is AEAD-sealed under the scope's key. `id` is the SHA-256
/// of the canonical envelope and sealed payload (`Protocol/encoding.md`), so any change to
/// either changes the id.
public struct Event: Hashable, Sendable {
    public let id: EventID
    public let dot: Dot
    /// The id of the origin's previous event (seq − 1); nil at seq 1. Each id so commits to its
    /// origin's whole history, and one verified signature vouches for a run of events
    /// (`Protocol/encoding.md` §3 and §7).
    public let prev: EventID?
    public let org: String
    public let scope: Scope
    /// The author's version vector when it wrote this event, excluding the event itself.
    public let context: VersionVector
    /// The author's clock in milliseconds since 1970 (informational: laptop clocks are wrong).
    public let recordedAt: Int64
    public let keyID: String
    /// `ChaChaPoly` combined box: nonce, ciphertext, tag (for the `public` scope, the canonical
    /// JSON itself). Empty once the event is purged.
    public let sealedPayload: Data
    /// Set only on a purged event (`Protocol/erasure.md`): the SHA-256 of the payload it had,
    /// which its id commits to; the payload itself is gone.
    public let purgedDigest: Data?
    /// The author device's Ed25519 signature over the id (`Protocol/encoding.md` §7): 64 bytes.
    public let signature: Data

    /// Whether the payload was erased (the event stays as a tombstone: envelope and signature).
    public var isPurged: Bool { purgedDigest != nil }
    /// What the id commits to: the payload's SHA-256 (`Protocol/encoding.md` §3).
    public var payloadDigest: Data { purgedDigest ?? EventEncoding.payloadDigest(sealedPayload) }

    static func computeID(dot: Dot, prev: EventID?, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String,
                          sealedPayload: Data, purgedDigest: Data?) -> EventID {
        func id(_ digest: some ContiguousBytes) -> EventID {
            EventID(hashing: EventEncoding.hashInputBytes(dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt,
                                                          keyID: keyID, payloadDigest: digest))
        }
        return purgedDigest.map(id) ?? id(SHA256.hash(data: sealedPayload))  // no `Data` made of the digest
    }

    /// Builds an event with a given signature and computes its id (tests forge events this way).
    public init(dot: Dot, prev: EventID? = nil, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String, sealedPayload: Data,
                purgedDigest: Data? = nil, signature: Data) {
        let id = Self.computeID(dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID,
                                sealedPayload: sealedPayload, purgedDigest: purgedDigest)
        self.init(storedID: id, dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID,
                  sealedPayload: sealedPayload, purgedDigest: purgedDigest, signature: signature)
    }

    /// Builds an event, computes its id and signs it with the author device's key.
    public init(dot: Dot, prev: EventID? = nil, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String, sealedPayload: Data,
                signer: DeviceKey) throws {
        let id = Self.computeID(dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID,
                                sealedPayload: sealedPayload, purgedDigest: nil)
        self.init(storedID: id, dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID,
                  sealedPayload: sealedPayload, signature: try signer.sign(Authority.signedMessage(id)))
    }

    /// Rebuilds an event received from elsewhere and checks that `claimedID` matches its contents
    /// (the signature is checked against the roster on receipt: `Authority`).
    public init(claimedID: EventID, dot: Dot, prev: EventID?, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String,
                sealedPayload: Data, purgedDigest: Data? = nil, signature: Data) throws {
        self.init(dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID, sealedPayload: sealedPayload,
                  purgedDigest: purgedDigest, signature: signature)
        guard id == claimedID else {
            throw FieldlogError(.tampered, "event \(dot) does not match its id \(claimedID.short): it was altered")
        }
    }

    /// An event with a known id, not recomputed: one read back from a store (`Store.check`
    /// re-verifies every id; imports verify on the way in), or one whose id was just computed.
    init(storedID: EventID, dot: Dot, prev: EventID?, org: String, scope: Scope, context: VersionVector, recordedAt: Int64, keyID: String,
         sealedPayload: Data, purgedDigest: Data? = nil, signature: Data) {
        self.id = storedID
        self.dot = dot
        self.prev = prev
        self.org = org
        self.scope = scope
        self.context = context
        self.recordedAt = recordedAt
        self.keyID = keyID
        self.sealedPayload = sealedPayload
        self.purgedDigest = purgedDigest
        self.signature = signature
    }

    /// The same event purged: its payload gone, its digest kept (`Protocol/erasure.md`).
    public var purged: Event {
        isPurged ? self : Event(storedID: id, dot: dot, prev: prev, org: org, scope: scope, context: context, recordedAt: recordedAt, keyID: keyID,
                                sealedPayload: Data(), purgedDigest: payloadDigest, signature: signature)
    }

    /// A device's or partnership's name as certificates and enrolment carry it: 1 to 64 code
    /// points (JSON Schema's `maxLength` counts code points, so the schema and this agree), no
    /// control characters (C0, DEL, C1: a name is shown in terminals and written to logs).
    public static func isName(_ text: String) -> Bool {
        var count = 0
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control { return false }
            count += 1
        }
        return (1...64).contains(count)
    }

    /// An organisation's name: a short lowercase word (`basis`, `joanna`), as servers register
    /// them: a letter, then up to 31 letters, digits and dashes (a server's partnerships follow
    /// the same rule).
    public static func isOrgName(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard (1...32).contains(u.count), (0x61...0x7A).contains(u[0]) else { return false }
        return u.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    /// The associated data bound into the payload's seal: the payload cannot be moved to another dot,
    /// organisation, scope or key without failing to open.
    public var associatedData: Data {
        EventEncoding.associatedData(dot: dot, org: org, scope: scope, keyID: keyID)
    }
}

/// An event's content hash: 32 bytes, written as 64 lowercase hex characters.
///
/// Held as four big-endian words, not as its text: ids key the fold's tables and every store's
/// lookups, and a 64-character string is a heap object to allocate, retain and hash each time.
/// The words' order is the text's order.
public struct EventID: Hashable, Comparable, Sendable, CustomStringConvertible {
    let w0, w1, w2, w3: UInt64

    public init?(hex: String) {
        var hex = hex
        guard let id = hex.withUTF8({ EventID(utf8: $0) }) else { return nil }
        self = id
    }

    /// Exactly 64 lowercase hex characters, as UTF-8.
    init?(utf8 text: UnsafeBufferPointer<UInt8>) {
        guard text.count == 64, let a = Hex.word(text, at: 0), let b = Hex.word(text, at: 16), let c = Hex.word(text, at: 32),
              let d = Hex.word(text, at: 48) else { return nil }
        (w0, w1, w2, w3) = (a, b, c, d)
    }

    /// The 64 lowercase hex characters.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            write(hexInto: out)
            return 64
        }
    }

    /// Writes the 64 hex characters into `out`.
    func write(hexInto out: UnsafeMutableBufferPointer<UInt8>) {
        Hex.write(word: w0, into: out, at: 0)
        Hex.write(word: w1, into: out, at: 16)
        Hex.write(word: w2, into: out, at: 32)
        Hex.write(word: w3, into: out, at: 48)
    }

    /// The first byte.
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: w0 >> 56) }

    /// The 32 raw bytes.
    var bytes: [UInt8] { withBytes { Array($0) } }

    /// Calls `body` with the 32 raw bytes (on the stack).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try withUnsafeBytes(of: &words) { try body($0) }
    }

    /// An id from its 32 raw bytes (a storage that sends ids as bytes); nil for any other length.
    public init?(bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32 else { return nil }
        func word(_ i: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
    }

    init(hashing bytes: [UInt8]) {
        self = SHA256.hash(data: bytes).withUnsafeBytes { EventID(bytes: $0)! }
    }

    /// A short form for people; refs shown by the CLI are unique prefixes instead.
    public var short: String { String(hex.prefix(10)) }
    public var description: String { hex }
    public static func < (a: EventID, b: EventID) -> Bool { (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3) }
}
