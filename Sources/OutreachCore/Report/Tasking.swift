/// The priority group as the weekly tasking meeting sees it (`fieldlog tasking`).
public struct TaskingEntry: Sendable, Equatable {
    /// Canonical person id.
    public let person: String
    public let org: String
    /// The working name, only for the reader's own organisation's people.
    public let name: String?
    /// The live risk values (two or more: a conflict to resolve).
    public let risk: [String]
    public let riskReview: Int64?
    public let lead: String?
    public let lastContact: Int64?
    public let lastContactOrg: String?
    /// Destinations of referrals with no known outcome yet (none, or waiting).
    public let openReferrals: [Word<ReferralDestination>]
    public let openActions: [TaskingAction]
    public let reviewOverdue: Bool
}

extension FieldState {
    /// Members of the priority group at `now` (a live `in` write), most at risk first, then by
    /// how long since anyone saw them (no contacts needed: the fold keeps each one's last).
    public func taskingList(now: Int64) -> [TaskingEntry] {
        var referralsOpen = [String: [Word<ReferralDestination>]]()
        for r in referrals.values {
            guard let p = r.person else { continue }
            let outcome = r.outcome?.word(ReferralOutcomeKind.self)
            if outcome == nil || outcome == .known(.waiting) { referralsOpen[p, default: []].append(r.destination) }
        }
        var actions = [String: [TaskingAction]]()
        for a in taskingActions.values where !a.done { actions[a.person, default: []].append(a) }

        let members = registerWrites.keys.filter { register(.priority, of: $0, asOf: now).live.contains { $0.value == "in" } }
        let entries = members.map { id -> TaskingEntry in
            let person = people[id]
            let risk = register(.risk, of: id, asOf: now)
            let review = risk.live.compactMap(\.review).min()
            let last = lastContact(of: id)
            return TaskingEntry(
                person: id, org: person?.org ?? "", name: person?.name,  // names exist only for our own people
                risk: risk.live.compactMap(\.value.stringValue), riskReview: review,
                lead: register(.lead, of: id, asOf: now).value?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                lastContact: last?.at, lastContactOrg: last?.org,
                openReferrals: (referralsOpen[id] ?? []).sorted(),
                openActions: (actions[id] ?? []).sorted { ($0.agreedAt, $0.id) < ($1.agreedAt, $1.id) },
                reviewOverdue: review.map { $0 < now } ?? false)
        }
        func rank(_ e: TaskingEntry) -> Int {
            if e.risk.contains("high") { return 0 }
            if e.risk.contains("medium") { return 1 }
            return e.risk.contains("low") ? 2 : 3
        }
        return entries.sorted { (rank($0), $0.lastContact ?? .min, $0.person) < (rank($1), $1.lastContact ?? .min, $1.person) }
    }
}
