import Foundation

/// The fold: events in, `FieldState` out, one event at a time (`Protocol/fold.md`).
///
/// There is one fold. A full fold is `add` of every event to an empty `Fold`; an incremental one
/// is `add` of the newer events to a fold restored from the state snapshot. Events may come in
/// any order: a retraction before what it retracts, a note before its contact, a link before the
/// people it joins. The state depends only on the set of events added (DESIGN §3, invariant 3).
///
/// Most events only add to the state. The few that change what earlier events mean (a
/// retraction, a correction, a link, a partnership code, a revocation) make the fold look again
/// at just the events they touch, read back through a `FoldSource`; nothing is refolded whole.
public struct Fold: Sendable, Equatable {
    public internal(set) var state = FieldState()

    /// The envelope facts the target rules need (`Protocol/trust.md` §4).
    struct Envelope: Sendable, Equatable {
        let id: EventID
        let dot: Dot
        let org: String
        let scope: Scope
        init(_ e: Event) { id = e.id; dot = e.dot; org = e.org; scope = e.scope }
        init(id: EventID, dot: Dot, org: String, scope: Scope) { self.id = id; self.dot = dot; self.org = org; self.scope = scope }
    }

    /// A retraction or correction held (live or not), by its own id.
    struct Amendment: Sendable, Equatable {
        let envelope: Envelope
        let target: EventID
        /// The correction's write (its fields as the value); nil for a retraction.
        let correction: RegisterWrite?
        var isRetraction: Bool { correction == nil }
    }

    var amendments: [EventID: Amendment] = [:]
    /// Target → the retractions and corrections that name it (its arrival is not needed).
    var amendmentsOf: [EventID: Set<EventID>] = [:]

    /// `device.revoked` events held, with the organisation that wrote them.
    var revocations: [EventID: Revocation] = [:]
    struct Revocation: Sendable, Equatable {
        let notice: Authority.Revocation
        let org: String
    }
    /// The organisation of every replica seen (a revocation counts from the device's own organisation).
    var replicaOrg: [ReplicaID: String] = [:]
    var cuts: [ReplicaID: UInt64] = [:]

    // What attaches to a record, kept whether or not the record is here yet (see Fold+Records).
    var notes: [EventID: [EventID: String]] = [:]
    var outcomes: [EventID: [EventID: RegisterWrite]] = [:]
    var done: [EventID: Set<EventID>] = [:]
    var withdrawals: [EventID: [EventID: String]] = [:]
    /// Every live alert, shown or hidden (an alert of a retracted incident is hidden).
    var alertBase: [EventID: Alert] = [:]
    var summaryCandidates: [IncidentSummary.Key: [EventID: IncidentSummary]] = [:]
    /// Every live `zone.defined`, by zone.
    var zoneDefinitions: [String: [EventID: ZoneDefinition]] = [:]
    struct ZoneDefinition: Sendable, Equatable {
        let at: Int64
        let label: String?
    }

    // People (see Fold+People).
    var registrations: [String: [EventID: Registration]] = [:]
    var profileWrites: [String: [EventID: RegisterWrite]] = [:]
    var registerWrites: [String: [Register: [EventID: RegisterWrite]]] = [:]
    var links: [EventID: Link] = [:]
    /// Every live `person.erased`, by the person id it names.
    var erasures: [String: [EventID: Erasure]] = [:]
    /// Every live `identity.erased`, by the person id it names: the organisation and when.
    var identityErasures: [String: [EventID: Mention]] = [:]
    /// Every live `retention.set` within the allowed months, by organisation.
    var retentionPolicies: [String: [EventID: RetentionPolicy]] = [:]
    var firstMention: [String: Mention] = [:]
    /// The partnership code each id's own profile gives.
    var profileCodes: [String: String] = [:]
    var members: [String: Set<String>] = [:]

    /// Where each applied event's effect went, for the kinds not found by id in the state's tables.
    var applied: [EventID: Effect] = [:]

    /// False for a fold read back without its contacts (`StateSnapshot.Part.withoutContacts`):
    /// it may take in only events that add, and is never written back.
    public internal(set) var contactsLoaded = true

    public init() {}

    /// Folds `events` from scratch.
    public static func fold(_ events: [OpenedEvent]) -> FieldState {
        var fold = Fold()
        fold.add(events, source: NoSource())
        return fold.state
    }

    /// Adds `events` (not yet added: the store never holds an event twice). Events added before
    /// that they change are read back from `source`, or from `events` themselves.
    public mutating func add(_ events: [OpenedEvent], source: some FoldSource) {
        let all = BatchSource(events, then: source)
        for o in events { add(o, source: all) }
    }

    mutating func add(_ o: OpenedEvent, source: some FoldSource) {
        let e = o.event
        if replicaOrg[e.dot.replica] == nil {
            replicaOrg[e.dot.replica] = e.org
            if revocations.values.contains(where: { $0.notice.replica == e.dot.replica }) { recomputeCuts(source: source) }
        }
        state.keys.add(o)
        switch o.payload.eventType {
        case .eventRetracted:
            if let b = Body.EventRetracted(o.payload) { amend(b.target, by: e, correction: nil) }
        case .eventCorrected:
            if let b = Body.EventCorrected(o.payload) { amend(b.target, by: e, correction: Fold.write(o, value: .object(b.replacing), reason: b.reason)) }
        case .deviceRevoked:
            if let r = Authority.Revocation(o.payload) {
                revocations[e.id] = Revocation(notice: r, org: e.org)
                recomputeCuts(source: source)
            }
        default: break
        }
        settle(o, source: source)
    }

    /// Holds a retraction (no correction) or a correction of `target` written by `e`.
    private mutating func amend(_ target: EventID, by e: Event, correction: RegisterWrite?) {
        amendments[e.id] = Amendment(envelope: Envelope(e), target: target, correction: correction)
        amendmentsOf[target, default: []].insert(e.id)
    }

    /// Brings one held event's effect up to date: takes out what it did, and puts back what it
    /// does now (its liveness, corrections and people may have changed since).
    mutating func refresh(_ id: EventID, source: some FoldSource) {
        unapply(id)
        guard let o = source.opened(id) else { return }
        settle(o, source: source)
    }

    /// Applies `o` (not applied now) if it is live, with its live correction; then what depends on it.
    private mutating func settle(_ o: OpenedEvent, source: some FoldSource) {
        let id = o.event.id
        let wasRetracted = state.retracted.contains(id)
        let isRetracted = !isRevoked(Envelope(o.event)) && hasLiveRetraction(Envelope(o.event))
        if isRetracted { state.retracted.insert(id) } else { state.retracted.remove(id) }
        if isLive(Envelope(o.event)) { apply(effective(o)) }
        if wasRetracted != isRetracted { retractionChanged(id) }
        // An amendment's liveness decides what its target shows.
        if let a = amendments[id] { refresh(a.target, source: source) }
    }

    // MARK: Liveness

    /// Counts: not cut off by a revocation, and not retracted by a live retraction.
    func isLive(_ e: Envelope) -> Bool {
        !isRevoked(e) && !hasLiveRetraction(e)
    }

    func isRevoked(_ e: Envelope) -> Bool { Authority.isRevoked(e.dot, cuts: cuts) }

    /// Whether a live retraction by the target's own organisation and scope names `e`.
    /// (Retractions form chains, never cycles: an id commits to its target.)
    func hasLiveRetraction(_ e: Envelope) -> Bool {
        (amendmentsOf[e.id] ?? []).contains { id in
            guard let a = amendments[id], a.isRetraction, Fold.mayAmend(e, by: a.envelope) else { return false }
            return isLive(a.envelope)
        }
    }

    static func mayAmend(_ target: Envelope, by writer: Envelope) -> Bool {
        Authority.mayAmend(targetOrg: target.org, targetScope: target.scope, writerOrg: writer.org, writerScope: writer.scope)
    }

    /// `o` with its live correction's fields laid over (of concurrent ones, the highest id).
    func effective(_ o: OpenedEvent) -> OpenedEvent {
        let target = Envelope(o.event)
        let writes = (amendmentsOf[o.event.id] ?? []).compactMap { id -> RegisterWrite? in
            guard let a = amendments[id], let w = a.correction, Fold.mayAmend(target, by: a.envelope), isLive(a.envelope) else { return nil }
            return w
        }
        guard !writes.isEmpty, let chosen = RegisterState(writes: writes).live.last, let fields = chosen.value.objectValue else { return o }
        var payload = o.payload
        for (k, v) in fields where !Payload.envelopeKeys.contains(k) { payload.fields[k] = v }
        if let at = fields["at"]?.intValue { payload.occurredAt = at }
        return OpenedEvent(event: o.event, payload: payload)
    }

    /// The cuts of the revocations held that are honoured (trust.md §5a).
    var honouredCuts: [ReplicaID: UInt64] {
        var cuts = [ReplicaID: UInt64]()
        let honoured = revocations.values.filter { Authority.honours($0.notice, writtenBy: $0.org, deviceOrg: replicaOrg[$0.notice.replica]) }
        Authority.merge(honoured.map(\.notice), into: &cuts)
        return cuts
    }

    /// Recomputes the revocation cuts; the events of a device now cut off (or no longer) are refreshed.
    mutating func recomputeCuts(source: some FoldSource) {
        let cuts = honouredCuts
        guard cuts != self.cuts else { return }
        let changed = Set(cuts.keys).union(self.cuts.keys).filter { cuts[$0] != self.cuts[$0] }
        let old = self.cuts
        self.cuts = cuts
        for replica in changed.sorted(by: { $0.rawValue < $1.rawValue }) {
            let from = min(old[replica] ?? .max, cuts[replica] ?? .max)
            for o in source.opened(origin: replica, after: from) { refresh(o.event.id, source: source) }
        }
    }

    /// `o`'s write of `value` to a register-like field (a register, a profile, an outcome, a correction).
    static func write(_ o: OpenedEvent, value: JSONValue, reason: String? = nil, review: Int64? = nil) -> RegisterWrite {
        RegisterWrite(eventID: o.event.id, dot: o.event.dot, context: o.event.context, value: value, reason: reason, review: review,
                      occurredAt: o.payload.occurredAt, author: o.payload.author, org: o.event.org)
    }
}
