import Foundation

/// People: registrations, mentions, profiles and register writes per person id as recorded;
/// links and matching partnership codes join ids into one person under the smallest id.
extension Fold {
    struct Registration: Sendable, Equatable {
        let org: String
        let name: String?
        let descriptor: String?
        let note: String?
        let at: Int64
        /// Her own key (32 bytes), for text sealed to her (`SealedText`); none before 0.3.
        let key: Data?
        var personKey: ScopeKey? { key.map { ScopeKey(key: .init(data: $0)) } }
    }

    struct Link: Sendable, Equatable {
        let a: String
        let b: String
    }

    /// An event naming a person; the earliest (time, then id) gives an unregistered person's organisation.
    struct Mention: Sendable, Equatable, Comparable {
        let at: Int64
        let id: EventID
        let org: String
        static func < (x: Mention, y: Mention) -> Bool { (x.at, x.id) < (y.at, y.id) }
    }

    func canonical(_ id: String) -> String { state.canonicalID[id] ?? id }

    /// Whether a live event other than a link names `id`.
    func hasMaterial(_ id: String) -> Bool {
        !(registrations[id] ?? [:]).isEmpty || firstMention[id] != nil || !(profileWrites[id] ?? [:]).isEmpty || erasures[id] != nil
            || identityErasures[id] != nil
            || (registerWrites[id] ?? [:]).values.contains { !$0.isEmpty }
    }

    func isLinked(_ id: String) -> Bool { links.values.contains { $0.a == id || $0.b == id } }

    /// Something about `id` changed: its person is worked out again.
    mutating func touch(_ id: String) {
        if state.canonicalID[id] == nil {
            guard hasMaterial(id) else { return }
            state.canonicalID[id] = id
            members[id, default: []].insert(id)
        }
        rebuildGroup(canonical(id))
    }

    mutating func mention(_ id: String, _ m: Mention) {
        if let seen = firstMention[id], seen < m { return }
        firstMention[id] = m
        touch(id)
    }

    /// `event` no longer names `id`: if it was the earliest mention, the next one is looked for.
    mutating func unmention(_ id: String?, _ event: EventID) {
        guard let id, firstMention[id]?.id == event else { return }
        firstMention[id] = mentions(of: id).min()
        touch(id)
    }

    /// Every live event naming `id`, from the state's tables (only when the earliest goes).
    func mentions(of id: String) -> [Mention] {
        var out = [Mention]()
        for c in state.contacts.values where c.recordedPerson == id { out.append(Mention(at: c.occurredAt, id: c.id, org: c.org)) }
        for r in state.referrals.values where r.recordedPerson == id { out.append(Mention(at: r.occurredAt, id: r.id, org: r.org)) }
        for i in state.incidents.values where i.recordedPerson == id { out.append(Mention(at: i.occurredAt, id: i.id, org: i.org)) }
        for s in state.safeguarding.values where s.recordedPerson == id { out.append(Mention(at: s.occurredAt, id: s.id, org: s.org)) }
        for t in state.taskingActions.values where t.recordedPerson == id { out.append(Mention(at: t.agreedAt, id: t.id, org: t.org)) }
        for writes in (registerWrites[id] ?? [:]).values {
            for w in writes.values { out.append(Mention(at: w.occurredAt, id: w.eventID, org: w.org)) }
        }
        return out
    }

    /// The partnership code `id`'s own profile gives (one live write), if any.
    func code(of id: String) -> String? {
        guard let writes = profileWrites[id], !writes.isEmpty else { return nil }
        return RegisterState(writes: Array(writes.values)).value?["code"]?.stringValue
    }

    mutating func profileChanged(_ id: String) {
        if profileCodes[id] != code(of: id) {
            profileCodes[id] = code(of: id)
            rebuildUnions()
        }
        touch(id)
    }

    /// Works out again which ids are one person (links and codes are few: this is cheap), and
    /// rebuilds the people and records whose person changed.
    mutating func rebuildUnions() {
        var known = Set(firstMention.keys)
        for (id, r) in registrations where !r.isEmpty { known.insert(id) }
        for (id, w) in profileWrites where !w.isEmpty { known.insert(id) }
        for (id, e) in erasures where !e.isEmpty { known.insert(id) }
        for (id, e) in identityErasures where !e.isEmpty { known.insert(id) }
        for (id, w) in registerWrites where w.values.contains(where: { !$0.isEmpty }) { known.insert(id) }
        for l in links.values { known.insert(l.a); known.insert(l.b) }
        var unions = UnionFind()
        for id in known { unions.add(id) }
        for l in links.values { unions.union(l.a, l.b) }
        var byCode = [String: [String]]()
        for (id, code) in profileCodes where known.contains(id) { byCode[code, default: []].append(id) }
        for ids in byCode.values { for other in ids.dropFirst() { unions.union(ids[0], other) } }

        var changed = Set<String>()
        for id in known where state.canonicalID[id] != unions.find(id) { changed.insert(id) }
        for id in state.canonicalID.keys where !known.contains(id) { changed.insert(id) }
        regroup(changed) { known.contains($0) ? unions.find($0) : nil }
    }

    /// A link added: the groups of `a` and `b` become one under the smaller root, and no one
    /// else changes (a link only joins; taking one out, or a changed code, takes
    /// `rebuildUnions`). The state is the one `rebuildUnions` would make, without going over
    /// every person: that was a tenth of `people` after a link at a million events.
    mutating func join(_ a: String, _ b: String) {
        let ra = canonical(a), rb = canonical(b)
        let root = min(ra, rb)
        let group = (members[ra] ?? []).union(members[rb] ?? []).union([a, b])
        regroup(group.filter { state.canonicalID[$0] != root }) { _ in root }
    }

    /// Moves each of `changed` to the group `root(id)` gives (nil: no group, it is no longer
    /// known), then rebuilds the groups it left and joined, and the records naming it.
    private mutating func regroup(_ changed: Set<String>, root: (String) -> String?) {
        guard !changed.isEmpty else { return }
        var roots = Set<String>()
        for id in changed {
            if let old = state.canonicalID[id] {
                roots.insert(old)
                members[old]?.remove(id)
                if members[old]?.isEmpty == true { members[old] = nil }
            }
            if let new = root(id) {
                state.canonicalID[id] = new
                members[new, default: []].insert(id)
                roots.insert(new)
            } else {
                state.canonicalID[id] = nil
            }
        }
        for root in roots { rebuildGroup(root) }
        recanonicalise(changed)
    }

    /// Records naming one of `ids` take their (new) canonical person.
    mutating func recanonicalise(_ ids: Set<String>) {
        func affected(_ person: String?) -> Bool { person.map(ids.contains) ?? false }
        for id in state.contacts.compactMap({ affected($0.value.recordedPerson) ? $0.key : nil }) {
            state.contacts[id]!.person = state.contacts[id]!.recordedPerson.map(canonical)
        }
        for id in state.referrals.compactMap({ affected($0.value.recordedPerson) ? $0.key : nil }) {
            state.referrals[id]!.person = state.referrals[id]!.recordedPerson.map(canonical)
        }
        for id in state.incidents.compactMap({ affected($0.value.recordedPerson) ? $0.key : nil }) {
            state.incidents[id]!.person = state.incidents[id]!.recordedPerson.map(canonical)
        }
        for id in state.safeguarding.compactMap({ affected($0.value.recordedPerson) ? $0.key : nil }) {
            state.safeguarding[id]!.person = state.safeguarding[id]!.recordedPerson.map(canonical)
        }
        for id in state.taskingActions.compactMap({ affected($0.value.recordedPerson) ? $0.key : nil }) {
            state.taskingActions[id]!.person = canonical(state.taskingActions[id]!.recordedPerson)
        }
    }

    /// One person from every id of the group: the registering organisation's details (of two
    /// registrations, the earlier, then the smaller id), aliases, the profile and the registers.
    mutating func rebuildGroup(_ root: String) {
        var ids = members[root] ?? []
        // An id no live event names any more leaves, as a fold from scratch would never have seen it.
        for id in ids where !hasMaterial(id) && !isLinked(id) {
            ids.remove(id)
            state.canonicalID[id] = nil
        }
        members[root] = ids.isEmpty ? nil : ids
        var merged: Person?
        for id in ids.sorted() {
            guard let p = basePerson(id) else { continue }
            if merged == nil {
                if id == root { merged = p } else { merged = Person(id: root, org: p.org); merged!.absorb(p) }
            } else {
                merged!.absorb(p)
            }
        }
        var registers = [Register: [RegisterWrite]]()
        for id in ids {
            for (register, writes) in registerWrites[id] ?? [:] where !writes.isEmpty { registers[register, default: []] += writes.values }
        }
        for register in registers.keys { registers[register]!.sort { $0.eventID < $1.eventID } }
        if merged == nil, !registers.isEmpty { merged = Person(id: root, org: registers.values.joined().map(\.org).min() ?? "") }
        let profile = ids.flatMap { (profileWrites[$0] ?? [:]).values }
        if !profile.isEmpty { merged?.profile = RegisterState(writes: profile) }
        for (register, writes) in registers { merged?.registers[register] = RegisterState(writes: writes) }
        state.people[root] = merged
        state.registerWrites[root] = registers.isEmpty ? nil : registers
    }

    /// `id` on its own, before any merge, with the organisations that erased their record of it.
    func basePerson(_ id: String) -> Person? {
        var p = identifiedPerson(id)
        if let marks = identityErasures[id], !marks.isEmpty {
            if p == nil { p = Person(id: id, org: marks.values.min()!.org) }
            for m in marks.values where (p!.erasedBy[m.org] ?? .max) > m.at { p!.erasedBy[m.org] = m.at }
        }
        return p
    }

    func identifiedPerson(_ id: String) -> Person? {
        // The earliest erasure (time, then id); what identified her is gone from every record.
        if let erasure = erasures[id]?.values.min(by: { ($0.at, $0.id) < ($1.at, $1.id) }) {
            var p = Person(id: id, org: erasure.org)
            p.erased = erasure
            return p
        }
        if let regs = registrations[id], let first = regs.min(by: { ($0.value.at, $0.key) < ($1.value.at, $1.key) }) {
            var p = Person(id: id, org: first.value.org)
            p.name = first.value.name
            p.descriptor = first.value.descriptor
            p.note = first.value.note
            p.registeredAt = first.value.at
            return p
        }
        if let m = firstMention[id] { return Person(id: id, org: m.org) }
        if let writes = profileWrites[id], let org = writes.values.map(\.org).min() { return Person(id: id, org: org) }
        return nil
    }
}

extension Person {
    /// Takes in another record of the same person (a link or matching code).
    mutating func absorb(_ other: Person) {
        if other.id != id { aliases.append(other.id) }
        aliases.append(contentsOf: other.aliases)
        aliases = Array(Set(aliases)).sorted()
        // The registering organisation's details win over a bare record; between two
        // registrations the earlier one (then the smaller id) gives the name shown.
        if erased == nil, let e = other.erased, name == nil { erased = e }
        for (org, at) in other.erasedBy where (erasedBy[org] ?? .max) > at { erasedBy[org] = at }
        let otherFirst = (other.registeredAt ?? .max, other.id) < (registeredAt ?? .max, id)
        if name == nil || (other.name != nil && otherFirst) {
            name = other.name ?? name
            descriptor = other.descriptor ?? descriptor
            note = other.note ?? note
            org = other.org
            registeredAt = other.registeredAt ?? registeredAt
        }
    }
}
