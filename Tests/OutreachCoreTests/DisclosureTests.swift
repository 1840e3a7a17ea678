import Foundation
import Testing
@testable import OutreachCore

/// `--public` (docs/reports.md, "Disclosure control"): small counts hidden, the rest rounded,
/// and no hidden cell recoverable from the totals it belongs to.
@Suite struct DisclosureTests {
    @Test func smallCountsAreHiddenAndTheRestRoundedToFive() {
        #expect(PublicValue.rounded(0) == .count(0))
        for n in 1...7 { #expect(PublicValue.rounded(n) == .small && PublicValue.rounded(n).description == "<8") }
        #expect(PublicValue.rounded(8) == .count(10))
        #expect(PublicValue.rounded(12) == .count(10))
        #expect(PublicValue.rounded(13) == .count(15))
        #expect(PublicValue.rounded(22) == .count(20))
        #expect(PublicValue.rounded(23) == .count(25))
        #expect(PartnershipReport.publicPercent(5, of: 19) == nil)
        #expect(PartnershipReport.publicPercent(5, of: 20) == 25)
    }

    /// The attacker: every relation (total = Σ parts) with exactly one unknown member gives that
    /// member away by subtraction; what it gives away becomes known, and so on until nothing
    /// moves. Published cells count as known exactly (rounding only makes the attacker weaker).
    static func recovered(_ table: PublicTable, relations: [PublicTable.Relation]) -> Set<[Int]> {
        var unknown = Set<[Int]>()
        for (r, row) in table.values.enumerated() { for (c, v) in row.enumerated() where !v.isPublished { unknown.insert([r, c]) } }
        var found = Set<[Int]>()
        var moved = true
        while moved {
            moved = false
            for relation in relations {
                let open = relation.map { [$0.row, $0.column] }.filter(unknown.contains)
                if open.count == 1 {
                    unknown.remove(open[0])
                    found.insert(open[0])
                    moved = true
                }
            }
        }
        return found
    }

    /// A table like a report's: rows by columns (merged first) with merged = Σ organisations per
    /// row, and a block of rows whose first is the total of the others in every column.
    static func randomTable(_ rng: inout SeededRNG) -> (raw: [[Int]], relations: [PublicTable.Relation]) {
        let orgs = Int.random(in: 1...3, using: &rng)
        let rows = Int.random(in: 2...9, using: &rng)
        var parts = (0..<rows).map { _ in (0..<orgs).map { _ in Int.random(in: 0...3, using: &rng) == 0 ? 0 : Int.random(in: 1...30, using: &rng) } }
        // Rows 1..k are categories of row 0 (incidents by type).
        let k = Int.random(in: 1..<rows, using: &rng)
        parts[0] = (0..<orgs).map { c in (1...k).map { parts[$0][c] }.reduce(0, +) }
        let raw = parts.map { [$0.reduce(0, +)] + $0 }
        var relations = [PublicTable.Relation]()
        if orgs > 1 { for r in 0..<rows { relations.append((0...orgs).map { (r, $0) }) } }
        for c in 0...orgs { relations.append([(0, c)] + (1...k).map { ($0, c) }) }
        return (raw, relations)
    }

    @Test func noHiddenCellCanBeRecoveredBySubtraction() {
        for seed in propertySeeds(300) {
            var rng = SeededRNG(seed: seed)
            let (raw, relations) = Self.randomTable(&rng)
            let cells = raw.indices.map { ReportCell(.needs, "m\($0)") }
            let table = PublicTable(columns: (0..<raw[0].count).map { "c\($0)" }, cells: cells, raw: raw, relations: relations)
            // Every small count is hidden; every published value is the rounded count.
            for (r, row) in raw.enumerated() {
                for (c, n) in row.enumerated() {
                    let v = table.values[r][c]
                    if (1...7).contains(n) { #expect(!v.isPublished, "seed \(seed): \(n) at \(r),\(c) is shown") }
                    if v.isPublished { #expect(v == PublicValue.rounded(n), "seed \(seed)") }
                }
            }
            let leaked = Self.recovered(table, relations: relations)
            #expect(leaked.isEmpty, "seed \(seed): recovered \(leaked.sorted { $0.lexicographicallyPrecedes($1) }) from \(raw) shown as \(table.values)")
            // And nothing follows from combining totals either (the table's own rank test).
            #expect(PublicTable.firstDeterminable(values: table.values, relations: relations) == nil, "seed \(seed)")
        }
    }

    @Test func aHiddenPartIsPairedWithAnother() {
        // Merged 25 = basis 22 + joanna 3: joanna's 3 is "<8", so basis must go too, or 25 − 22 = 3.
        let table = PublicTable(columns: ["merged", "basis", "joanna"], cells: [ReportCell(.contacts)], raw: [[25, 22, 3]],
                                relations: [[(0, 0), (0, 1), (0, 2)]])
        #expect(table.values == [[.count(25), .hidden, .small]])
        #expect(table.values[0].map(\.description) == ["25", "x", "<8"])
    }
}
