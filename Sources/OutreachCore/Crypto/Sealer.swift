import Crypto
import Foundation

/// Seals drafts into signed events, and opens events: the one place where a payload meets a key
/// (`Protocol/fold.md` §7). The store below it moves bytes and knows no key.
public struct Sealer: Sendable {
    public let keyring: Keyring

    public init(_ keyring: Keyring) { self.keyring = keyring }

    /// The opened event, or nil if this device may not or cannot read it.
    public func open(_ event: Event) -> OpenedEvent? { keyring.open(event) }

    /// `events` opened on every core (decrypting and parsing is half a fold, and independent per
    /// event), and how many of them this device cannot open.
    public func open(_ events: [Event]) -> (opened: [OpenedEvent], unreadable: Int) {
        let all = Parallel.map(count: events.count) { keyring.open(events[$0]) }
        let opened = all.compactMap { $0 }
        return (opened, all.count - opened.count)
    }

    /// Seals and signs `drafts` as the events of `slot`.
    ///
    /// A public draft (`events.purged`) is written in clear, under no key (`Protocol/erasure.md`).
    /// Without references between drafts, every payload is sealed at once on every core; with
    /// them (the few drafts of one act), each in turn, once the ids it names are known. Only the
    /// ids, each naming the one before, are chained in order (cheap); signing runs on every core.
    public func seal(_ drafts: [Draft], into slot: EventSlot, recordedAt: Int64) throws -> [Event] {
        guard keyring.org == slot.org else { throw FieldlogError(.notPermitted, "this keyring is \(keyring.org)'s, the store \(slot.org)'s") }
        let keys = try drafts.map { draft -> ScopeKey? in
            if draft.scope == .public { return nil }
            let first = draft.payload.eventType?.isSealedUnderFirstKey ?? false
            guard let key = first ? keyring.firstKey(for: draft.scope) : keyring.key(for: draft.scope) else {
                throw FieldlogError.badInput("no key for scope \(draft.scope)")
            }
            return key
        }
        let nonces = try Nonces(count: drafts.count)
        @Sendable func seal(_ n: Int, _ payload: Payload) throws -> Data {
            guard let key = keys[n] else { return payload.json.canonicalData() }
            let aad = EventEncoding.associatedData(dot: slot.dot(n), org: slot.org, scope: drafts[n].scope, keyID: key.id)
            return try key.seal(payload.json.canonicalData(), aad: aad, nonce: try nonces.nonce(n))
        }
        let linked = drafts.contains { !$0.references.isEmpty }
        var sealed = linked ? [] : try Parallel.map(count: drafts.count) { try seal($0, drafts[$0].payload) }
        var prev = slot.prev
        var unsigned = [Event]()
        unsigned.reserveCapacity(drafts.count)
        for n in drafts.indices {
            if linked {
                var payload = drafts[n].payload
                for (field, index) in drafts[n].references {
                    guard index < n else { throw FieldlogError(.badInput, "a draft may only name an earlier draft of the same append") }
                    payload.fields[field] = .string(unsigned[index].id.hex)
                }
                sealed.append(try seal(n, payload))
            }
            let e = Event(dot: slot.dot(n), prev: prev, org: slot.org, scope: drafts[n].scope, context: slot.context(n),
                          recordedAt: recordedAt, keyID: keys[n]?.id ?? Scope.clearKeyID, sealedPayload: sealed[n], signature: Data())
            unsigned.append(e)
            prev = e.id
        }
        let chained = unsigned
        let deviceKey = keyring.deviceKey
        return try Parallel.map(count: chained.count) { n in
            let e = chained[n]
            return Event(storedID: e.id, dot: e.dot, prev: e.prev, org: e.org, scope: e.scope, context: e.context, recordedAt: e.recordedAt,
                         keyID: e.keyID, sealedPayload: e.sealedPayload, signature: try deviceKey.sign(Authority.signedMessage(e.id)))
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
