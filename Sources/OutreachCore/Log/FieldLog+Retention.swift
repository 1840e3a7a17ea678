import Foundation

/// Retention (`Protocol/erasure.md` §7): each organisation erases the identity of a person it
/// registered once its policy's time has passed without contact, casework or incident.
public struct RetentionDue: Sendable, Equatable {
    /// The canonical person id.
    public let person: String
    /// Her latest registration, contact, referral or outcome, incident, safeguarding concern,
    /// tasking action, register or profile write (any organisation's that this laptop holds).
    public let lastActivity: Int64
    /// When the policy erases her: `lastActivity` plus the policy's months, in London time.
    public let dueAt: Int64

    public func isDue(at now: Int64) -> Bool { dueAt <= now }
}

extension FieldState {
    /// Everyone `org` registered and has not erased, with when `policy` erases them, soonest first.
    /// Reads only what the state keeps without its contacts (each person's last contact is kept).
    public func retentionSchedule(org: String, policy: RetentionPolicy, time: LondonTime = LondonTime()) -> [RetentionDue] {
        var last = [String: Int64]()
        func saw(_ person: String?, _ at: Int64) {
            guard let person else { return }
            let id = canonical(person)
            if last[id].map({ $0 < at }) ?? true { last[id] = at }
        }
        for r in referrals.values {
            saw(r.recordedPerson, r.occurredAt)
            for w in r.outcome?.live ?? [] { saw(r.recordedPerson, w.occurredAt) }
        }
        for i in incidents.values { saw(i.recordedPerson, i.occurredAt) }
        for s in safeguarding.values { saw(s.recordedPerson, s.occurredAt) }
        for t in taskingActions.values { saw(t.recordedPerson, t.agreedAt) }
        for (person, registers) in registerWrites {
            for w in registers.values.joined() { saw(person, w.occurredAt) }
        }
        var out = [RetentionDue]()
        for p in people.values where p.org == org && p.registeredAt != nil && p.erased == nil {
            var at = max(p.registeredAt!, last[p.id] ?? .min, lastContact(of: p.id)?.at ?? .min)
            for w in p.profile?.live ?? [] { at = max(at, w.occurredAt) }
            out.append(RetentionDue(person: p.id, lastActivity: at, dueAt: time.adding(months: policy.months, to: at)))
        }
        return out.sorted { ($0.dueAt, $0.person) < ($1.dueAt, $1.person) }
    }
}

extension FieldLog {
    /// This organisation's policy, and who falls due under it, soonest first.
    public func retentionSchedule(in state: FieldState) -> (policy: RetentionPolicy, schedule: [RetentionDue]) {
        let policy = state.retentionPolicy(of: keyring.org)
        return (policy, state.retentionSchedule(org: keyring.org, policy: policy))
    }

    /// Sets this organisation's retention policy (`retention.set`, synced to its own laptops only).
    @discardableResult
    public func setRetention(months: Int, at: Int64) throws -> Event {
        guard RetentionPolicy.allowedMonths.contains(months) else {
            throw FieldlogError.badInput("a retention policy is from 1 to 100 years", input: .after)
        }
        return try store.append([Draft(payload(Body.RetentionSet(months: months), at: at))], keyring: keyring)[0]
    }

    /// Erases everyone due at `now` under this organisation's policy, each as its own erasure
    /// with reason `retention`, in one transaction. Returns what was erased.
    @discardableResult
    public func applyRetention(now: Int64) throws -> [ErasurePlan] {
        let due = retentionSchedule(in: try state(.withoutContacts)).schedule.filter { $0.isDue(at: now) }.map(\.person)
        let plans = try planErasures(of: due)
        try erase(plans, reason: RetentionPolicy.reason, at: now)
        return plans
    }
}

extension FieldLog {
    /// What the day's first unlock did about retention.
    public enum DailyRetention: Sendable, Equatable {
        /// It already ran today on this laptop.
        case alreadyRan
        /// Not run: this laptop has not synced within `Self.freshness`, so a recent contact
        /// recorded elsewhere may not be here yet. `due` people would have been erased.
        case notFresh(lastSync: Int64?, due: Int)
        /// Ran: these were erased (none, often).
        case ran([ErasurePlan])
    }

    /// How recent a sync must be for retention to run by itself.
    public static let retentionFreshness: Int64 = 7 * 86_400_000

    /// Runs retention once a London day, at the first unlock, on a laptop that synced within the
    /// last 7 days (it erases only on what it knows: an out-of-date laptop could miss a contact).
    public func runDailyRetention(now: Int64, time: LondonTime = LondonTime()) throws -> DailyRetention {
        let today = time.startOfDay(now)
        if let ran = try store.retentionRanOn(), ran >= today { return .alreadyRan }
        let lastSync = try store.lastSync()?.at
        guard let lastSync, now - lastSync <= Self.retentionFreshness else {
            let due = retentionSchedule(in: try state(.withoutContacts)).schedule.prefix { $0.isDue(at: now) }.count
            return .notFresh(lastSync: lastSync, due: due)
        }
        let erased = try applyRetention(now: now)
        try store.rememberRetentionRun(day: today)
        return .ran(erased)
    }
}

extension RetentionPolicy {
    /// The reason every retention erasure gives.
    public static let reason = "retention"

    /// Reads `3y`, `18mo` (months) or `72mo`.
    public static func parseMonths(_ text: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let fail = FieldlogError.badInput("cannot read the retention period \"\(text)\"", input: .after)
        if t.hasSuffix("mo"), let n = Int(t.dropLast(2)), n > 0 { return n }
        if t.hasSuffix("y"), let n = Int(t.dropLast()), n > 0, n <= 1000 { return n * 12 }
        if t.hasSuffix("m"), Int(t.dropLast()) != nil {
            throw FieldlogError.badInput("\"\(text)\": write months as mo (e.g. 18mo), so they are not read as minutes", input: .after)
        }
        throw fail
    }
}
