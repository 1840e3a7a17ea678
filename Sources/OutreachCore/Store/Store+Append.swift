import Crypto
import Foundation
import GRDB

/// A payload ready to be sealed into a new event.
public struct Draft: Sendable {
    public let scope: Scope
    public let payload: Payload

    public init(_ scope: Scope, _ payload: Payload) {
        self.scope = scope
        self.payload = payload
    }
}

extension Store {
    /// Seals, signs and appends this device's new events in one transaction, committed before it returns.
    ///
    /// Each event gets the next seq of this replica and, as causal context, everything the store
    /// held before it (including earlier events of the same call).
    @discardableResult
    public func append(_ drafts: [Draft], keyring: Keyring, recordedAt: Int64 = Clock.nowMillis()) throws -> [Event] {
        let me = info.replica
        let org = info.org
        guard keyring.org == org else { throw FieldlogError(.notPermitted, "this keyring is \(keyring.org)'s, the store \(org)'s") }
        let keys = try drafts.map { draft -> ScopeKey in
            guard let key = keyring.key(for: draft.scope) else { throw FieldlogError.badInput("no key for scope \(draft.scope)") }
            return key
        }
        let nonces = try Nonces(count: drafts.count)
        return try db.write { db in
            let vector = try EventTable.vector(db)
            let base = vector[me]
            // Event n's dot is (me, base + n + 1) and its context everything before it: fixed
            // up front, so sealing (the costly part) can run on every core for a bulk append.
            let written = try Parallel.map(count: drafts.count) { n in
                var context = vector
                context[me] = base + UInt64(n)
                let dot = Dot(me, base + UInt64(n) + 1)
                let draft = drafts[n], key = keys[n]
                let aad = EventEncoding.associatedData(dot: dot, org: org, scope: draft.scope, keyID: key.id)
                let sealed = try key.seal(draft.payload.json.canonicalData(), aad: aad, nonce: try nonces.nonce(n))
                return try Event(dot: dot, org: org, scope: draft.scope, context: context, recordedAt: recordedAt, keyID: key.id,
                                 sealedPayload: sealed, signer: keyring.deviceKey)
            }
            let statement = try db.makeStatement(sql: EventTable.insertSQL)
            for event in written { try EventTable.insert(event, statement, db) }
            if let last = written.last { try EventTable.setCoverage(db, me, last.dot.seq) }
            return written
        }
    }

}

/// Fresh ChaChaPoly nonces from the kernel's CSPRNG, drawn in one call for a whole batch
/// (one `/dev/urandom` read per batch; one `getrandom` per nonce was a third of an append's cost).
struct Nonces {
    private let bytes: [UInt8]

    init(count: Int) throws {
        var buffer = [UInt8](repeating: 0, count: count * 12)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FieldlogError(.io, "cannot open the system random number generator") }
        defer { close(fd) }
        var filled = 0
        while filled < buffer.count {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            guard got > 0 else { throw FieldlogError(.io, "the system random number generator failed") }
            filled += got
        }
        bytes = buffer
    }

    func nonce(_ i: Int) throws -> ChaChaPoly.Nonce { try ChaChaPoly.Nonce(data: bytes[(i * 12)..<(i * 12 + 12)]) }
}
