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

    /// Applies a live event (its correction laid over), read through its type's body.
    mutating func apply(_ o: OpenedEvent) {
        let p = o.payload, e = o.event, f = PayloadFields(p.fields)
        func mentioned(_ raw: String?) -> (raw: String?, canonical: String?) {
            if let raw { mention(raw, Mention(at: p.occurredAt, id: e.id, org: e.org)) }
            return (raw, raw.map(canonical))
        }
        var effect = Effect.other
        switch p.eventType {
        case .personRegistered:
            guard let b = Body.PersonRegistered(f) else { break }
            let registration = Registration(org: e.org, name: b.name, descriptor: b.descriptor, note: b.note, at: p.occurredAt, key: b.key)
            registrations[b.person, default: [:]][e.id] = registration
            if let key = registration.personKey { state.personKeys[key.id] = registration.key }
            effect = .registration(person: b.person)
            touch(b.person)
        case .personErased:
            guard let b = Body.PersonErased(f) else { break }
            let erasure = Erasure(id: e.id, org: e.org, at: p.occurredAt, by: p.author, reason: b.reason, events: b.events)
            erasures[b.person, default: [:]][e.id] = erasure
            state.erasures[e.id] = erasure
            effect = .erasure(person: b.person)
            touch(b.person)
        case .identityErased:
            guard let b = Body.IdentityErased(f) else { break }
            identityErasures[b.person, default: [:]][e.id] = Mention(at: p.occurredAt, id: e.id, org: e.org)
            effect = .identityErasure(person: b.person)
            touch(b.person)
        case .eventsPurged:
            break  // acted on by the store (Protocol/erasure.md), nothing to count
        case .personsLinked:
            guard let b = Body.PersonsLinked(f) else { break }
            links[e.id] = Link(a: b.a, b: b.b)
            effect = .link
            join(b.a, b.b)
        case .personsDistinct:
            guard let b = Body.PersonsDistinct(f) else { break }
            state.distinct[e.id] = PersonPair(b.a, b.b)
            effect = .distinct
        case .personProfile:
            guard let b = Body.PersonProfile(f) else { break }
            profileWrites[b.person, default: [:]][e.id] = Fold.write(o, value: .object(b.values))
            effect = .profile(person: b.person)
            profileChanged(b.person)
        case .contactLogged:
            guard let b = Body.ContactLogged(f) else { break }
            let (raw, canonical) = mentioned(b.person)
            state.contacts[e.id] = Contact(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, unidentified: b.unidentified, setting: b.setting,
                zone: b.zone, workers: b.workers.sorted(), welfare: b.welfare, services: b.services, needs: b.needs.sorted(),
                occurredAt: p.occurredAt, author: p.author, notes: (notes[e.id] ?? [:]).values.sorted())
            if let raw {
                let last = LastContact(at: p.occurredAt, org: e.org, contact: e.id)
                if state.lastContacts[raw].map({ $0 < last }) ?? true { state.lastContacts[raw] = last }
            }
        case .contactNote:
            guard let b = Body.ContactNote(f), let c = b.contact else { break }
            notes[c, default: [:]][e.id] = b.text
            state.contacts[c]?.notes = (notes[c] ?? [:]).values.sorted()
            effect = .note(contact: c)
        case .referralMade:
            guard let b = Body.ReferralMade(f) else { break }
            let (raw, canonical) = mentioned(b.person)
            state.referrals[e.id] = Referral(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, contact: b.contact, destination: b.destination, method: b.method,
                occurredAt: p.occurredAt)
            updateOutcome(e.id)
        case .referralOutcome:
            guard let b = Body.ReferralOutcome(f) else { break }
            outcomes[b.referral, default: [:]][e.id] = Fold.write(o, value: b.outcome.map { .string($0.rawValue) } ?? .null)
            effect = .outcome(referral: b.referral)
            updateOutcome(b.referral)
        case .incidentReported:
            guard let b = Body.IncidentReported(f) else { break }
            let (raw, canonical) = mentioned(b.person)
            state.incidents[e.id] = Incident(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, kind: b.kind, zone: b.zone, offender: b.offender,
                vehicle: b.vehicle, handle: b.handle, consent: b.consent, note: b.note?.clear, sealedNote: b.note?.sealed,
                occurredAt: p.occurredAt, author: p.author)
        case .incidentSummary:
            guard let b = Body.IncidentSummary(f), let incident = b.incident else { break }
            let key = IncidentSummary.Key(org: e.org, incident: incident)
            summaryCandidates[key, default: [:]][e.id] = IncidentSummary(
                id: e.id, incident: incident, org: e.org, kind: b.kind, consent: b.consent, occurredAt: p.occurredAt)
            effect = .summary(key)
            updateSummary(key)
        case .taskingAction:
            guard let b = Body.TaskingAction(f) else { break }
            let (raw, canonical) = mentioned(b.person)
            state.taskingActions[e.id] = TaskingAction(
                id: e.id, org: e.org, person: canonical!, recordedPerson: raw!, action: b.action, owner: b.owner, due: b.due,
                agreedAt: p.occurredAt, done: !(done[e.id] ?? []).isEmpty)
        case .taskingDone:
            guard let b = Body.TaskingDone(f) else { break }
            done[b.action, default: []].insert(e.id)
            state.taskingActions[b.action]?.done = true
            effect = .done(action: b.action)
        case .incidentExported:
            guard let b = Body.IncidentExported(f) else { break }
            state.exports[e.id] = IncidentExport(
                id: e.id, incident: b.incident, org: e.org, level: b.level, recipient: b.recipient, exportedAt: p.occurredAt, author: p.author)
        case .alertIssued:
            guard let b = Body.AlertIssued(f) else { break }
            alertBase[e.id] = Alert(
                id: e.id, org: e.org, incident: b.incident, zone: b.zone, text: b.text, issuedAt: p.occurredAt, expiresAt: b.expires ?? p.occurredAt,
                withdrawn: false)
            effect = .alert
            updateAlert(e.id)
        case .alertWithdrawn:
            guard let b = Body.AlertWithdrawn(f) else { break }
            withdrawals[b.alert, default: [:]][e.id] = e.org
            effect = .withdrawal(alert: b.alert)
            updateAlert(b.alert)
        case .safeguardingRaised:
            guard let b = Body.SafeguardingRaised(f) else { break }
            let (raw, canonical) = mentioned(b.person)
            state.safeguarding[e.id] = Safeguarding(
                id: e.id, org: e.org, person: canonical, recordedPerson: raw, category: b.category, action: b.action?.clear,
                withConsent: b.withConsent, reason: b.reason?.clear, occurredAt: p.occurredAt)
        case .registerSet:
            guard let b = Body.RegisterSet(f) else { break }
            _ = mentioned(b.person)
            registerWrites[b.person, default: [:]][b.register, default: [:]][e.id] = Fold.write(o, value: b.value, reason: b.reason?.clear, review: b.review)
            effect = .register(person: b.person, b.register)
            touch(b.person)
        case .zoneDefined:
            guard let b = Body.ZoneDefined(f) else { break }
            zoneDefinitions[b.zone, default: [:]][e.id] = ZoneDefinition(at: p.occurredAt, label: b.label)
            effect = .zone(b.zone)
            updateZone(b.zone)
        case .retentionSet:
            guard let b = Body.RetentionSet(f) else { break }
            retentionPolicies[e.org, default: [:]][e.id] = RetentionPolicy(id: e.id, org: e.org, months: b.months, at: p.occurredAt, by: p.author)
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
