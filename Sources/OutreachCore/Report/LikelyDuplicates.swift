import Foundation

/// Pairs of an organisation's own people who are probably the same woman registered twice (a
/// new worker who did not find her, a name spelt another way), for a coordinator to link or
/// dismiss (`fieldlog people --duplicates`; `docs/duplicates.md` has the rule). Only what the
/// organisation itself recorded is compared: the other charity's people carry no name here.
public struct LikelyDuplicate: Sendable, Equatable {
    public let first: Person
    public let second: Person
    /// 0 to 1: how alike the two records are (a pair is listed from `LikelyDuplicates.threshold`).
    public let score: Double
    /// What made them alike, in words: "same name", "names one letter apart", "descriptors share
    /// red, coat", "both seen mostly in Z3", "one first seen after the other was last seen".
    public let reasons: [String]
}

public enum LikelyDuplicates {
    /// A pair scoring below this is not listed.
    public static let threshold = 0.5

    /// What the finder knows of one person.
    struct Profile {
        let person: Person
        let name: String
        let words: Set<String>
        let zone: String?
        let first: Int64?
        let last: Int64?
    }

    /// The likely duplicates among `org`'s people in `state`, most alike first; pairs already
    /// linked (one person) or judged distinct (`persons.distinct`, not retracted) are left out.
    public static func find(in state: FieldState, org: String, limit: Int = 50) -> [LikelyDuplicate] {
        // Each person's usual zone and first and last contact, from one pass over the contacts.
        var zones = [String: [String: Int]]()
        var seen = [String: (first: Int64, last: Int64)]()
        for c in state.contacts.values {
            guard let p = c.person else { continue }
            if let z = c.zone { zones[p, default: [:]][z, default: 0] += 1 }
            let s = seen[p]
            seen[p] = (min(s?.first ?? .max, c.occurredAt), max(s?.last ?? .min, c.occurredAt))
        }
        let dismissed = Set(state.distinct.compactMap { id, pair in
            state.retracted.contains(id) ? nil : PersonPair(state.canonical(pair.a), state.canonical(pair.b))
        })
        var byInitial = [Character: [Profile]]()
        for person in state.people.values where person.org == org && person.erased == nil {
            let name = normalised(person.name ?? "")
            guard let initial = name.first else { continue }
            let usual = zones[person.id]?.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
            byInitial[initial, default: []].append(Profile(person: person, name: name, words: words(person.descriptor), zone: usual,
                                                           first: seen[person.id]?.first ?? person.registeredAt, last: seen[person.id]?.last))
        }
        // Names are compared within their first letter: a slip there is rarer than later in a
        // name, and it keeps thousands of people from being n² comparisons.
        var found = [LikelyDuplicate]()
        for group in byInitial.values {
            let sorted = group.sorted { $0.person.id < $1.person.id }
            for i in sorted.indices {
                for j in sorted.indices where j > i {
                    let x = sorted[i], y = sorted[j]
                    guard !dismissed.contains(PersonPair(x.person.id, y.person.id)),
                          let pair = compare(x, y) else { continue }
                    found.append(pair)
                }
            }
        }
        found.sort { ($0.score, $1.first.id, $1.second.id) > ($1.score, $0.first.id, $0.second.id) }
        return Array(found.prefix(limit))
    }

    /// Lower case, letters only ("Rosie-Lee" and "rosie lee" are one name).
    static func normalised(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { CharacterSet.letters.contains($0) }.map(Character.init))
    }

    /// A descriptor's words of three letters or more, less the commonest.
    static func words(_ text: String?) -> Set<String> {
        guard let text else { return [] }
        let common: Set<String> = ["and", "the", "with", "has", "her", "she", "wears", "wearing", "very", "long", "short"]
        return Set(text.lowercased().split { !$0.isLetter }.map(String.init).filter { $0.count >= 3 && !common.contains($0) })
    }

    static func compare(_ x: Profile, _ y: Profile) -> LikelyDuplicate? {
        var reasons = [String]()
        // The name carries most of it: without a near name nothing else makes a pair.
        let nameScore: Double
        if x.name == y.name {
            nameScore = 1; reasons.append("same name")
        } else {
            let d = Suggest.distance(x.name, y.name)
            let shorter = min(x.name.count, y.name.count)
            if d == 1 && shorter >= 3 {
                nameScore = 0.8; reasons.append("names one letter apart")
            } else if shorter >= 3 && (x.name.hasPrefix(y.name) || y.name.hasPrefix(x.name)) {
                nameScore = 0.7; reasons.append("one name starts the other")
            } else if d == 2 && shorter >= 5 {
                nameScore = 0.6; reasons.append("names two letters apart")
            } else {
                return nil
            }
        }
        var score = 0.5 * nameScore
        let shared = x.words.intersection(y.words)
        if !shared.isEmpty {
            score += 0.25 * Double(shared.count) / Double(x.words.union(y.words).count)
            reasons.append("descriptors share " + shared.sorted().prefix(3).joined(separator: ", "))
        }
        if let zone = x.zone, zone == y.zone {
            score += 0.15
            reasons.append("both seen mostly in \(zone)")
        }
        // A woman registered again is typically seen under the new record after the old one
        // stopped being seen; two records seen over the same weeks are more likely two women.
        func follows(_ later: Profile, _ earlier: Profile) -> Bool {
            guard let first = later.first, let last = earlier.last else { return false }
            return first > last
        }
        if follows(y, x) || follows(x, y) {
            score += 0.1; reasons.append("one first seen after the other was last seen")
        }
        guard score >= threshold else { return nil }
        return LikelyDuplicate(first: x.person, second: y.person, score: (score * 100).rounded() / 100, reasons: reasons)
    }
}
