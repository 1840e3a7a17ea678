import Foundation

/// Erasing a person (`Protocol/erasure.md`): what identifies her is purged on every replica; what
/// she was counted as stays.
extension FieldLog {
    /// What an erasure will do, worked out before anything is written (shown for confirmation).
    public struct ErasurePlan: Sendable, Equatable {
        /// The person as shown (the canonical id).
        public let person: String
        /// Her ids this organisation registered or first recorded: each gets a `person.erased`.
        public let ids: [String]
        /// The events whose payloads are purged: registrations, profiles, notes on her contacts,
        /// and the corrections of any of them.
        public let events: [EventID]
        /// Her other ids (the other charity's, and this organisation's beyond the first), each kept
        /// by an anonymous `persons.linked` to her first: a merge that came from a partnership code
        /// outlives the code.
        public let keptLinks: [String]
    }

    /// Plans the erasure of `person` (canonical or as recorded) from a state that holds her
    /// contacts. Refuses another organisation's person and one already erased.
    public func planErasure(of person: String, in state: FieldState) throws -> ErasurePlan {
        try planErasures(of: [person], in: state)[0]
    }

    /// Plans the erasure of each of `people` (retention erases many at once): this organisation's
    /// events are read once for all of them. Refuses, naming her, any that `planErasure` refuses.
    public func planErasures(of people: [String], in state: FieldState) throws -> [ErasurePlan] {
        guard !people.isEmpty else { return [] }
        let events = try store.events(sql: "SELECT \(EventTable.columns) FROM events WHERE org = ? AND purged = 0 AND scope <> 'public'",
                                      arguments: [keyring.org])
        let opened = Parallel.map(count: events.count) { keyring.open(events[$0]) }.compactMap { $0 }
        // Which ids this organisation registered (or recorded first), and who each event is about.
        var registeredBy = [String: String]()
        var identifying = [String: [EventID]]()       // person id → registrations and profiles
        var notes = [EventID: [EventID]]()            // contact → its notes
        var corrections = [EventID: [EventID]]()      // target → corrections
        for o in opened {
            switch o.payload.eventType {
            case .personRegistered?:
                guard let id = o.payload.string("person") else { break }
                registeredBy[id] = o.event.org
                identifying[id, default: []].append(o.event.id)
            case .personProfile?:
                if let id = o.payload.string("person") { identifying[id, default: []].append(o.event.id) }
            case .contactNote?:
                if let c = o.payload.eventID("contact") { notes[c, default: []].append(o.event.id) }
            case .eventCorrected?:
                if let target = o.payload.eventID("target") { corrections[target, default: []].append(o.event.id) }
            default: break
            }
        }
        var members = [String: [String]]()
        for (id, root) in state.canonicalID { members[root, default: []].append(id) }
        var contactsOf = [String: [EventID]]()
        for c in state.contacts.values { if let raw = c.recordedPerson { contactsOf[raw, default: []].append(c.id) } }

        return try people.map { person in
            let canonical = state.canonicalID[person] ?? person
            guard let shown = state.people[canonical] else {
                throw FieldlogError(.unknownRef, "no person \(String(person.prefix(8))) in this log", input: .person)
            }
            let group = (members[canonical] ?? [canonical]).sorted()
            let ours = group.filter { registeredBy[$0] == keyring.org }
            guard !ours.isEmpty else {
                if shown.erased != nil {
                    throw FieldlogError.badInput("\(String(canonical.prefix(8))) was already erased; nothing was changed")
                }
                throw FieldlogError(.notPermitted, "\(String(canonical.prefix(8))) was registered by \(shown.org), not \(keyring.org): only \(shown.org) can erase her",
                                    hint: "ask \(shown.org) to erase her; nothing was changed")
            }
            var purge = Set<EventID>()
            for id in ours {
                purge.formUnion(identifying[id] ?? [])
                for c in contactsOf[id] ?? [] { purge.formUnion(notes[c] ?? []) }
            }
            for target in Array(purge) { purge.formUnion(corrections[target] ?? []) }
            // Every other id of the group is linked to her first: a merge that came from partnership
            // codes (purged with her profiles) outlives them, between her own ids too.
            return ErasurePlan(person: canonical, ids: ours, events: purge.sorted(), keptLinks: group.filter { $0 != ours[0] })
        }
    }

    /// Erases what `plan` names, in one transaction: an `events.purged` (public: the ids only),
    /// the anonymous links that keep her merges, and a `person.erased` per id (this organisation
    /// only: who, when, why, how many). The purge runs in the same transaction; then the WAL is
    /// truncated. Returns the events written.
    @discardableResult
    public func erase(_ plan: ErasurePlan, reason: String, at: Int64) throws -> [Event] {
        try erase([plan], reason: reason, at: at)
    }

    /// Erases each of `plans` as its own erasure (its own purge, links and `person.erased`), all
    /// in one transaction.
    @discardableResult
    public func erase(_ plans: [ErasurePlan], reason: String, at: Int64) throws -> [Event] {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw FieldlogError.badInput("say why she is erased", input: .reason) }
        guard reason.count <= 500 else { throw FieldlogError.badInput("a reason is at most 500 characters", input: .reason) }
        var drafts = [Draft]()
        for plan in plans {
            guard !plan.events.isEmpty else { throw FieldlogError.badInput("nothing of \(String(plan.person.prefix(8))) is left to erase; nothing was changed") }
            // The public payload carries no worker and no person: a server learns only the ids.
            let purge = drafts.count
            drafts.append(Draft(Payload(type: .eventsPurged, occurredAt: at, author: "", fields: ["purge": .array(plan.events.map { .string($0.hex) })])))
            for other in plan.keptLinks {
                drafts.append(Draft(payload(.personsLinked, at: at, ["a": .string(plan.ids[0]), "b": .string(other)])))
            }
            for id in plan.ids {
                drafts.append(Draft(payload(.personErased, at: at, [
                    "person": .string(id), "reason": .string(reason), "events": .int(Int64(plan.events.count)),
                ]), references: ["purge": purge]))
            }
        }
        guard !drafts.isEmpty else { return [] }
        return try store.append(drafts, keyring: keyring)
    }
}
