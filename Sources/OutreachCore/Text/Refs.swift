/// Short references, like git's abbreviated hashes: the shortest unique prefix of an id.
import Foundation

public struct Refs: Sendable {
    private let sorted: [String]
    public let minimumLength: Int

    public init<S: Sequence>(_ ids: S, minimumLength: Int) where S.Element == String {
        sorted = Array(Set(ids)).sorted()
        self.minimumLength = minimumLength
    }

    /// Refs that last (`docs/refs.md`): at least `floor` characters, and long enough that a ref
    /// printed today still names one record when the store holds ten times as many.
    public init<S: Sequence>(_ ids: S, lasting floor: Int) where S.Element == String {
        let unique = Array(Set(ids)).sorted()
        self.sorted = unique
        self.minimumLength = Refs.lastingLength(count: unique.count, floor: floor)
    }

    /// The shortest length L (at least `floor`) with 16^L ≥ 1,000 × count: a given ref then has a
    /// 99% chance to stay unique among ten times as many random ids (10 × count / 16^L ≤ 1%).
    public static func lastingLength(count: Int, floor: Int) -> Int {
        var length = floor
        var space = 1.0
        for _ in 0..<length { space *= 16 }
        while space < 1000 * Double(max(count, 1)) { length += 1; space *= 16 }
        return length
    }

    /// The ids that start with `prefix`.
    public func matches(_ prefix: String) -> [String] {
        var out = [String]()
        var i = firstIndex(atLeast: prefix)
        while i < sorted.count, sorted[i].hasPrefix(prefix) { out.append(sorted[i]); i += 1 }
        return out
    }

    /// The shortest prefix of `id` that no other id shares (at least `minimumLength`).
    public func short(_ id: String) -> String {
        let i = firstIndex(atLeast: id)
        guard i < sorted.count, sorted[i] == id else { return String(id.prefix(minimumLength)) }
        return Refs.shortest(id, neighbours: [i > 0 ? sorted[i - 1] : nil, i + 1 < sorted.count ? sorted[i + 1] : nil].compactMap { $0 },
                             minimumLength: minimumLength)
    }

    /// The shortest prefix of `id` (at least `minimumLength`) that its neighbours in sorted order
    /// (hence every other id) do not share.
    public static func shortest(_ id: String, neighbours: [String], minimumLength: Int) -> String {
        // Ids are ASCII (hex): bytes, not Characters (a person list shortens 20,000 of them).
        var need = minimumLength
        for neighbour in neighbours {
            let common = zip(id.utf8, neighbour.utf8).prefix { $0 == $1 }.count
            need = max(need, common + 1)
        }
        return need >= id.utf8.count ? id : String(decoding: id.utf8.prefix(need), as: UTF8.self)
    }

    /// The one id that starts with `prefix`.
    public func resolve(_ prefix: String, noun: String) throws -> String {
        let p = prefix.lowercased()
        guard !p.isEmpty else { throw FieldlogError(.unknownRef, "no \(noun) ref given") }
        let matches = self.matches(p)
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw FieldlogError(.unknownRef, "no \(noun) with ref \"\(prefix)\"", hint: noun == "person" ? "fieldlog people lists them" : "check the ref")
        }
        let shown = matches.prefix(5).map { short($0) }.joined(separator: ", ")
        throw FieldlogError(.ambiguousRef, "ref \"\(prefix)\" matches \(matches.count) \(noun == "person" ? "people" : noun + "s"): \(shown)",
                            hint: "type more characters")
    }

    private func firstIndex(atLeast key: String) -> Int {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

extension Refs {
    /// Resolves what a worker typed for a person: a ref (a unique start of the id), or else a
    /// working name, matched whole and case-insensitively. Two people of the same name are
    /// ambiguous, and the error lists their refs, names (for this laptop's own organisation's
    /// people) and the day each was last seen (`lastSeen`, by id), so a worker can tell them apart.
    public static func resolvePerson(_ typed: String, ids: [String], names: [String: String],
                                     lastSeen: (String) -> Int64? = { _ in nil }) throws -> String {
        let refs = Refs(ids, lasting: 4)
        func label(_ id: String) -> String {
            let named = names[id].map { "\(refs.short(id)) \($0)" } ?? refs.short(id)
            return lastSeen(id).map { "\(named) (last seen \(LondonTime().format($0).prefix(10)))" } ?? named
        }
        let isHex = !typed.isEmpty && typed.lowercased().utf8.allSatisfy { Hex.isLowerHexDigit($0) }
        var hexError: FieldlogError?
        if isHex {
            do { return try refs.resolve(typed, noun: "person") } catch let e as FieldlogError {
                if e.code == .ambiguousRef {
                    // A ref that has become ambiguous: the candidates, by name where this laptop knows it.
                    let matches = refs.matches(typed.lowercased())
                    throw FieldlogError(.ambiguousRef, "ref \"\(typed)\" now matches \(matches.count) people: " + matches.prefix(5).map(label).joined(separator: ", "),
                                        hint: "type more characters: the longer ref of the one you mean")
                }
                hexError = e
            }
        }
        let wanted = typed.trimmingCharacters(in: .whitespaces).lowercased()
        let named = names.filter { $0.value.lowercased() == wanted }.map(\.key).sorted()
        if named.count == 1 { return named[0] }
        if named.count > 1 {
            throw FieldlogError(.ambiguousRef, "\(named.count) people are called \(typed): " + named.map(label).joined(separator: ", "),
                                input: .person)
        }
        // Not a name: the people whose name starts with it, or the nearest names.
        let starting = names.filter { $0.value.lowercased().hasPrefix(wanted) && !wanted.isEmpty }.map(\.key).sorted()
        if !starting.isEmpty {
            throw FieldlogError(.unknownRef, "no person called \"\(typed)\"; did you mean " + starting.prefix(5).map(label).joined(separator: " or ") + "?",
                                hint: "type the name in full, or the ref")
        }
        if let guess = Suggest.phrase(wanted, among: Array(Set(names.values))) {
            throw FieldlogError(.unknownRef, "no person with ref or name \"\(typed)\"; \(guess)", hint: "fieldlog people lists them")
        }
        throw hexError ?? FieldlogError(.unknownRef, "no person with ref or name \"\(typed)\"", hint: "fieldlog people lists them")
    }
}
