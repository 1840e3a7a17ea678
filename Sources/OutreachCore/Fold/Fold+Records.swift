import Foundation

/// What each event type does to the state: the one mapping from events to facts, and its undo.
extension Fold {
    /// Where an applied event's effect went, for kinds not found by id in the state's tables
    /// (contacts, referrals, incidents, concerns, tasking actions and exports are).
    enum Effect: Sendable, Equatable {
        case registration(person: String)
        case profile(person: String)
        case link
        case note(contact: EventID)
        case outcome(referral: EventID)
        case done(action: EventID)
        case alert
        case withdrawal(alert: EventID)
        case summary(IncidentSummary.Key)
        case register(person: String, Register)
        case zone(String)
        case erasure(person: String)
        case identityErasure(person: String)
        case retention(org: String)
        case distinct
        case unknown
        /// Retractions, corrections, revocations: they act through liveness.
        case other
    }

    /// Applies a live event (its correction laid over).
    mutating func apply(_ o: OpenedEvent) {
        let p = o.payload, e = o.event
        func person() -> (raw: String?, canonical: String?) {
            let raw = p.string("person")
            if let raw { mention(raw, Mention(at: p.occurredAt, id: e.id, org: e.org)) }
            return (raw, raw.map(canonical))
        }
        var effect = Effect.other
        switch p.eventType {
        case .personRegistered:
            guard let id = p.string("person") else { break }
            let registration = Registration(
                org: e.org, name: p.string("name"), descriptor: p.string("descriptor"), note: p.string("note"), at: p.occurredAt,
                key: p.string("key").flatMap { Data(base64Encoded: $0) }.flatMap { $0.count == 32 ? $0 : nil })
            registrations[id, default: [:]][e.id] = registration
            if let key = registration.personKey { state.personKeys[key.id] = registration.key }
            effect = .registration(person: id)
            touch(id)
        case .personErased:
            guard let id = p.string("person") else { break }
            let erasure = Erasure(id: e.id, org: e.org, at: p.occurredAt, by: p.author, reason: p.string("reason") ?? "",
                                  events: Int(p.int("events") ?? 0))
            erasures[id, default: [:]][e.id] = erasure
            state.erasures[e.id] = erasure
            effect = .erasure(person: id)
            touch(id)
        case .identityErased:
            guard let id = p.string("person") else { break }
            identityErasures[id, default: [:]][e.id] = Mention(at: p.occurredAt, id: e.id, org: e.org)
            effect = .identityErasure(person: id)
            touch(id)
        case .eventsPurged:
            break  // acted on by the store (Protocol/erasure.md), nothing to count
        case .personsLinked:
            guard let a = p.string("a"), let b = p.string("b") else { break }
            links[e.id] = Link(a: a, b: b)
            effect = .link
            rebuildUnions()
        case .personsDistinct:
            guard let a = p.string("a"), let b = p.string("b"), a != b else { break }
            state.distinct[e.id] = PersonPair(a, b)
            effect = .distinct
        case .personProfile:
            guard let id = p.string("person") else { break }
            profileWrites[id, default: [:]][e.id] = Fold.write(o, value: .object(p.fields.filter { $0.key != "person" }))
            effect = .profile(person: id)
            profileChanged(id)
        case .contactLogged:
            let (raw, canonical) = person()
            state.contacts[e.id] = Contact(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw,
                unidentified: Int(p.int("unidentified") ?? 0), setting: p.word("setting", or: .unknown("")),
                zone: p.string("zone"), workers: p.strings("workers"), welfare: p["welfare"]?.boolValue ?? false,
                services: p.counts("services"), needs: p.words("needs"), occurredAt: p.occurredAt, author: p.author,
                notes: (notes[e.id] ?? [:]).values.sorted())
            if let raw {
                let last = LastContact(at: p.occurredAt, org: e.org, contact: e.id)
                if state.lastContacts[raw].map({ $0 < last }) ?? true { state.lastContacts[raw] = last }
            }
        case .contactNote:
            guard let c = p.eventID("contact"), let text = p.string("text") else { break }
            notes[c, default: [:]][e.id] = text
            state.contacts[c]?.notes = (notes[c] ?? [:]).values.sorted()
            effect = .note(contact: c)
        case .referralMade:
            let (raw, canonical) = person()
            state.referrals[e.id] = Referral(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, contact: p.eventID("contact"),
                destination: p.word("destination", or: .unknown("")), method: p.word("method", or: .unknown("")), occurredAt: p.occurredAt)
            updateOutcome(e.id)
        case .referralOutcome:
            guard let r = p.eventID("referral") else { break }
            outcomes[r, default: [:]][e.id] = Fold.write(o, value: p["outcome"] ?? .null)
            effect = .outcome(referral: r)
            updateOutcome(r)
        case .incidentReported:
            let (raw, canonical) = person()
            state.incidents[e.id] = Incident(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, kind: p.word("kind", or: .known(.other)),
                zone: p.string("zone"), offender: p.string("offender"), vehicle: p.string("vehicle"), handle: p.string("handle"),
                consent: p.consentLevel("consent"), note: p.string("note"), sealedNote: SealedText(p["note"]), occurredAt: p.occurredAt,
                author: p.author)
        case .incidentSummary:
            guard let incident = p.eventID("incident") else { break }
            let key = IncidentSummary.Key(org: e.org, incident: incident)
            summaryCandidates[key, default: [:]][e.id] = IncidentSummary(
                id: e.id, incident: incident, org: e.org, kind: p.word("kind", or: .known(.other)),
                consent: p.consentLevel("consent"), occurredAt: p.occurredAt)
            effect = .summary(key)
            updateSummary(key)
        case .taskingAction:
            guard p.string("person") != nil else { break }
            let (raw, canonical) = person()
            state.taskingActions[e.id] = TaskingAction(
                id: e.id, org: e.org, person: canonical!, recordedPerson: raw!, action: p.string("action") ?? "",
                owner: p.string("owner"), due: p.int("due"), agreedAt: p.occurredAt, done: !(done[e.id] ?? []).isEmpty)
        case .taskingDone:
            guard let a = p.eventID("action") else { break }
            done[a, default: []].insert(e.id)
            state.taskingActions[a]?.done = true
            effect = .done(action: a)
        case .incidentExported:
            guard let incident = p.eventID("incident") else { break }
            state.exports[e.id] = IncidentExport(
                id: e.id, incident: incident, org: e.org, level: p.consentLevel("level"), recipient: p.string("recipient"),
                exportedAt: p.occurredAt, author: p.author)
        case .alertIssued:
            alertBase[e.id] = Alert(
                id: e.id, org: e.org, incident: p.eventID("incident"), zone: p.string("zone"), text: p.string("text") ?? "",
                issuedAt: p.occurredAt, expiresAt: p.int("expires") ?? p.occurredAt, withdrawn: false)
            effect = .alert
            updateAlert(e.id)
        case .alertWithdrawn:
            guard let a = p.eventID("alert") else { break }
            withdrawals[a, default: [:]][e.id] = e.org
            effect = .withdrawal(alert: a)
            updateAlert(a)
        case .safeguardingRaised:
            let (raw, canonical) = person()
            state.safeguarding[e.id] = Safeguarding(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, category: p.word("category", or: .unknown("")),
                action: p.string("action"), withConsent: p["consent"]?.boolValue ?? true, reason: p.string("reason"),
                occurredAt: p.occurredAt)
        case .registerSet:
            guard let id = p.string("person"), let register = p.string("register").flatMap(Register.init(rawValue:)) else { break }
            _ = person()
            registerWrites[id, default: [:]][register, default: [:]][e.id] = Fold.write(o, value: p["value"] ?? .null)
            effect = .register(person: id, register)
            touch(id)
        case .zoneDefined:
            guard let zone = p.string("zone") else { break }
            zoneDefinitions[zone, default: [:]][e.id] = ZoneDefinition(at: p.occurredAt, label: p.string("label"))
            effect = .zone(zone)
            updateZone(zone)
        case .retentionSet:
            guard let months = p.int("months").map(Int.init), RetentionPolicy.allowedMonths.contains(months) else { break }
            retentionPolicies[e.org, default: [:]][e.id] = RetentionPolicy(id: e.id, org: e.org, months: months, at: p.occurredAt, by: p.author)
            effect = .retention(org: e.org)
            updateRetention(e.org)
        case nil:
            state.unknownTypes += 1
            effect = .unknown
        case .eventRetracted, .eventCorrected, .deviceRevoked, .deviceKeyed, .keyRotated, .keyGranted:
            break
        }
        if effect != .other { applied[e.id] = effect }
    }

    /// Takes out what `id` did, if it is applied.
    mutating func unapply(_ id: EventID) {
        if let c = state.contacts.removeValue(forKey: id) {
            if let raw = c.recordedPerson, state.lastContacts[raw]?.contact == id {
                state.lastContacts[raw] = state.contacts.values.filter { $0.recordedPerson == raw }
                    .map { LastContact(at: $0.occurredAt, org: $0.org, contact: $0.id) }.max()
            }
            return unmention(c.recordedPerson, id)
        }
        if let r = state.referrals.removeValue(forKey: id) { return unmention(r.recordedPerson, id) }
        if let i = state.incidents.removeValue(forKey: id) { return unmention(i.recordedPerson, id) }
        if let s = state.safeguarding.removeValue(forKey: id) { return unmention(s.recordedPerson, id) }
        if let t = state.taskingActions.removeValue(forKey: id) { return unmention(t.recordedPerson, id) }
        if state.exports.removeValue(forKey: id) != nil { return }
        guard let effect = applied.removeValue(forKey: id) else { return }
        switch effect {
        case .registration(let person):
            if let key = registrations[person]?[id]?.personKey { state.personKeys[key.id] = nil }
            Fold.remove(id, at: person, from: &registrations)
            touch(person)
        case .profile(let person):
            Fold.remove(id, at: person, from: &profileWrites)
            profileChanged(person)
        case .link:
            links[id] = nil
            rebuildUnions()
        case .note(let c):
            Fold.remove(id, at: c, from: &notes)
            state.contacts[c]?.notes = (notes[c] ?? [:]).values.sorted()
        case .outcome(let r):
            Fold.remove(id, at: r, from: &outcomes)
            updateOutcome(r)
        case .done(let a):
            done[a]?.remove(id)
            if done[a]?.isEmpty == true { done[a] = nil }
            state.taskingActions[a]?.done = !(done[a] ?? []).isEmpty
        case .alert:
            alertBase[id] = nil
            state.alerts[id] = nil
        case .withdrawal(let a):
            Fold.remove(id, at: a, from: &withdrawals)
            updateAlert(a)
        case .summary(let key):
            Fold.remove(id, at: key, from: &summaryCandidates)
            updateSummary(key)
        case .register(let person, let register):
            if var registers = registerWrites[person] {
                Fold.remove(id, at: register, from: &registers)
                registerWrites[person] = registers.isEmpty ? nil : registers
            }
            unmention(person, id)
            touch(person)
        case .zone(let zone):
            Fold.remove(id, at: zone, from: &zoneDefinitions)
            updateZone(zone)
        case .identityErasure(let person):
            Fold.remove(id, at: person, from: &identityErasures)
            touch(person)
        case .erasure(let person):
            Fold.remove(id, at: person, from: &erasures)
            state.erasures[id] = nil
            touch(person)
        case .retention(let org):
            Fold.remove(id, at: org, from: &retentionPolicies)
            updateRetention(org)
        case .distinct:
            state.distinct[id] = nil

        case .unknown:
            state.unknownTypes -= 1
        case .other:
            break
        }
    }

    /// Removes `id` from the group `key`, and the group when it is left empty (so that a state
    /// reached by adding and taking out is the one reached by never adding).
    static func remove<Key: Hashable, Value>(_ id: EventID, at key: Key, from groups: inout [Key: [EventID: Value]]) {
        groups[key]?[id] = nil
        if groups[key]?.isEmpty == true { groups[key] = nil }
    }
}
