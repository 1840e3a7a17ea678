/// "Did you mean": the one or two words nearest to what was typed, for an error message.
public enum Suggest {
    /// Candidates that `typed` starts (or is a start of), else those within a small edit distance
    /// (a third of the word, at least 1; a swap of two letters counts as one), nearest first; at most `limit`.
    public static func nearest(_ typed: String, among candidates: [String], limit: Int = 2) -> [String] {
        let t = typed.lowercased()
        guard !t.isEmpty else { return [] }
        let prefixed = candidates.filter { $0.lowercased().hasPrefix(t) }.sorted()
        if !prefixed.isEmpty { return Array(prefixed.prefix(limit)) }
        let budget = max(1, t.count / 3)
        let scored = candidates.map { ($0, distance(t, $0.lowercased())) }.filter { $0.1 <= budget }
        return scored.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(limit).map(\.0)
    }

    /// "did you mean housing?" / "did you mean Rose or Rosie?", or nil.
    public static func phrase(_ typed: String, among candidates: [String]) -> String? {
        let near = nearest(typed, among: candidates)
        return near.isEmpty ? nil : "did you mean " + near.joined(separator: " or ") + "?"
    }

    /// Optimal string alignment distance (Levenshtein with adjacent transpositions).
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
