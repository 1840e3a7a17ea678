import Foundation
@testable import OutreachCore

/// The fold as it was before it became incremental (session 3), kept as an oracle: the one fold
/// must agree with it on every history that avoids the two cases where it was wrong (a chain of
/// three retractions, which it read one level deep; two registrations of one id, where the
/// later-arrived won).
enum LegacyFold {
    /// Opens every event with `keyring` and folds them.
    static func fold(_ events: [Event], keyring: Keyring) -> FieldState {
        // Decrypting and parsing is half the work and independent per event: every core helps.
        let all = Parallel.map(count: events.count) { keyring.open(events[$0]) }
        let opened = all.compactMap { $0 }
        var state = fold(opened)
        state.unreadable = events.count - opened.count
        return state
    }

    /// Folds opened events. The result depends only on the set of events, not their order.
    static func fold(_ all: [OpenedEvent]) -> FieldState {
        // Revoked devices (trust.md §5a): their events after the cut never count, whatever
        // arrived first. A revocation is honoured from the revoked device's own organisation.
        let opened = withoutRevoked(all)
        var state = FieldState()
        state.contacts.reserveCapacity(opened.count)

        // 0. The events that retractions and corrections name, to apply the target rules of
        //    `Protocol/trust.md` §4: only the organisation that wrote an event may amend it.
        let amendments = opened.filter { $0.payload.eventType == .eventRetracted || $0.payload.eventType == .eventCorrected }
        let named = Set(amendments.compactMap { $0.payload.eventID("target") })
        var targets = [EventID: Event]()
        if !named.isEmpty { for o in opened where named.contains(o.event.id) { targets[o.event.id] = o.event } }
        /// The target `o` may amend, if it is held and of the writer's organisation and scope.
        func honouredTarget(_ o: OpenedEvent) -> EventID? {
            guard let id = o.payload.eventID("target"), let target = targets[id], Authority.mayAmend(targetOrg: target.org, targetScope: target.scope, writerOrg: o.event.org, writerScope: o.event.scope) else { return nil }
            return id
        }

        // 1. Retractions: a retraction counts unless it is itself retracted.
        let retractions = amendments.filter { $0.payload.eventType == .eventRetracted }.compactMap { o in honouredTarget(o).map { (o.event.id, $0) } }
        let retractionIDs = Set(retractions.map(\.0))
        let retractedRetractions = Set(retractions.map(\.1).filter(retractionIDs.contains))
        for (id, target) in retractions where !retractedRetractions.contains(id) { state.retracted.insert(target) }

        // 2. Corrections: the live correction of each target overlays its fields.
        var corrections = [EventID: [RegisterWrite]]()
        for o in amendments where o.payload.eventType == .eventCorrected && !state.retracted.contains(o.event.id) {
            guard let target = honouredTarget(o) else { continue }
            corrections[target, default: []].append(write(o, value: o.payload["fields"] ?? .object([:])))
        }
        func effective(_ o: OpenedEvent) -> OpenedEvent {
            guard let writes = corrections[o.event.id] else { return o }
            var payload = o.payload
            // Concurrent corrections: the one with the highest id applies (deterministic); both stay visible.
            if let chosen = RegisterState(writes: writes).live.last, let fields = chosen.value.objectValue {
                for (k, v) in fields where !Payload.envelopeKeys.contains(k) { payload.fields[k] = v }
                if let at = fields["at"]?.intValue { payload.occurredAt = at }
            }
            return OpenedEvent(event: o.event, payload: payload)
        }

        let live: [OpenedEvent]
        if state.retracted.isEmpty && corrections.isEmpty {
            live = opened
        } else {
            live = opened.compactMap { state.retracted.contains($0.event.id) ? nil : effective($0) }
        }

        // 3. People: registrations, then links and partnership codes merge ids.
        var links = UnionFind()
        var codes = [String: [String]]()
        var profileWrites = [String: [RegisterWrite]]()
        var firstMention = [String: (Int64, EventID, String)]()
        for o in live {
            let p = o.payload
            switch p.eventType {
            case .personRegistered:
                guard let id = p.string("person") else { continue }
                links.add(id)
                var person = state.people[id] ?? Person(id: id, org: o.event.org)
                person.org = o.event.org
                person.name = p.string("name")
                person.descriptor = p.string("descriptor")
                person.note = p.string("note")
                person.registeredAt = p.occurredAt
                state.people[id] = person
            case .personsLinked:
                if let a = p.string("a"), let b = p.string("b") { links.union(a, b) }
            case .personProfile:
                guard let id = p.string("person") else { continue }
                links.add(id)
                profileWrites[id, default: []].append(write(o, value: .object(p.fields.filter { $0.key != "person" })))
            default:
                // Someone known only from partnership events: their organisation is that of the
                // earliest mention by (time, event id), whatever order events arrived in.
                if let id = p.string("person") {
                    let mention = (p.occurredAt, o.event.id, o.event.org)
                    if let seen = firstMention[id], (seen.0, seen.1) <= (mention.0, mention.1) { continue }
                    firstMention[id] = mention
                }
            }
        }
        for (id, mention) in firstMention where state.people[id] == nil {
            links.add(id)
            state.people[id] = Person(id: id, org: mention.2)
        }
        for (id, writes) in profileWrites {
            if state.people[id] == nil { state.people[id] = Person(id: id, org: writes.map(\.org).min() ?? "") }
            let profile = RegisterState(writes: writes)
            state.people[id]!.profile = profile
            if let code = profile.value?["code"]?.stringValue { codes[code, default: []].append(id) }
        }
        for ids in codes.values { for other in ids.dropFirst() { links.union(ids[0], other) } }

        // Merge linked people into the canonical (smallest) id.
        var merged = [String: Person]()
        for id in state.people.keys.sorted() {  // sorted: the root (smallest id) first, then a fixed order
            let person = state.people[id]!
            let root = links.find(id)
            state.canonicalID[id] = root
            if var existing = merged[root] {
                existing.absorb(person)
                merged[root] = existing
            } else {
                var p = person
                if id != root { p = Person(id: root, org: person.org); p.absorb(person) }
                merged[root] = p
            }
        }
        state.people = merged
        // Ids known only from a link still map to their person (a contact may name them later).
        for id in links.members where state.canonicalID[id] == nil { state.canonicalID[id] = links.find(id) }
        // Merged people's profiles: all their writes together (grouped in one pass).
        var profilesByRoot = [String: [RegisterWrite]]()
        for (id, writes) in profileWrites { profilesByRoot[links.find(id), default: []] += writes }
        for (root, writes) in profilesByRoot { state.people[root]?.profile = RegisterState(writes: writes) }
        func canon(_ id: String?) -> String? { id.map { state.canonicalID[$0] ?? $0 } }

        // 4. Everything else.
        var outcomes = [EventID: [RegisterWrite]]()
        for o in live {
            let p = o.payload
            switch p.eventType {
            case .contactLogged:
                state.contacts[o.event.id] = Contact(
                    id: o.event.id, org: o.event.org, person: canon(p.string("person")), recordedPerson: p.string("person"),
                    unidentified: Int(p.int("unidentified") ?? 0), setting: Word(p.string("setting") ?? ""),
                    zone: p.string("zone"), workers: p.strings("workers"), welfare: p["welfare"]?.boolValue ?? false,
                    services: p.counts("services"), needs: p.strings("needs").map { Word($0) }, occurredAt: p.occurredAt, author: p.author)
            case .referralMade:
                state.referrals[o.event.id] = Referral(
                    id: o.event.id, org: o.event.org, person: canon(p.string("person")), recordedPerson: p.string("person"), contact: p.eventID("contact"),
                    destination: Word(p.string("destination") ?? ""), method: Word(p.string("method") ?? ""), occurredAt: p.occurredAt)
            case .referralOutcome:
                if let r = p.eventID("referral") { outcomes[r, default: []].append(write(o, value: p["outcome"] ?? .null)) }
            case .incidentReported:
                state.incidents[o.event.id] = Incident(
                    id: o.event.id, org: o.event.org, person: canon(p.string("person")), recordedPerson: p.string("person"), kind: Word(p.string("kind") ?? "other"),
                    zone: p.string("zone"), offender: p.string("offender"), vehicle: p.string("vehicle"), handle: p.string("handle"),
                    consent: p.consentLevel("consent"), note: p.string("note"),
                    occurredAt: p.occurredAt, author: p.author)
            case .incidentSummary:
                guard let incident = p.eventID("incident") else { continue }
                // One summary per (organisation, incident): one organisation's never displaces
                // another's; should there be two, the smallest id, whatever the order.
                let key = IncidentSummary.Key(org: o.event.org, incident: incident)
                if let seen = state.incidentSummaries[key], seen.id < o.event.id { continue }
                state.incidentSummaries[key] = IncidentSummary(
                    id: o.event.id, incident: incident, org: o.event.org, kind: Word(p.string("kind") ?? "other"),
                    consent: p.consentLevel("consent"), occurredAt: p.occurredAt)
            case .taskingAction:
                guard let person = canon(p.string("person")) else { continue }
                state.taskingActions[o.event.id] = TaskingAction(
                    id: o.event.id, org: o.event.org, person: person, recordedPerson: p.string("person")!, action: p.string("action") ?? "",
                    owner: p.string("owner"), due: p.int("due"), agreedAt: p.occurredAt)
            case .incidentExported:
                guard let incident = p.eventID("incident") else { continue }
                state.exports[o.event.id] = IncidentExport(
                    id: o.event.id, incident: incident, org: o.event.org,
                    level: p.consentLevel("level"), recipient: p.string("recipient"),
                    exportedAt: p.occurredAt, author: p.author)
            case .alertIssued:
                state.alerts[o.event.id] = Alert(
                    id: o.event.id, org: o.event.org, incident: p.eventID("incident"), zone: p.string("zone"),
                    text: p.string("text") ?? "", issuedAt: p.occurredAt, expiresAt: p.int("expires") ?? p.occurredAt, withdrawn: false)
            case .safeguardingRaised:
                state.safeguarding[o.event.id] = Safeguarding(
                    id: o.event.id, org: o.event.org, person: canon(p.string("person")), recordedPerson: p.string("person"), category: Word(p.string("category") ?? ""),
                    action: p.string("action"), withConsent: p["consent"]?.boolValue ?? true, reason: p.string("reason"),
                    occurredAt: p.occurredAt)
            case .registerSet:
                guard let person = canon(p.string("person")), let register = p.string("register").flatMap(Register.init(rawValue:)) else { continue }
                state.registerWrites[person, default: [:]][register, default: []].append(write(o, value: p["value"] ?? .null))
            case nil:
                state.unknownTypes += 1
            default:
                break
            }
        }
        // Notes, withdrawals and outcomes attach to what they name (if it is still there).
        for o in live {
            let p = o.payload
            switch p.eventType {
            case .contactNote:
                if let c = p.eventID("contact"), let text = p.string("text") { state.contacts[c]?.notes.append(text) }
            case .alertWithdrawn:
                // Only the organisation that issued an alert withdraws it (trust.md §4).
                if let a = p.eventID("alert"), let alert = state.alerts[a], Authority.mayActOn(targetOrg: alert.org, writerOrg: o.event.org) {
                    state.alerts[a]!.withdrawn = true
                }
            case .taskingDone:
                if let a = p.eventID("action") { state.taskingActions[a]?.done = true }
            default: break
            }
        }
        for id in state.contacts.keys { state.contacts[id]!.notes.sort() }
        // A referral's outcomes are recorded by the organisation that made it (trust.md §4).
        for (id, writes) in outcomes {
            guard let referral = state.referrals[id] else { continue }
            let own = writes.filter { Authority.mayActOn(targetOrg: referral.org, writerOrg: $0.org) }
            if !own.isEmpty { state.referrals[id]!.outcome = RegisterState(writes: own) }
        }
        // Alerts of a retracted incident go too (the incident's own organisation's), and retracted summaries.
        let incidentOrg = Dictionary(uniqueKeysWithValues: state.incidents.values.map { ($0.id, $0.org) })
        for (id, alert) in state.alerts where alert.incident.map(state.retracted.contains) == true {
            if incidentOrg[alert.incident!].map({ Authority.mayActOn(targetOrg: $0, writerOrg: alert.org) }) ?? true { state.alerts[id] = nil }
        }
        for (key, summary) in state.incidentSummaries where state.retracted.contains(key.incident) || state.retracted.contains(summary.id) {
            state.incidentSummaries[key] = nil
        }
        for (person, registers) in state.registerWrites {
            for register in registers.keys { state.registerWrites[person]![register]!.sort { $0.eventID < $1.eventID } }
            if state.people[person] == nil { state.people[person] = Person(id: person, org: registers.values.flatMap { $0 }.map(\.org).min() ?? "") }
            for (register, writes) in registers { state.people[person]!.registers[register] = RegisterState(writes: writes) }
        }
        return state
    }

    /// `opened` less the events of revoked devices written after their cut.
    static func withoutRevoked(_ opened: [OpenedEvent]) -> [OpenedEvent] {
        let notices = opened.filter { $0.payload.eventType == .deviceRevoked }
        guard !notices.isEmpty else { return opened }
        let named = Set(notices.compactMap { $0.payload.string("replica").flatMap(ReplicaID.init) })
        var orgOf = [ReplicaID: String]()
        for o in opened where named.contains(o.event.dot.replica) { orgOf[o.event.dot.replica] = o.event.org }
        var cuts = [ReplicaID: UInt64]()
        Authority.merge(notices.compactMap { Authority.revocation($0, orgOf: { orgOf[$0] }) }, into: &cuts)
        guard !cuts.isEmpty else { return opened }
        return opened.filter { !Authority.isRevoked($0.event.dot, cuts: cuts) }
    }

    static func write(_ o: OpenedEvent, value: JSONValue) -> RegisterWrite {
        RegisterWrite(eventID: o.event.id, dot: o.event.dot, context: o.event.context, value: value,
                      reason: o.payload.string("reason"), review: o.payload.int("review"),
                      occurredAt: o.payload.occurredAt, author: o.payload.author, org: o.event.org)
    }
}

