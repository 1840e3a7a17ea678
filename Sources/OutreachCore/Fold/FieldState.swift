import Foundation

/// Everything a device's events add up to, folded in memory. Nothing here is written to disk.
///
/// Equal sets of events give equal states, whatever order they arrived in (DESIGN §3,
/// invariant 3): every collection is keyed or sorted by content, never by arrival.
public struct FieldState: Sendable, Equatable {
    /// Canonical person id → person.
    public var people: [String: Person] = [:]
    /// Any person id (alias or canonical) → canonical id.
    public var canonicalID: [String: String] = [:]
    public var contacts: [EventID: Contact] = [:]
    public var referrals: [EventID: Referral] = [:]
    public var incidents: [EventID: Incident] = [:]
    /// Incident summaries by organisation and the incident they summarise (every organisation's).
    public var incidentSummaries: [IncidentSummary.Key: IncidentSummary] = [:]
    /// Tasking actions, by event id (done ones too).
    public var taskingActions: [EventID: TaskingAction] = [:]
    /// Police exports (this organisation's audit trail), by export event id.
    public var exports: [EventID: IncidentExport] = [:]
    public var alerts: [EventID: Alert] = [:]
    /// Erasures (`person.erased`, this organisation's audit trail), by event id.
    public internal(set) var erasures: [EventID: Erasure] = [:]
    /// Person keys (`person.key` grants still held), by key id: what opens text sealed to her.
    public internal(set) var personKeys: [String: Data] = [:]
    /// Each organisation's retention policy in force (only its own devices can read it), by organisation.
    public internal(set) var retention: [String: RetentionPolicy] = [:]
    public var safeguarding: [EventID: Safeguarding] = [:]
    /// Register writes by canonical person and register, all of them (for "as of" questions).
    public var registerWrites: [String: [Register: [RegisterWrite]]] = [:]
    public var retracted: Set<EventID> = []
    /// Pairs of this organisation's people a coordinator judged not to be the same woman
    /// (`persons.distinct`), by event id: `fieldlog people --duplicates` leaves them out.
    public internal(set) var distinct: [EventID: PersonPair] = [:]
    /// The partnership's zones (`zone.defined`), by name, with their labels (the latest label given).
    public var zones: [String: String] = [:]
    /// Each person id's latest contact (by time, then id), as the contact names her: kept by the
    /// fold so that who was seen when needs no contacts read (`lastContact(of:)` merges aliases).
    public internal(set) var lastContacts: [String: LastContact] = [:]
    /// Events of types this version does not know: kept in the log, passed on, not folded.
    /// Agreement keys, key notices and revocations (`Protocol/trust.md` §5b).
    public internal(set) var keys = KeyFacts()
    public var unknownTypes = 0
    /// Events this device holds but cannot open (should be none).
    public var unreadable = 0

    public init() {}

    /// Text sealed to a person, opened with her key while a grant of it is held; nil once she
    /// was erased (or for a box that is not hers).
    public func reveal(_ text: SealedText?, type: EventType, field: String, person: String?) -> String? {
        guard let text, let person, let key = personKeys[text.keyID] else { return nil }
        return text.open(with: ScopeKey(key: .init(data: key)), type: type, field: field, person: person)
    }

    /// An incident's note: in clear, or opened with her key; nil when there is none or she was erased.
    public func note(of incident: Incident) -> String? {
        incident.note ?? reveal(incident.sealedNote, type: .incidentReported, field: "note", person: incident.recordedPerson)
    }

    /// `org`'s retention policy: the latest (time, then id) it set, else the default.
    public func retentionPolicy(of org: String) -> RetentionPolicy { retention[org] ?? .standard(org: org) }

    /// `org`'s summary of its incident `incident`.
    public func summary(of incident: EventID, org: String) -> IncidentSummary? {
        incidentSummaries[IncidentSummary.Key(org: org, incident: incident)]
    }

    /// The canonical id of `personID` (itself when it was never merged).
    public func canonical(_ personID: String) -> String { canonicalID[personID] ?? personID }

    /// Every field with concurrent writes, sorted by person and field.
    public var conflicts: [Conflict] {
        var out = [Conflict]()
        for (id, person) in people {
            for (register, state) in person.registers where state.isConflict {
                out.append(Conflict(person: id, field: .register(register), writes: state.live))
            }
            if let profile = person.profile, profile.isConflict {
                out.append(Conflict(person: id, field: .profile, writes: profile.live))
            }
        }
        return out.sorted { ($0.person, $0.field) < ($1.person, $1.field) }
    }

    /// The state of a register as it stood at `time`, by the writes dated at or before it.
    public func register(_ register: Register, of person: String, asOf time: Int64) -> RegisterState {
        let writes = registerWrites[canonical(person)]?[register] ?? []
        return RegisterState(writes: writes.filter { $0.occurredAt <= time })
    }

    /// Every incident reports count: this organisation's from the detail (corrections applied),
    /// the others' from their summaries, each once.
    public var incidentFacts: [IncidentFact] {
        var facts = incidents.values.map { IncidentFact(incident: $0.id, org: $0.org, kind: $0.kind, consent: $0.consent, occurredAt: $0.occurredAt) }
        for s in incidentSummaries.values where incidents[s.incident] == nil {
            facts.append(IncidentFact(incident: s.incident, org: s.org, kind: s.kind, consent: s.consent, occurredAt: s.occurredAt))
        }
        return facts.sorted { ($0.occurredAt, $0.incident) < ($1.occurredAt, $1.incident) }
    }

    /// The latest contact with `person` (canonical) under any of her ids.
    public func lastContact(of person: String) -> LastContact? {
        ([person] + (people[person]?.aliases ?? [])).compactMap { lastContacts[$0] }.max()
    }

    /// Contacts of a person (canonical), oldest first.
    public func contacts(of person: String) -> [Contact] {
        let id = canonical(person)
        return contacts.values.filter { $0.person == id }.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
    }
}
