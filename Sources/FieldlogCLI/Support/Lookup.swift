import OutreachCore

/// Short refs for people and events, resolved against the folded state.
struct Lookup {
    let state: FieldState
    let personRefs: Refs
    let eventRefs: Refs
    let org: String
    let time = LondonTime()

    init(log: FieldLog) throws {
        state = try log.state()
        personRefs = Refs(state.people.keys + state.people.values.flatMap(\.aliases), lasting: 4)
        eventRefs = Refs(try log.store.eventIDs(), lasting: 7)
        org = log.keyring.org
    }

    /// The person a ref or working name names (an alias resolves to the merged person).
    func person(_ ref: String) throws -> Person {
        var names = [String: String]()
        for p in state.people.values { if let n = p.name { names[p.id] = n } }
        let id = try Refs.resolvePerson(ref, ids: state.people.keys + state.people.values.flatMap(\.aliases), names: names)
        return state.people[state.canonical(id)]!
    }

    /// The event a ref names (`noun` says what was expected, in the error).
    func eventID(_ ref: String, noun: String) throws -> EventID { EventID(hex: try eventRefs.resolve(ref, noun: noun))! }

    func ref(_ person: Person) -> String { personRefs.short(person.id) }
    func ref(_ id: EventID) -> String { eventRefs.short(id.hex) }

    /// "Rose (7f3a)" for our own people; "joanna 7f3a" for another charity's, whose names we never hold.
    func label(_ person: Person) -> String {
        if let name = person.name { return "\(name) (\(ref(person)))" }
        return "\(person.org) \(ref(person))"
    }

    func label(personID: String?) -> String {
        guard let id = personID, let p = state.people[state.canonical(id)] else { return "unidentified" }
        return label(p)
    }
}

extension FieldState {
    /// The latest contact time per canonical person.
    var lastContact: [String: Int64] {
        var out = [String: Int64]()
        for c in contacts.values { if let p = c.person { out[p] = max(out[p] ?? .min, c.occurredAt) } }
        return out
    }
}

extension RegisterState {
    /// "high", or "high | low (conflict)".
    var display: String {
        if live.isEmpty { return "" }
        let values = live.map { $0.value.stringValue ?? $0.value.canonicalString() }
        return live.count == 1 ? values[0] : values.joined(separator: " | ") + " (conflict)"
    }
}
