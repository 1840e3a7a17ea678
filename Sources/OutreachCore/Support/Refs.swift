/// Short references, like git's abbreviated hashes: the shortest unique prefix of an id.
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
