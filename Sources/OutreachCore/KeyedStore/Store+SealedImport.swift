import Foundation

/// What importing a batch did.
public struct ImportOutcome: Sendable, Equatable {
    public var stored = 0
    public var alreadyHad = 0
    /// Events for another organisation's eyes only: not kept (the server filters these too).
    public var notEntitled = 0
    /// Events that broke a rule of `Protocol/trust.md` §4, by rule: kept apart, never folded.
    public var setAside: [Authority.Rule: Int] = [:]
    /// Events set aside earlier that now pass (their signer's certificate arrived).
    public var recovered = 0
    public var certificatesAccepted = 0
    public var certificatesRefused: [Roster.Refusal] = []
    /// Events whose payloads were erased here (purged in place, or taken as tombstones).
    public var purged = 0
    /// Keys granted to this device by the batch (`Protocol/trust.md` §5b).
    public var keysGained = 0
    /// The keyring to go on with, when the batch changed it (keys granted, or a revocation that
    /// makes a granted key read-only); nil when unchanged.
    public var keyring: Keyring?
    public init() {}

    init(_ merged: MergeOutcome) {
        (stored, alreadyHad, setAside, recovered) = (merged.stored, merged.alreadyHad, merged.setAside, merged.recovered)
        (purged, keysGained) = (merged.purged, merged.keysGained)
    }

    public var setAsideCount: Int { setAside.values.reduce(0, +) }
}

extension Store {
    /// Merges events (and the certificates that sign them) from a sync page or a bundle.
    ///
    /// Every event is checked against every rule of `Protocol/trust.md` §4 before anything is
    /// written: here, above the store, the rules that need keys (on every core: the signature, the
    /// key, the payload) and P2 of `Protocol/erasure.md`; then the store merges the judged batch
    /// in one transaction with the rules it judges itself (`merge(_:from:)`).
    public func importEvents(_ events: [Event], certificates: [DeviceCertificate] = [], from origin: BatchOrigin, keyring given: Keyring,
                             prechecked: Prechecked? = nil) throws -> ImportOutcome {
        var keyring = given
        var roster = try roster()
        let admitted = roster.admit(certificates, pinning: .firstSight)

        var batch = keyring.entitled(events)
        let notEntitled = events.count - batch.count
        let hadSetAside = try setAsideCount() > 0
        var retried = Set<EventID>()
        func retry(_ rules: [Authority.Rule]) throws -> [Int] {
            var added = [Int]()
            let carried = Set(batch.map(\.id))
            for e in try setAsideEvents(breaking: rules) where retried.insert(e.id).inserted {
                if carried.contains(e.id) { continue }  // the batch carries it again: examined there
                added.append(batch.count)
                batch.append(e)
            }
            return added
        }
        let carriesPurge = batch.contains { $0.scope == .public }
        if hadSetAside && (!admitted.accepted.isEmpty || carriesPurge) {
            // New certificates: what waited for its signer is examined again; a purge: what arrived purged before it.
            _ = try retry([.unknownSigner, .unauthorisedPurge])
        }
        let known = try self.revocations()
        var checked = prechecked?.verdicts(for: batch, roster: roster, keyring: keyring, revoked: known)
            ?? Authority.check(batch, roster: roster, keyring: keyring, revoked: known)
        /// The revocations on record with those the batch carries (checked so far).
        func cuts() -> [ReplicaID: UInt64] {
            var cuts = known
            Authority.merge(checked.revocations, into: &cuts)
            return cuts
        }
        // Keys granted to this device open what waited for them, in the batch and set aside
        // earlier; a grant among those may hold the next key (trust.md §5b).
        var notices = checked.keyNotices
        var gained = [KeptGrant]()
        var retriedKeys = false
        while true {
            let more = Self.grantsToMe(notices.sorted { $0.key < $1.key }.map(\.value), keyring: &keyring, replica: info.replica)
            guard !more.isEmpty else { break }
            gained += more
            var again = checked.rules.indices.filter { checked.rules[$0] == .unknownKey }
            if hadSetAside && !retriedKeys {
                retriedKeys = true
                // wrong-key too: 0.3 set aside events under keys it did not know with that rule.
                let added = try retry([.unknownKey, .wrongKey])
                checked.rules += added.map { _ in nil }
                again += added
            }
            let recheck = Authority.check(again.map { batch[$0] }, roster: roster, keyring: keyring, revoked: cuts())
            notices = [:]
            for (k, i) in again.enumerated() {
                checked.rules[i] = recheck.rules[k]
                if let n = recheck.keyNotices[k] { notices[i] = n }
            }
            checked.revocations += recheck.revocations
        }

        var judged = JudgedBatch(events: batch, verdicts: checked.rules)
        judged.retried = retried
        judged.hadSetAside = hadSetAside
        judged.roster = admitted.accepted.isEmpty ? nil : roster
        judged.revocations = checked.revocations
        judged.grants = gained
        // P2 for the purges that pass the envelope and key rules, with the keys just gained.
        let candidates = Self.purges(in: batch, verdicts: checked.rules)  // set-aside ones examined again included
        let carried = candidates.isEmpty ? [:] : Dictionary(batch.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let sealer = Sealer(keyring)
        for candidate in candidates {
            if let rule = try identifyingRule(candidate.ids, carried: carried, sealer: sealer) { judged.identifyingRules[candidate.event.id] = rule }
        }

        var outcome = ImportOutcome(try merge(judged, from: origin))
        outcome.notEntitled = notEntitled
        outcome.certificatesAccepted = admitted.accepted.count
        outcome.certificatesRefused = admitted.refused
        if !gained.isEmpty || !checked.revocations.isEmpty {
            // A key granted by an event that a revocation now cuts off is kept for reading only.
            let cuts = cuts()
            var now = keyring
            now.markUnwritable { Authority.isRevoked($0, cuts: cuts) }
            if now != given { outcome.keyring = now }
        }
        return outcome
    }
}

/// A batch checked ahead of its import, while the sync stores the page before it: the rules of
/// `Authority.check` on the roster, keys and revocations of that moment. The import takes the
/// verdicts only if its own inputs are the same (a page that brought certificates, keys or a
/// revocation changes them, and the batch is checked again); the check is a function of them
/// alone, so the verdicts are the ones it would reach.
public struct Prechecked: Sendable {
    let batch: [Event]
    let roster: Roster
    let keyring: Keyring
    let revoked: [ReplicaID: UInt64]
    let verdicts: Authority.Verdicts

    /// Checks `events` as `Store.importEvents` would with these inputs (certificates admitted,
    /// events this device is not entitled to left out).
    public init(_ events: [Event], certificates: [DeviceCertificate], roster: Roster, keyring: Keyring, revoked: [ReplicaID: UInt64]) {
        var roster = roster
        roster.admit(certificates, pinning: .firstSight)
        batch = keyring.entitled(events)
        (self.roster, self.keyring, self.revoked) = (roster, keyring, revoked)
        verdicts = Authority.check(batch, roster: roster, keyring: keyring, revoked: revoked)
    }

    /// The verdicts, if they were reached on exactly these inputs.
    func verdicts(for batch: [Event], roster: Roster, keyring: Keyring, revoked: [ReplicaID: UInt64]) -> Authority.Verdicts? {
        guard revoked == self.revoked, keyring == self.keyring, batch == self.batch, roster.judgesAlike(self.roster) else { return nil }
        return verdicts
    }
}

extension Keyring {
    /// The events this device may hold, in order (what an import and a check made ahead of it
    /// both judge: `Prechecked` relies on the two being the same batch).
    /// When all are (a server sends only those), the same array, not a copy of each event: the
    /// import and its check then hold one array, which `Prechecked` compares in one step
    /// (copying and comparing every event, payloads and all, was a tenth of storing a page).
    func entitled(_ events: [Event]) -> [Event] {
        events.allSatisfy { isEntitled(org: $0.org, scope: $0.scope) } ? events : events.filter { isEntitled(org: $0.org, scope: $0.scope) }
    }
}
