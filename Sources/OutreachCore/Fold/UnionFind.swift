/// Disjoint sets over person ids; the representative is the smallest id, so the result does not
/// depend on the order of unions.
struct UnionFind {
    private var parent = [String: String]()

    mutating func add(_ x: String) { if parent[x] == nil { parent[x] = x } }

    /// Every id added or united, in no particular order.
    var members: [String] { Array(parent.keys) }

    mutating func find(_ x: String) -> String {
        add(x)
        var root = x
        while let p = parent[root], p != root { root = p }
        var node = x
        while let p = parent[node], p != root { parent[node] = root; node = p }
        return root
    }

    mutating func union(_ a: String, _ b: String) {
        let ra = find(a), rb = find(b)
        if ra == rb { return }
        if ra < rb { parent[rb] = ra } else { parent[ra] = rb }
    }
}
