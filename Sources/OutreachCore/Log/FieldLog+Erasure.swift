import Foundation

/// Erasing a person (`Protocol/erasure.md`): what identifies her is purged on every replica; what
/// she was counted as stays.
extension FieldLog {
    /// What an erasure will do, worked out before anything is written (shown for confirmation).
    public struct ErasurePlan: Sendable {
        /// The person as shown (the canonical id).
        public let person: String
        /// Her ids this organisation registered or first recorded: each gets a `person.erased`.
        public let ids: [String]
        /// The events whose payloads are purged: registrations, profiles, notes on her contacts,
        /// and the corrections of any of them.
        public let events: [EventID]
        /// Other ids she is one person with, each kept by an anonymous `persons.linked`: a merge
        /// that came from a partnership code outlives the code.
        public let keptLinks: [String]
    }

    /// Plans the erasure of `person` (canonical or as recorded) from a state that holds her
    /// contacts. Refuses another organisation's person and one already erased.
    public func planErasure(of person: String, in state: FieldState) throws -> ErasurePlan {
        let canonical = state.canonicalID[person] ?? person
        guard let shown = state.people[canonical] else {
            throw FieldlogError(.unknownRef, "no person \(String(person.prefix(8))) in this log", input: .person)
        }
        let group = state.canonicalID.filter { $0.value == canonical }.map(\.key).sorted()
        let events = try store.events(sql: "SELECT \(EventTable.columns) FROM events WHERE org = ? AND purged = 0 AND scope <> 'public'",
                                      arguments: [keyring.org])
        let opened = Parallel.map(count: events.count) { keyring.open(events[$0]) }.compactMap { $0 }
        // Hers: the ids of the group that this organisation registered (or recorded first).
        var registeredBy = [String: String]()
        for o in opened where o.payload.eventType == .personRegistered {
            if let id = o.payload.string("person") { registeredBy[id] = o.event.org }
        }
        let ours = group.filter { registeredBy[$0] == keyring.org }
        guard !ours.isEmpty else {
            if shown.erased != nil {
                throw FieldlogError.badInput("\(String(canonical.prefix(8))) was already erased; nothing was changed")
            }
            throw FieldlogError(.notPermitted, "\(String(canonical.prefix(8))) was registered by \(shown.org), not \(keyring.org): only \(shown.org) can erase her",
                                hint: "ask \(shown.org) to erase her; nothing was changed")
        }
        let mine = Set(ours)
        let herContacts = Set(state.contacts.values.filter { $0.recordedPerson.map(mine.contains) ?? false }.map(\.id))
        var purge = Set<EventID>()
        for o in opened {
            switch o.payload.eventType {
            case .personRegistered?, .personProfile?:
                if let id = o.payload.string("person"), mine.contains(id) { purge.insert(o.event.id) }
            case .contactNote?:
                if let c = o.payload.eventID("contact"), herContacts.contains(c) { purge.insert(o.event.id) }
            default: break
            }
        }
        for o in opened where o.payload.eventType == .eventCorrected {
            if let target = o.payload.eventID("target"), purge.contains(target) { purge.insert(o.event.id) }
        }
        return ErasurePlan(person: canonical, ids: ours, events: purge.sorted(), keptLinks: group.filter { !mine.contains($0) })
    }

    /// Erases what `plan` names, in one transaction: an `events.purged` (public: the ids only),
    /// the anonymous links that keep her merges, and a `person.erased` per id (this organisation
    /// only: who, when, why, how many). The purge runs in the same transaction; then the WAL is
    /// truncated. Returns the events written.
    @discardableResult
    public func erase(_ plan: ErasurePlan, reason: String, at: Int64) throws -> [Event] {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw FieldlogError.badInput("say why she is erased", input: .reason) }
        guard reason.count <= 500 else { throw FieldlogError.badInput("a reason is at most 500 characters", input: .reason) }
        guard !plan.events.isEmpty else { throw FieldlogError.badInput("nothing of \(String(plan.person.prefix(8))) is left to erase; nothing was changed") }
        // The public payload carries no worker and no person: a server learns only the ids.
        var drafts = [Draft(Payload(type: .eventsPurged, occurredAt: at, author: "", fields: ["purge": .array(plan.events.map { .string($0.hex) })]))]
        for other in plan.keptLinks {
            drafts.append(Draft(payload(.personsLinked, at: at, ["a": .string(plan.ids[0]), "b": .string(other)])))
        }
        for id in plan.ids {
            drafts.append(Draft(payload(.personErased, at: at, [
                "person": .string(id), "reason": .string(reason), "events": .int(Int64(plan.events.count)),
            ]), references: ["purge": 0]))
        }
        return try store.append(drafts, keyring: keyring)
    }
}
