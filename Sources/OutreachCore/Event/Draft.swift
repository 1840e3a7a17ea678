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

/// Where a device's next events go: fixed by the store inside the transaction that appends them,
/// and filled by whoever seals them (`Protocol/fold.md` §7).
///
/// Event n of the append (from 0) has the dot (replica, base + n + 1), names the event before it
/// (`prev` for the first), and has as causal context everything the store held before it.
public struct EventSlot: Sendable, Equatable {
    public let replica: ReplicaID
    public let org: String
    /// The store's vector before the first new event.
    public let held: VersionVector
    /// This device's last event, which the first new one names.
    public let prev: EventID?

    public init(replica: ReplicaID, org: String, held: VersionVector, prev: EventID?) {
        self.replica = replica
        self.org = org
        self.held = held
        self.prev = prev
    }

    /// This device's last seq before the append.
    public var base: UInt64 { held[replica] }

    /// The dot of event `n` of the append.
    public func dot(_ n: Int) -> Dot { Dot(replica, base + UInt64(n) + 1) }

    /// The causal context of event `n` of the append.
    public func context(_ n: Int) -> VersionVector {
        var c = held
        c[replica] = base + UInt64(n)
        return c
    }

    /// Whether `events` fill this slot: their dots, organisation, contexts and chain of `prev`
    /// are the ones it fixes (the store checks what a sealer hands back before storing it).
    public func isFilled(by events: [Event]) -> Bool {
        var prev = self.prev
        for (n, e) in events.enumerated() {
            guard e.dot == dot(n), e.org == org, e.prev == prev, e.context == context(n) else { return false }
            prev = e.id
        }
        return true
    }
}
