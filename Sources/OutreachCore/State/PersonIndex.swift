import Foundation

/// Who a ref or a working name names, and the partnership's zones: read from the one fold's
/// state (`StateSnapshot.Part.withoutContacts`: no contact read), never from events.
///
/// Every person id the fold knows resolves (an alias too: the id as recorded, which the fold
/// merges); a working name resolves to the merged person that carries it (names are present
/// only for this laptop's own organisation's people).
public struct PersonIndex: Sendable {
    /// Merged people by canonical id.
    public let people: [String: Person]
    /// Every person id known, alias or canonical → canonical.
    public let canonicalID: [String: String]
    /// The partnership's zones (`zone.defined`), by name, with their labels.
    public let zones: [String: String]
    /// Short refs of every person id known (lasting: `docs/refs.md`).
    public let refs: Refs
    /// The latest contact under each person id (worked out per person only for an error's list).
    let lastContacts: [String: LastContact]

    public init(_ state: FieldState) {
        people = state.people
        // (An id with no material but a link is in neither table; a merged person's aliases are.)
        var ids = state.canonicalID
        for p in state.people.values {
            ids[p.id] = p.id
            for a in p.aliases { ids[a] = p.id }
        }
        canonicalID = ids
        zones = state.zones
        refs = Refs(ids.keys, lasting: 4)
        lastContacts = state.lastContacts
    }

    /// Every person id known.
    public var ids: Dictionary<String, String>.Keys { canonicalID.keys }

    /// The person id a ref or working name names (as matched: an alias stays an alias).
    public func resolve(_ ref: String) throws -> String {
        try Refs.resolvePerson(ref, ids: Array(canonicalID.keys), names: people.compactMapValues(\.name), lastSeen: lastSeen(of:))
    }

    /// When the person `id` names (merged) was last seen, under any of her ids.
    public func lastSeen(of id: String) -> Int64? {
        let canonical = canonicalID[id] ?? id
        return ([canonical] + (people[canonical]?.aliases ?? [])).compactMap { lastContacts[$0]?.at }.max()
    }

    /// The merged person a ref or working name names.
    public func person(_ ref: String) throws -> Person {
        let id = try resolve(ref)
        return people[canonicalID[id] ?? id] ?? Person(id: id, org: "")
    }

    /// What a shell may complete `prefix` to: refs of everyone, and the working names of this
    /// laptop's own organisation's people, that start with it (sorted).
    public func completions(_ prefix: String) -> [String] {
        let p = prefix.lowercased()
        let names = people.values.compactMap(\.name).filter { $0.lowercased().hasPrefix(p) }
        let ids = canonicalID.keys.filter { $0.hasPrefix(p) }.map { refs.short($0) }
        return Array(Set(names + (p.isEmpty ? [] : ids))).sorted()
    }

    /// The zone as the partnership spells it. Until the partnership lists any zone, any name is
    /// taken as typed; after, only a listed one (with "did you mean"), so Z3 and z3 and Z33 stay
    /// apart in every report only when they really are different places.
    public func zone(_ typed: String) throws -> String {
        let name = typed.trimmingCharacters(in: .whitespaces)
        guard !zones.isEmpty else { return name }
        if let known = zones.keys.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) { return known }
        let guess = Suggest.phrase(name, among: Array(zones.keys)).map { ": \($0)" } ?? ""
        throw FieldlogError.badInput("unknown zone \"\(typed)\"\(guess)", hint: "the zones are: \(zones.keys.sorted().joined(separator: ", ")) (fieldlog zones)")
    }

    /// "Rose (7f3a)" or "joanna 7f3a": the merged person's working name, where this laptop has it.
    public func label(_ id: String) -> String {
        let ref = refs.short(id)
        guard let p = people[canonicalID[id] ?? id] else { return ref }
        return p.name.map { "\($0) (\(ref))" } ?? (p.erased != nil ? "erased \(ref)" : "\(p.org) \(ref)")
    }
}
