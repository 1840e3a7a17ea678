import Foundation

/// A fold written down and read back (the state snapshot's content, `Protocol/fold.md` §5): the
/// records, the people as merged, and what the fold keeps to change them later, in parts (the
/// contacts in pages, and the rest). What follows cheaply from those (shown alerts and summaries,
/// outcomes, cuts, codes, register writes by merged person) is worked out again on reading.
extension Fold {
    static let snapshotVersion: UInt32 = 11

    /// Everything else.
    func encodedCore() -> Data {
        var w = SnapshotWriter()
        w.version(Fold.snapshotVersion)
        w.list(state.referrals.values) { w, r in
            w.id(r.id); w.word(r.org); w.word(r.person); w.word(r.recordedPerson); w.id(r.contact); w.word(r.destination); w.word(r.method)
            w.int(r.occurredAt)
        }
        w.list(state.incidents.values) { w, i in
            w.id(i.id); w.word(i.org); w.word(i.person); w.word(i.recordedPerson); w.word(i.kind); w.word(i.zone); w.word(i.offender)
            w.word(i.vehicle); w.word(i.handle); w.word(i.consent.rawValue); w.word(i.note); w.int(i.occurredAt); w.word(i.author)
            w.word(i.sealedNote?.keyID); w.word(i.sealedNote?.box.base64EncodedString())
        }
        w.list(state.taskingActions.values) { w, t in
            w.id(t.id); w.word(t.org); w.word(t.person); w.word(t.recordedPerson); w.word(t.action); w.word(t.owner); w.int(t.due); w.int(t.agreedAt)
        }
        w.list(state.exports.values) { w, x in
            w.id(x.id); w.id(x.incident); w.word(x.org); w.word(x.level.rawValue); w.word(x.recipient); w.int(x.exportedAt); w.word(x.author)
        }
        w.list(state.safeguarding.values) { w, s in
            w.id(s.id); w.word(s.org); w.word(s.person); w.word(s.recordedPerson); w.word(s.category); w.word(s.action)
            w.bool(s.withConsent); w.word(s.reason); w.int(s.occurredAt)
        }
        w.list(state.retracted) { w, id in w.id(id) }
        w.list(applied.compactMap { $0.value == .unknown ? $0.key : nil }) { w, id in w.id(id) }
        w.int(Int64(state.unreadable))

        w.list(amendments.values) { w, a in
            w.id(a.envelope.id); w.dot(a.envelope.dot); w.word(a.envelope.org); w.word(a.envelope.scope.rawValue); w.id(a.target)
            w.bool(a.correction != nil); if let c = a.correction { w.write(c) }
        }
        w.list(revocations) { w, r in w.id(r.key); w.word(r.value.notice.replica.rawValue); w.int(Int64(r.value.notice.upTo)); w.word(r.value.org) }
        w.list(replicaOrg) { w, r in w.word(r.key.rawValue); w.word(r.value) }
        w.list(notes.flatMap { c in c.value.map { (c.key, $0.key, $0.value) } }) { w, n in w.id(n.0); w.id(n.1); w.text(n.2) }
        w.list(outcomes.values.flatMap(\.values)) { w, o in w.write(o) }
        w.list(outcomes.flatMap { r in r.value.keys.map { (r.key, $0) } }) { w, o in w.id(o.0); w.id(o.1) }
        w.list(done.flatMap { a in a.value.map { (a.key, $0) } }) { w, d in w.id(d.0); w.id(d.1) }
        w.list(withdrawals.flatMap { a in a.value.map { (a.key, $0.key, $0.value) } }) { w, x in w.id(x.0); w.id(x.1); w.word(x.2) }
        w.list(alertBase.values) { w, a in
            w.id(a.id); w.word(a.org); w.id(a.incident); w.word(a.zone); w.text(a.text); w.int(a.issuedAt); w.int(a.expiresAt)
        }
        w.list(zoneDefinitions.flatMap { z in z.value.map { (z.key, $0.key, $0.value) } }) { w, z in w.word(z.0); w.id(z.1); w.int(z.2.at); w.word(z.2.label) }
        w.list(summaryCandidates.values.flatMap(\.values)) { w, s in
            w.id(s.id); w.id(s.incident); w.word(s.org); w.word(s.kind); w.word(s.consent.rawValue); w.int(s.occurredAt)
        }
        w.list(registrations.flatMap { p in p.value.map { (p.key, $0.key, $0.value) } }) { w, r in
            w.word(r.0); w.id(r.1); w.word(r.2.org); w.word(r.2.name); w.word(r.2.descriptor); w.word(r.2.note); w.int(r.2.at)
            w.word(r.2.key?.base64EncodedString())
        }
        w.list(profileWrites.flatMap { p in p.value.values.map { (p.key, $0) } }) { w, p in w.word(p.0); w.write(p.1) }
        w.list(registerWrites.flatMap { p in p.value.flatMap { r in r.value.values.map { (p.key, r.key, $0) } } }) { w, x in
            w.word(x.0); w.word(x.1.rawValue); w.write(x.2)
        }
        w.list(links) { w, l in w.id(l.key); w.word(l.value.a); w.word(l.value.b) }
        w.list(erasures.flatMap { p in p.value.values.map { (p.key, $0) } }) { w, x in
            w.word(x.0); w.id(x.1.id); w.word(x.1.org); w.int(x.1.at); w.word(x.1.by); w.text(x.1.reason); w.int(Int64(x.1.events))
        }
        w.list(identityErasures.flatMap { p in p.value.values.map { (p.key, $0) } }) { w, x in w.word(x.0); w.int(x.1.at); w.id(x.1.id); w.word(x.1.org) }
        w.list(retentionPolicies.values.flatMap(\.values)) { w, r in w.id(r.id!); w.word(r.org); w.int(Int64(r.months)); w.int(r.at); w.word(r.by) }
        w.list(firstMention) { w, m in w.word(m.key); w.int(m.value.at); w.id(m.value.id); w.word(m.value.org) }
        w.list(state.lastContacts) { w, l in w.word(l.key); w.int(l.value.at); w.word(l.value.org); w.id(l.value.contact) }
        // People as merged (working them out again for 20k people costs more than reading them).
        w.list(state.canonicalID) { w, c in w.word(c.key); w.word(c.value) }
        w.list(state.people.values) { w, p in
            w.word(p.id); w.word(p.org); w.word(p.name); w.word(p.descriptor); w.word(p.note); w.int(p.registeredAt); w.words(p.aliases)
            w.list(p.registers.sorted { $0.key.rawValue < $1.key.rawValue }) { w, r in w.word(r.key.rawValue); w.list(r.value.live) { $0.write($1) } }
            w.bool(p.profile != nil)
            if let profile = p.profile { w.list(profile.live) { $0.write($1) } }
            w.id(p.erased?.id)
            w.list(p.erasedBy) { w, e in w.word(e.key); w.int(e.value) }
        }
        state.keys.encode(&w)
        w.list(state.distinct) { w, d in w.id(d.key); w.word(d.value.a); w.word(d.value.b) }
        return w.data
    }

    /// Reads a fold back from its core and every contact page; without pages, a fold that holds
    /// no contacts (`contactsLoaded` false) until some are `insert`ed.
    init(core data: Data, contacts: [Data]?) throws {
        let bad = FieldlogError.malformed("damaged state snapshot")
        let pages = try contacts?.map(Fold.decodeContacts)
        contactsLoaded = pages != nil
        var r = try SnapshotReader(data)
        guard try r.version() == Fold.snapshotVersion else { throw FieldlogError.malformed("state snapshot of another version") }
        func consent(_ s: String) throws -> ConsentLevel { guard let c = ConsentLevel(rawValue: s) else { throw bad }; return c }
        for x in try r.list({ r in
            Referral(id: try r.id(), org: try r.word(), person: try r.optionalWord(), recordedPerson: try r.optionalWord(), contact: try r.optionalID(),
                     destination: try r.word(), method: try r.word(), occurredAt: try r.int())
        }) { state.referrals[x.id] = x }
        for i in try r.list({ r -> Incident in
            var i = Incident(id: try r.id(), org: try r.word(), person: try r.optionalWord(), recordedPerson: try r.optionalWord(), kind: try r.word(),
                             zone: try r.optionalWord(), offender: try r.optionalWord(), vehicle: try r.optionalWord(), handle: try r.optionalWord(),
                             consent: try consent(try r.word()), note: try r.optionalWord(), occurredAt: try r.int(), author: try r.word())
            let keyID = try r.optionalWord(), box = try r.optionalWord()
            if let keyID, let box = box.flatMap({ Data(base64Encoded: $0) }) { i.sealedNote = SealedText(keyID: keyID, box: box) }
            return i
        }) { state.incidents[i.id] = i }
        for t in try r.list({ r in
            TaskingAction(id: try r.id(), org: try r.word(), person: try r.word(), recordedPerson: try r.word(), action: try r.word(),
                          owner: try r.optionalWord(), due: try r.optionalInt(), agreedAt: try r.int())
        }) { state.taskingActions[t.id] = t }
        for x in try r.list({ r in
            IncidentExport(id: try r.id(), incident: try r.id(), org: try r.word(), level: try consent(try r.word()), recipient: try r.optionalWord(),
                           exportedAt: try r.int(), author: try r.word())
        }) { state.exports[x.id] = x }
        for s in try r.list({ r in
            Safeguarding(id: try r.id(), org: try r.word(), person: try r.optionalWord(), recordedPerson: try r.optionalWord(), category: try r.word(),
                         action: try r.optionalWord(), withConsent: try r.bool(), reason: try r.optionalWord(), occurredAt: try r.int())
        }) { state.safeguarding[s.id] = s }
        state.retracted = Set(try r.list { try $0.id() })
        for id in try r.list({ try $0.id() }) { applied[id] = .unknown }
        state.unknownTypes = applied.count
        state.unreadable = Int(try r.int())

        for a in try r.list({ r in
            let envelope = Envelope(id: try r.id(), dot: try r.dot(), org: try r.word(), scope: Scope(try r.word()))
            return Amendment(envelope: envelope, target: try r.id(), correction: try r.bool() ? try r.write() : nil)
        }) {
            amendments[a.envelope.id] = a
            amendmentsOf[a.target, default: []].insert(a.envelope.id)
        }
        for (id, x) in try r.list({ r in
            (try r.id(), Revocation(notice: Authority.Revocation(replica: try ReplicaID(try r.word()) ?? { throw bad }(), upTo: UInt64(clamping: try r.int())),
                                    org: try r.word()))
        }) { revocations[id] = x }
        for (replica, org) in try r.list({ r in (try ReplicaID(try r.word()) ?? { throw bad }(), try r.word()) }) { replicaOrg[replica] = org }
        for (c, id, text) in try r.list({ r in (try r.id(), try r.id(), try r.text()) }) {
            notes[c, default: [:]][id] = text
            applied[id] = .note(contact: c)
        }
        let outcomeWrites = Dictionary(try r.list { try $0.write() }.map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
        for (referral, id) in try r.list({ r in (try r.id(), try r.id()) }) {
            guard let write = outcomeWrites[id] else { throw bad }
            outcomes[referral, default: [:]][id] = write
            applied[id] = .outcome(referral: referral)
        }
        for (action, id) in try r.list({ r in (try r.id(), try r.id()) }) {
            done[action, default: []].insert(id)
            applied[id] = .done(action: action)
        }
        for (alert, id, org) in try r.list({ r in (try r.id(), try r.id(), try r.word()) }) {
            withdrawals[alert, default: [:]][id] = org
            applied[id] = .withdrawal(alert: alert)
        }
        for a in try r.list({ r in
            Alert(id: try r.id(), org: try r.word(), incident: try r.optionalID(), zone: try r.optionalWord(), text: try r.text(),
                  issuedAt: try r.int(), expiresAt: try r.int(), withdrawn: false)
        }) {
            alertBase[a.id] = a
            applied[a.id] = .alert
        }
        for (zone, id, def) in try r.list({ r in (try r.word(), try r.id(), ZoneDefinition(at: try r.int(), label: try r.optionalWord())) }) {
            zoneDefinitions[zone, default: [:]][id] = def
            applied[id] = .zone(zone)
        }
        for s in try r.list({ r in
            IncidentSummary(id: try r.id(), incident: try r.id(), org: try r.word(), kind: try r.word(), consent: try consent(try r.word()),
                            occurredAt: try r.int())
        }) {
            let key = IncidentSummary.Key(org: s.org, incident: s.incident)
            summaryCandidates[key, default: [:]][s.id] = s
            applied[s.id] = .summary(key)
        }
        let registered = try r.list({ r in
            (try r.word(), try r.id(), Registration(org: try r.word(), name: try r.optionalWord(), descriptor: try r.optionalWord(),
                                                    note: try r.optionalWord(), at: try r.int(),
                                                    key: try r.optionalWord().flatMap { Data(base64Encoded: $0) }))
        })
        registrations.reserveCapacity(registered.count)
        // (Room for the entries still to come, which grow with the people: each registration, and
        // about as many again of profile writes, register writes and links, counted generously.)
        applied.reserveCapacity(applied.count + 4 * registered.count)
        for (person, id, reg) in registered {
            registrations[person, default: [:]][id] = reg
            if let key = reg.personKey { state.personKeys[key.id] = reg.key }
            applied[id] = .registration(person: person)
        }
        for (person, write) in try r.list({ r in (try r.word(), try r.write()) }) {
            profileWrites[person, default: [:]][write.eventID] = write
            applied[write.eventID] = .profile(person: person)
        }
        for (person, name, write) in try r.list({ r in (try r.word(), try r.word(), try r.write()) }) {
            guard let register = Register(rawValue: name) else { throw bad }
            registerWrites[person, default: [:]][register, default: [:]][write.eventID] = write
            applied[write.eventID] = .register(person: person, register)
        }
        for (id, link) in try r.list({ r in (try r.id(), Link(a: try r.word(), b: try r.word())) }) {
            links[id] = link
            applied[id] = .link
        }
        var erasureByID = [EventID: Erasure]()
        for (person, e) in try r.list({ r in
            (try r.word(), Erasure(id: try r.id(), org: try r.word(), at: try r.int(), by: try r.word(), reason: try r.text(), events: Int(try r.int())))
        }) {
            erasures[person, default: [:]][e.id] = e
            erasureByID[e.id] = e
            applied[e.id] = .erasure(person: person)
        }
        state.erasures = erasureByID
        for (person, m) in try r.list({ r in (try r.word(), Mention(at: try r.int(), id: try r.id(), org: try r.word())) }) {
            identityErasures[person, default: [:]][m.id] = m
            applied[m.id] = .identityErasure(person: person)
        }
        for policy in try r.list({ r in
            RetentionPolicy(id: try r.id(), org: try r.word(), months: Int(try r.int()), at: try r.int(), by: try r.word())
        }) {
            retentionPolicies[policy.org, default: [:]][policy.id!] = policy
            applied[policy.id!] = .retention(org: policy.org)
        }
        // (The tables of a large state hold one entry a person: room made first, not grown.)
        let mentions = try r.list({ r in (try r.word(), Mention(at: try r.int(), id: try r.id(), org: try r.word())) })
        firstMention.reserveCapacity(mentions.count)
        for (person, m) in mentions { firstMention[person] = m }
        let lasts = try r.list({ r in (try r.word(), LastContact(at: try r.int(), org: try r.word(), contact: try r.id())) })
        state.lastContacts.reserveCapacity(lasts.count)
        for (person, last) in lasts { state.lastContacts[person] = last }
        let roots = try r.list({ r in (try r.word(), try r.word()) })
        state.canonicalID.reserveCapacity(roots.count)
        members.reserveCapacity(roots.count)
        for (id, root) in roots {
            state.canonicalID[id] = root
            members[root, default: []].insert(id)
        }
        let people = try r.list({ r -> Person in
            var p = Person(id: try r.word(), org: try r.word())
            p.name = try r.optionalWord(); p.descriptor = try r.optionalWord(); p.note = try r.optionalWord()
            p.registeredAt = try r.optionalInt(); p.aliases = try r.words()
            for (name, live) in try r.list({ r in (try r.word(), try r.list { try $0.write() }) }) {
                guard let register = Register(rawValue: name) else { throw bad }
                p.registers[register] = RegisterState(live: live)
            }
            if try r.bool() { p.profile = RegisterState(live: try r.list { try $0.write() }) }
            p.erased = try r.optionalID().flatMap { erasureByID[$0] }
            for (org, at) in try r.list({ r in (try r.word(), try r.int()) }) { p.erasedBy[org] = at }
            return p
        })
        state.people.reserveCapacity(people.count)
        for p in people { state.people[p.id] = p }
        state.keys = try KeyFacts(reading: &r)
        for (id, a, b) in try r.list({ r in (try r.id(), try r.word(), try r.word()) }) {
            state.distinct[id] = PersonPair(a, b)
            applied[id] = .distinct
        }
        guard r.isAtEnd else { throw bad }

        // What follows from the above.
        cuts = honouredCuts
        if let pages { insert(Array(pages.joined())) }
        for r in outcomes.keys { updateOutcome(r) }
        for (a, ids) in done where !ids.isEmpty { state.taskingActions[a]?.done = true }
        for a in alertBase.keys { updateAlert(a) }
        for key in summaryCandidates.keys { updateSummary(key) }
        for zone in zoneDefinitions.keys { updateZone(zone) }
        for org in retentionPolicies.keys { updateRetention(org) }
        for id in profileWrites.keys { profileCodes[id] = code(of: id) }
        for (id, registers) in registerWrites {
            for (register, writes) in registers { state.registerWrites[canonical(id), default: [:]][register, default: []] += writes.values }
        }
        for (root, registers) in state.registerWrites {
            for register in registers.keys { state.registerWrites[root]![register]!.sort { $0.eventID < $1.eventID } }
        }
    }
}
