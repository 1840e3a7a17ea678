import Foundation

/// Every authority rule of `Protocol/trust.md` §4, in one place: what an event must satisfy to be
/// accepted (on receipt, by laptops and the server) and to be honoured (by the fold).
public enum Authority {
    /// A broken rule: the code names it on the wire, in `fieldlog check` and in set-aside records.
    public enum Rule: String, Sendable, CaseIterable, CustomStringConvertible {
        case badScope = "bad-scope"
        case unknownSigner = "unknown-signer"
        case wrongOrg = "wrong-org"
        case badSignature = "bad-signature"
        case wrongKey = "wrong-key"
        case unknownKey = "unknown-key"
        case unopenable
        case wrongScopeForType = "wrong-scope-for-type"
        case forked
        case revoked
        case foreignPurge = "foreign-purge"
        case notIdentifying = "purge-not-identifying"
        case unauthorisedPurge = "unauthorised-purge"

        public var description: String {
            switch self {
            case .badScope: "its scope is not org, partnership or public"
            case .unknownSigner: "no certified device signs for its origin"
            case .wrongOrg: "its organisation is not its signer's"
            case .badSignature: "its signature does not verify"
            case .wrongKey: "it is not sealed under its scope's key"
            case .unknownKey: "it is sealed under a key this laptop has not been given (yet: it is examined again when keys arrive)"
            case .unopenable: "its payload does not open or is not a payload"
            case .wrongScopeForType: "its type may not appear in its scope"
            case .forked: "its device signed another event at the same seq"
            case .revoked: "its device was revoked before it wrote it"
            case .foreignPurge: "it purges another organisation's events"
            case .notIdentifying: "it purges events that identify no one (only identifying events may be erased)"
            case .unauthorisedPurge: "it arrived purged, and no purge by its organisation names it"
            }
        }
    }

    /// The scopes an event may have (E3), spelled exactly.
    public static let scopes: Set<Scope> = [.org, .partnership, .public]

    /// The domain-separated message an event signature covers: the 32 bytes of its id (E6).
    public static func signedMessage(_ id: EventID) -> Data {
        var w = ByteWriter(capacity: 64)
        w.string("fieldlog/event-sig/v1")
        id.withBytes { w.bytes(Data($0)) }
        return w.data
    }

    /// The envelope rules E3-E6 for one event: what anyone can check with the roster and no keys.
    public static func checkEnvelope(_ event: Event, roster: Roster) -> Rule? {
        checkEnvelopes([event], roster: roster)[0]
    }

    /// The envelope rules E3-E6 for a batch. E3-E5 are checked per event; E6 once per **run**: an
    /// origin's consecutive events, each naming the one before as `prev`. Since every id covers
    /// its `prev`, the last event's signature vouches for the whole run (`Protocol/encoding.md`
    /// §7); where it does not verify, every event of the run is verified on its own, so exactly
    /// the bad ones are refused. Signatures are checked on every core.
    public static func checkEnvelopes(_ events: [Event], roster: Roster) -> [Rule?] {
        var verdicts = [Rule?](repeating: nil, count: events.count)
        var signed = [Int]()
        for (i, e) in events.enumerated() {
            if !scopes.contains(e.scope) { verdicts[i] = .badScope; continue }
            guard let signer = roster.signer(of: e.dot.replica) else { verdicts[i] = .unknownSigner; continue }
            if signer.org != e.org { verdicts[i] = .wrongOrg; continue }
            signed.append(i)
        }
        var runs = [[Int]]()
        for (_, indices) in Dictionary(grouping: signed, by: { events[$0].dot.replica }) {
            var run = [Int]()
            for i in indices.sorted(by: { events[$0].dot.seq < events[$1].dot.seq }) {
                if let last = run.last, events[i].dot.seq == events[last].dot.seq + 1, events[i].prev == events[last].id {
                    run.append(i)
                } else {
                    if !run.isEmpty { runs.append(run) }
                    run = [i]
                }
            }
            if !run.isEmpty { runs.append(run) }
        }
        @Sendable func valid(_ e: Event) -> Bool { roster.verify(e.signature, of: signedMessage(e.id), by: e.dot.replica) }
        let heads = runs.map { events[$0.last!] }
        let headsValid = Parallel.map(count: heads.count) { valid(heads[$0]) }
        let doubtful = runs.indices.filter { !headsValid[$0] }.flatMap { runs[$0] }
        let eachValid = Parallel.map(count: doubtful.count) { valid(events[doubtful[$0]]) }
        for (k, i) in doubtful.enumerated() where !eachValid[k] { verdicts[i] = .badSignature }
        return verdicts
    }

    /// What checking a batch on receipt found.
    public struct Verdicts: Sendable {
        /// Per event: nil where it passes, else the rule it breaks.
        public var rules: [Rule?]
        /// The honoured revocations the batch carries.
        public var revocations: [Revocation]
        /// The key notices (`key.rotated`, `key.granted`) among the events that pass, by index.
        public var keyNotices: [Int: KeyNotice]
    }

    /// Every rule a device checks on receipt, for a batch: the envelope rules (one signature per
    /// run), then the key and payload rules on every core, then revocation (the batch's own
    /// revocations included, merged into `revoked`).
    public static func check(_ events: [Event], roster: Roster, keyring: Keyring, revoked known: [ReplicaID: UInt64] = [:]) -> Verdicts {
        let envelopes = checkEnvelopes(events, roster: roster)
        let checked = Parallel.map(count: events.count) { i -> (Rule?, Revocation?, KeyNotice?) in
            if let broken = envelopes[i] { return (broken, nil, nil) }
            // A purged event has no payload to check: the importer takes it only where a purge by
            // its organisation names it (erasure.md §3).
            if events[i].isPurged { return (nil, nil, nil) }
            switch checkKeys(events[i], keyring: keyring) {
            case .success(let passed):
                guard let opened = passed.opened else { return (nil, nil, nil) }
                return (nil, revocation(opened, orgOf: { roster.signer(of: $0)?.org }), KeyNotice(opened))
            case .failure(let e): return (e.rule, nil, nil)
            }
        }
        let revocations = checked.compactMap(\.1)
        var revoked = known
        merge(revocations, into: &revoked)
        let rules = zip(events, checked).map { event, result -> Rule? in
            if let broken = result.0 { return broken }
            if isRevoked(event.dot, cuts: revoked) { return .revoked }
            return nil
        }
        var notices = [Int: KeyNotice]()
        for (i, c) in checked.enumerated() where rules[i] == nil { notices[i] = c.2 }
        return Verdicts(rules: rules, revocations: revocations, keyNotices: notices)
    }

    /// What the key and payload rules read of an event that passes them: its payload's type,
    /// and the opened payload where the check reads its body (`readsBody`); the others are
    /// checked as strictly, their fields not built (most of a sync's events).
    public struct PassedKeys: Sendable {
        public let type: EventType?
        public let opened: OpenedEvent?
    }

    /// The types whose bodies the check on receipt reads: revocations and key notices.
    static let readsBody: Set<EventType> = [.deviceRevoked, .keyRotated, .keyGranted]

    /// The key and payload rules K1-K3 for an event this device is entitled to: returns what
    /// they read of it, or the rule it breaks. K1 takes a key of any epoch held for the event's
    /// scope; a key id this device does not hold at all is `unknown-key` (a later epoch whose
    /// grant has not arrived yet), one it holds for the other scope `wrong-key`.
    public static func checkKeys(_ event: Event, keyring: Keyring) -> Result<PassedKeys, RuleError> {
        if event.scope == .public {
            guard event.keyID == Scope.clearKeyID else { return .failure(RuleError(.wrongKey)) }
            guard let opened = OpenedEvent(clear: event) else { return .failure(RuleError(.unopenable)) }
            guard opened.payload.eventType?.scope == .public else { return .failure(RuleError(.wrongScopeForType)) }
            guard purgeList(opened.payload) != nil else { return .failure(RuleError(.unopenable)) }
            return .success(PassedKeys(type: opened.payload.eventType, opened: opened))
        }
        guard event.scope == .partnership || (event.scope == .org && event.org == keyring.org) else { return .failure(RuleError(.wrongKey)) }
        guard let key = keyring.key(id: event.keyID, scope: event.scope) else {
            return .failure(RuleError(keyring.key(id: event.keyID) == nil ? .unknownKey : .wrongKey))
        }
        guard let name = keyring.openType(event, with: key) else { return .failure(RuleError(.unopenable)) }
        let type = EventType(rawValue: name)
        if let scope = type?.scope, scope != event.scope { return .failure(RuleError(.wrongScopeForType)) }
        guard let type, readsBody.contains(type) else { return .success(PassedKeys(type: type, opened: nil)) }
        // The body is read in full, under the same key; what opened for its type opens whole
        // (the same bytes, the same strictness).
        guard let opened = keyring.open(event, with: key) else { return .failure(RuleError(.unopenable)) }
        return .success(PassedKeys(type: type, opened: opened))
    }

    /// A rule as an error value (for `Result`).
    public struct RuleError: Error, Sendable { public let rule: Rule; init(_ rule: Rule) { self.rule = rule } }

    // MARK: Revocation (trust.md §5a)

    /// A device's revocation, read from a `device.revoked` event: its events after `upTo` are refused.
    public struct Revocation: Sendable, Equatable {
        public let replica: ReplicaID
        public let upTo: UInt64

        /// The revocation a `device.revoked` payload states, if it is one and well formed.
        init?(_ payload: Payload) {
            guard let b = Body.DeviceRevoked(payload) else { return nil }
            self.init(replica: b.replica, upTo: b.upTo)
        }

        init(replica: ReplicaID, upTo: UInt64) {
            self.replica = replica
            self.upTo = upTo
        }
    }

    /// The revocation `o` states, if it is one and is honoured (`orgOf` names the organisation of a replica).
    public static func revocation(_ o: OpenedEvent, orgOf: (ReplicaID) -> String?) -> Revocation? {
        guard let r = Revocation(o.payload), honours(r, writtenBy: o.event.org, deviceOrg: orgOf(r.replica)) else { return nil }
        return r
    }

    /// Only a device of the revoked device's own organisation may revoke it.
    public static func honours(_ r: Revocation, writtenBy writerOrg: String, deviceOrg: String?) -> Bool { deviceOrg == writerOrg }

    /// Whether the event at `dot` comes after its device's cut in `cuts` (replica → last seq that counts).
    public static func isRevoked(_ dot: Dot, cuts: [ReplicaID: UInt64]) -> Bool {
        cuts[dot.replica].map { dot.seq > $0 } ?? false
    }

    /// Revocations merged: of two for one device, the earlier cut holds.
    public static func merge(_ revocations: [Revocation], into known: inout [ReplicaID: UInt64]) {
        for r in revocations { known[r.replica] = min(known[r.replica] ?? .max, r.upTo) }
    }

    // MARK: Target rules (the fold)

    /// Whether a writer of `writerOrg` and `writerScope` may retract or correct a target of
    /// `targetOrg` and `targetScope` (held): same organisation and scope.
    public static func mayAmend(targetOrg: String, targetScope: Scope, writerOrg: String, writerScope: Scope) -> Bool {
        targetOrg == writerOrg && targetScope == writerScope
    }

    /// Whether an event of `writerOrg` may act on (withdraw, record the outcome of) an event of `targetOrg`.
    public static func mayActOn(targetOrg: String, writerOrg: String) -> Bool { targetOrg == writerOrg }
}
