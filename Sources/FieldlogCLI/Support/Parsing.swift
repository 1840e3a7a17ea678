import Foundation
import OutreachCore

/// Parsing of the short forms a worker types.
enum Parse {
    /// `condoms=10`, `condoms` (one), or a comma list of either.
    static func services(_ items: [String]) throws -> [Service: Int] {
        var out = [Service: Int]()
        for item in items.flatMap({ $0.split(separator: ",").map(String.init) }) {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            let kind = try Service.parse(parts[0])
            var n = 1
            if parts.count == 2 {
                guard let q = Int(parts[1]), q > 0, q <= 10_000 else {
                    throw FieldlogError.badInput("cannot read the quantity in \"\(item)\"", hint: "use e.g. condoms=10")
                }
                n = q
            }
            out[kind, default: 0] += n
        }
        return out
    }

    /// A repeatable option that also takes comma lists: `--need housing,drugs --need exit`.
    static func list<V: Vocabulary>(_ items: [String], as: V.Type) throws -> [V] {
        try items.flatMap { $0.split(separator: ",").map(String.init) }.map { try V.parse($0) }
    }

    /// `--at`, defaulting to now.
    static func time(_ text: String?, now: Int64 = WallClock.nowMillis()) throws -> Int64 {
        guard let text else { return now }
        return try LondonTime().parse(text, now: now)
    }
}
