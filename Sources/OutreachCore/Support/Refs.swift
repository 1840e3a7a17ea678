/// Short references, like git's abbreviated hashes: the shortest unique prefix of an id.
import Foundation

public struct Refs: Sendable {
    private let sorted: [String]
    public let minimumLength: Int

    public init<S: Sequence>(_ ids: S, minimumLength: Int) where S.Element == String {
        sorted = Array(Set(ids)).sorted()
        self.minimumLength = minimumLength
    }

    /// The shortest prefix of `id` that no other id shares (at least `minimumLength`).
    public func short(_ id: String) -> String {
        let i = firstIndex(atLeast: id)
        guard i < sorted.count, sorted[i] == id else { return String(id.prefix(minimumLength)) }
        var need = minimumLength
        for neighbour in [i > 0 ? sorted[i - 1] : nil, i + 1 < sorted.count ? sorted[i + 1] : nil].compactMap({ $0 }) {
            let common = zip(id, neighbour).prefix { $0 == $1 }.count
            need = max(need, common + 1)
        }
        return String(id.prefix(need))
    }

    /// The one id that starts with `prefix`.
    public func resolve(_ prefix: String, noun: String) throws -> String {
        let p = prefix.lowercased()
        guard !p.isEmpty else { throw FieldlogError(.unknownRef, "no \(noun) ref given") }
        var matches = [String]()
        var i = firstIndex(atLeast: p)
        while i < sorted.count, sorted[i].hasPrefix(p) {
            matches.append(sorted[i])
            i += 1
        }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw FieldlogError(.unknownRef, "no \(noun) with ref \"\(prefix)\"", hint: noun == "person" ? "fieldlog people lists them" : "check the ref")
        }
        let shown = matches.prefix(5).map { String($0.prefix(p.count + 2)) }.joined(separator: ", ")
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
    /// ambiguous, and the error lists their refs.
    public static func resolvePerson(_ typed: String, ids: [String], names: [String: String]) throws -> String {
        let refs = Refs(ids, minimumLength: 4)
        let isHex = !typed.isEmpty && typed.lowercased().utf8.allSatisfy { Hex.isLowerHexDigit($0) }
        var hexError: FieldlogError?
        if isHex {
            do { return try refs.resolve(typed, noun: "person") } catch let e as FieldlogError {
                if e.code == .ambiguousRef { throw e }
                hexError = e
            }
        }
        let wanted = typed.trimmingCharacters(in: .whitespaces).lowercased()
        let named = names.filter { $0.value.lowercased() == wanted }.map(\.key).sorted()
        if named.count == 1 { return named[0] }
        if named.count > 1 {
            throw FieldlogError(.ambiguousRef, "\(named.count) people are called \(typed): " + named.map { refs.short($0) }.joined(separator: ", "),
                                hint: "use the ref instead (fieldlog people --name \(typed))")
        }
        throw hexError ?? FieldlogError(.unknownRef, "no person with ref or name \"\(typed)\"", hint: "fieldlog people lists them")
    }
}
