import OutreachCore

/// Short refs for people and events, resolved against the folded state.
final class Lookup {
    /// States read by this process (one command, on one thread), never freed before it exits.
    nonisolated(unsafe) private static var keptUntilExit = [FieldState]()
    let state: FieldState
    /// Who refs and working names name (made when first asked).
    private(set) lazy var people = PersonIndex(state)
    var personRefs: Refs { people.refs }
    let org: String
    let time = LondonTime()
    private let store: Store
    private var eventRefLength: Int?

    /// How long event refs are: lasting (`docs/refs.md`) for the number of events held.
    func eventRefMinimum() throws -> Int {
        if let n = eventRefLength { return n }
        let n = Refs.lastingLength(count: try store.eventCount(), floor: 7)
        eventRefLength = n
        return n
    }

    /// `part`: `.withoutContacts` for commands that show no contacts (a fraction of the reading).
    convenience init(log: FieldLog, _ part: StateSnapshot.Part = .all) throws {
        try self.init(log: log, state: try log.state(part))
    }

    /// The state without contacts but those of the person ids (as recorded) `pick` chooses.
    convenience init(log: FieldLog, contactsOf pick: (PersonIndex) throws -> Set<String>) throws {
        var index: PersonIndex?
        try self.init(log: log, state: try log.state(contactsOf: { state in
            index = PersonIndex(state)
            return try pick(index!)
        }))
        // (Contacts change no one's refs or names: the index made before they were read stands.)
        people = index!
    }

    /// The person `ref` names, and a lookup whose state holds her contacts (and no one else's):
    /// who she is comes from everything but the contacts, then her contacts from her pages.
    static func person(_ ref: String, log: FieldLog) throws -> (lookup: Lookup, person: Person) {
        var found: Person?
        let lookup = try Lookup(log: log) { index in
            let p = try index.person(ref)
            found = p
            return Set([p.id] + p.aliases)
        }
        return (lookup, found!)
    }

    private init(log: FieldLog, state: FieldState) throws {
        self.state = state
        // The process ends when the command does: freeing a large state record by record
        // (a sixth of `person show` at 1M events) is left to the end of the process.
        Lookup.keptUntilExit.append(state)
        org = log.keyring.org
        store = log.store
    }

    /// The person a ref or working name names (an alias resolves to the merged person).
    func person(_ ref: String) throws -> Person { try people.person(ref) }

    /// The event a ref names, through the store's id index (`noun` says what was expected, in the error).
    func eventID(_ ref: String, noun: String) throws -> EventID {
        let prefix = ref.lowercased()
        let matches = prefix.isEmpty || !prefix.allSatisfy(\.isHexDigit) ? [] : try store.events(idPrefix: prefix).map(\.id.hex)
        return EventID(hex: try Refs(matches, minimumLength: try eventRefMinimum()).resolve(ref, noun: noun))!
    }

    func ref(_ person: Person) -> String { personRefs.short(person.id) }
    /// The shortest unique ref of `id` (should the store not answer, its first 10 characters: still a ref).
    func ref(_ id: EventID) -> String {
        guard let minimum = try? eventRefMinimum(), let neighbours = try? store.neighbourIDs(of: id) else { return id.short }
        return Refs.shortest(id.hex, neighbours: neighbours, minimumLength: minimum)
    }

    /// "Rose (7f3a)" for our own people; "joanna 7f3a" for another charity's, whose names we never hold.
    func label(_ person: Person) -> String {
        if let name = person.name { return "\(name) (\(ref(person)))" }
        if person.erased != nil { return "erased \(ref(person))" }
        if let org = person.erasedBy.keys.min() { return "erased by \(org) \(ref(person))" }
        return "\(person.org) \(ref(person))"
    }

    func label(personID: String?) -> String {
        guard let id = personID, let p = state.people[state.canonical(id)] else { return "unidentified" }
        return label(p)
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
