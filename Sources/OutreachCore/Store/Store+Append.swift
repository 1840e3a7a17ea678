import Crypto
import Foundation
import GRDB

/// A payload ready to be sealed into a new event.
///
/// The drafts of one act (a contact with its referrals and note; an incident with its summary
/// and alert) are appended together, in one transaction; a draft names an earlier one of the
/// same append through `references` (field → index), filled with that event's id when it is
/// sealed.
public struct Draft: Sendable {
    public let scope: Scope
    public let payload: Payload
    /// Fields to set to the id of an earlier draft of the same append, by its index.
    public let references: [String: Int]

    /// A draft in its type's scope (`Protocol/events.md`): the type decides, not the caller.
    public init(_ payload: Payload, references: [String: Int] = [:]) {
        guard let scope = payload.eventType?.scope else { preconditionFailure("\(payload.type) takes its scope from its target: Draft(amending:)") }
        self.init(scope, payload, references: references)
    }

    /// A retraction or correction, in its target's scope.
    public init(amending target: Event, _ payload: Payload) {
        self.init(target.scope, payload)
    }

    /// A draft in an explicit scope (benchmarks, and tests that forge).
    public init(_ scope: Scope, _ payload: Payload, references: [String: Int] = [:]) {
        self.scope = scope
        self.payload = payload
        self.references = references
    }
}

extension Store {
    /// Seals, signs and appends this device's new events in one transaction, committed before it returns.
    ///
    /// Each event gets the next seq of this replica and, as causal context, everything the store
    /// held before it (including earlier events of the same call).
    @discardableResult
    public func append(_ drafts: [Draft], keyring: Keyring, recordedAt: Int64 = WallClock.nowMillis()) throws -> [Event] {
        let me = info.replica
        let org = info.org
        guard keyring.org == org else { throw FieldlogError(.notPermitted, "this keyring is \(keyring.org)'s, the store \(org)'s") }
        // A public draft (events.purged) is written in clear, under no key (Protocol/erasure.md).
        let keys = try drafts.map { draft -> ScopeKey? in
            if draft.scope == .public { return nil }
            let first = draft.payload.eventType?.isSealedUnderFirstKey ?? false
            guard let key = first ? keyring.firstKey(for: draft.scope) : keyring.key(for: draft.scope) else {
                throw FieldlogError.badInput("no key for scope \(draft.scope)")
            }
            return key
        }
        let keyIDs = keys.map { $0?.id ?? Scope.clearKeyID }
        let nonces = try Nonces(count: drafts.count)
        let purging = drafts.contains { $0.payload.eventType == .eventsPurged }
        let written = try db.write { db in
            let vector = try EventTable.vector(db)
            let base = vector[me]
            // Event n's dot is (me, base + n + 1) and its context everything before it: fixed
            // up front, so sealing and signing (the costly parts) run on every core for a bulk
            // append; only the ids, each naming the one before, are chained in order (cheap).
            @Sendable func seal(_ n: Int, _ payload: Payload) throws -> Data {
                guard let key = keys[n] else { return payload.json.canonicalData() }
                let aad = EventEncoding.associatedData(dot: Dot(me, base + UInt64(n) + 1), org: org, scope: drafts[n].scope, keyID: key.id)
                return try key.seal(payload.json.canonicalData(), aad: aad, nonce: try nonces.nonce(n))
            }
            let linked = drafts.contains { !$0.references.isEmpty }
            // Without references, every payload is sealed at once on every core; with them (a
            // few drafts of one act), each in turn, once the ids it names are known.
            var sealed = linked ? [] : try Parallel.map(count: drafts.count) { try seal($0, drafts[$0].payload) }
            var prev = base == 0 ? nil : try String.fetchOne(db, sql: "SELECT id FROM events WHERE origin = ? AND seq = ?",
                                                            arguments: [me.rawValue, Int64(base)]).flatMap(EventID.init(hex:))
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
                var context = vector
                context[me] = base + UInt64(n)
                let e = Event(dot: Dot(me, base + UInt64(n) + 1), prev: prev, org: org, scope: drafts[n].scope, context: context,
                              recordedAt: recordedAt, keyID: keyIDs[n], sealedPayload: sealed[n], signature: Data())
                unsigned.append(e)
                prev = e.id
            }
            let chained = unsigned
            let written = try Parallel.map(count: chained.count) { n in
                let e = chained[n]
                return Event(storedID: e.id, dot: e.dot, prev: e.prev, org: e.org, scope: e.scope, context: e.context, recordedAt: e.recordedAt,
                             keyID: e.keyID, sealedPayload: e.sealedPayload, signature: try keyring.deviceKey.sign(Authority.signedMessage(e.id)))
            }
            let statement = try db.makeStatement(sql: EventTable.insertSQL)
            for event in written { try EventTable.insert(event, statement, db) }
            if let last = written.last { try EventTable.setCoverage(db, me, last.dot.seq) }
            // A revocation written here takes effect here at once, in the same transaction.
            try Self.note(drafts.compactMap { Authority.Revocation($0.payload) }, db)
            // A key this device rotates (and grants itself) is kept at once, in the same transaction.
            let notices = zip(drafts, written).compactMap { KeyNotice(OpenedEvent(event: $1, payload: $0.payload)) }
            if !notices.isEmpty {
                var held = keyring
                try Self.keep(Self.grantsToMe(notices, keyring: &held, replica: me), replica: me, db)
            }
            // An erasure written here purges here at once, in the same transaction (erasure.md §3).
            if purging {
                let purges = zip(drafts, written).compactMap { draft, event in
                    Authority.purgeList(draft.payload).map { EventTable.Purge(event: event, ids: $0) }
                }
                for p in purges {
                    if let rule = try Self.purgeRule(p, batch: [:], keyring: keyring, db) {
                        throw FieldlogError(.notPermitted, "this purge would break a rule: \(rule)")
                    }
                }
                _ = try Self.apply(purges, db)
            }
            return written
        }
        if purging { try checkpointAfterPurge() }
        return written
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
