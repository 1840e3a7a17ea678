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

    /// Plans the erasure of `person` (canonical or as recorded). Refuses another organisation's
    /// person and one already erased.
    public func planErasure(of person: String) throws -> ErasurePlan {
        try planErasures(of: [person])[0]
    }

    /// Plans the erasure of each of `people` (retention erases many at once). What identifies
    /// her is found from the fold (live registrations, profiles, notes and their corrections);
    /// only what the fold does not hold live is opened here: retracted events and those past a
    /// revocation's cut (a full scan cost a second at 100k events). Her contacts are read here
    /// too (the notes on them are hers), so no caller can leave them out. Refuses, naming her,
    /// any that `planErasure` refuses.
    public func planErasures(of people: [String]) throws -> [ErasurePlan] {
        guard !people.isEmpty else { return [] }
        var read = try StateSnapshot.read(store: store, keyring: keyring, part: .withoutContacts)
        var members = [String: [String]]()
        for (id, root) in read.fold.state.canonicalID { members[root, default: []].append(id) }
        let groups = people.map { members[read.fold.state.canonical($0)] ?? [$0] }
        try read.addContacts(of: Set(groups.joined()), store: store, keyring: keyring)
        let fold = read.fold, state = fold.state
        let org = keyring.org
        var registeredHere = Set<String>()              // person ids this organisation registered
        var identifying = [String: Set<EventID>]()     // person id → registrations and profiles
        var notes = [EventID: Set<EventID>]()          // contact → its notes
        var corrections = [EventID: Set<EventID>]()    // target → corrections
        var contactsOf = [String: Set<EventID>]()      // person id as recorded → contacts
        for (id, regs) in fold.registrations {
            for (event, r) in regs where r.org == org {
                registeredHere.insert(id)
                identifying[id, default: []].insert(event)
            }
        }
        for (id, writes) in fold.profileWrites {
            for (event, w) in writes where w.org == org { identifying[id, default: []].insert(event) }
        }
        for (contact, byID) in fold.notes { notes[contact, default: []].formUnion(byID.keys) }
        for (id, a) in fold.amendments where a.correction != nil && a.envelope.org == org { corrections[a.target, default: []].insert(id) }
        for c in state.contacts.values { if let raw = c.recordedPerson { contactsOf[raw, default: []].insert(c.id) } }

        // Events that are not live: retracted, or written past a revocation's cut.
        let source = StoreSource(store: store, keyring: keyring)
        var hidden = fold.state.retracted.compactMap(source.opened)
        for (replica, cut) in fold.cuts where fold.replicaOrg[replica] == org { hidden += source.opened(origin: replica, after: cut) }
        for o in hidden where o.event.org == org {
            let p = o.payload, id = o.event.id
            switch p.eventType {
            case .personRegistered?:
                guard let person = Body.PersonRegistered(p)?.person else { break }
                registeredHere.insert(person)
                identifying[person, default: []].insert(id)
            case .personProfile?:
                if let person = Body.PersonProfile(p)?.person { identifying[person, default: []].insert(id) }
            case .contactNote?:
                if let c = Body.ContactNote(p)?.contact { notes[c, default: []].insert(id) }
            case .contactLogged?:
                if let person = Body.ContactLogged(p)?.person { contactsOf[person, default: []].insert(id) }
            case .eventCorrected?:
                if let target = p.amendedTarget { corrections[target, default: []].insert(id) }
            default: break
            }
        }

        return try people.map { person in
            let canonical = state.canonicalID[person] ?? person
            guard let shown = state.people[canonical] else {
                throw FieldlogError(.unknownRef, "no person \(String(person.prefix(8))) in this log", input: .person)
            }
            let group = (members[canonical] ?? [canonical]).sorted()
            let ours = group.filter(registeredHere.contains)
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
            // Corrections of what is purged, and corrections of those.
            var next = purge
            while !next.isEmpty {
                let found = next.reduce(into: Set<EventID>()) { $0.formUnion(corrections[$1] ?? []) }.subtracting(purge)
                purge.formUnion(found)
                next = found
            }
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
            drafts.append(Draft(Payload(Body.EventsPurged(purge: plan.events), at: at, author: "")))
            for other in plan.keptLinks {
                drafts.append(Draft(payload(Body.PersonsLinked(plan.ids[0], other), at: at)))
            }
            for id in plan.ids {
                let erased = Body.PersonErased(person: id, reason: reason, events: plan.events.count)
                drafts.append(Draft(payload(erased, at: at), references: ["purge": purge]))
                // The partnership learns that this id no longer identifies anyone (no worker, no reason).
                drafts.append(Draft(Payload(Body.IdentityErased(person: id), at: at, author: "")))
            }
        }
        guard !drafts.isEmpty else { return [] }
        return try store.append(drafts, keyring: keyring)
    }
}
