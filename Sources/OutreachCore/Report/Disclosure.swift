/// Disclosure control for anything that leaves the partnership (`fieldlog report --public`,
/// DESIGN §8, `docs/reports.md` "Disclosure control").
///
/// - counts of 1 to 7 are shown as "<8" (primary suppression);
/// - every other count is rounded to the nearest 5 (0 stays 0);
/// - percentages only where the denominator is at least 20;
/// - secondary suppression: where a total is the sum of parts (the charities' columns add up to
///   the merged one; incident types add up to the incidents), no hidden cell may be worked out
///   from the published ones, by subtracting within one total or by combining several. The
///   cells hidden to prevent that are shown as "x".
public enum PublicValue: Sendable, Equatable, CustomStringConvertible {
    case count(Int)
    /// 1 to 7.
    case small
    /// Hidden so that a "<8" cannot be worked out from the totals.
    case hidden

    public var description: String {
        switch self {
        case .count(let n): String(n)
        case .small: "<8"
        case .hidden: "x"
        }
    }

    public var json: JSONValue {
        if case .count(let n) = self { return .int(Int64(n)) }
        return .string(description)
    }

    public var isPublished: Bool { if case .count = self { true } else { false } }

    public static let smallest = 8
    public static let minimumDenominator = 20

    /// A count's published form, before secondary suppression.
    public static func rounded(_ n: Int) -> PublicValue {
        if n <= 0 { return .count(0) }
        if n < smallest { return .small }
        return .count(Int((Double(n) / 5).rounded(.toNearestOrAwayFromZero)) * 5)
    }
}

/// A report's cells (rows) by columns, as published: the same shape for the table, CSV, JSON
/// and HTML outputs.
public struct PublicTable: Sendable, Equatable {
    public let columns: [String]
    public let cells: [ReportCell]
    /// `values[row][column]`.
    public private(set) var values: [[PublicValue]]

    /// Where (row, column) positions must not hide exactly one member: a total and its parts.
    public typealias Relation = [(row: Int, column: Int)]

    /// The exact figures, for use inside the partnership.
    public init(columns: [String], cells: [ReportCell], exact: [[Int]]) {
        self.columns = columns
        self.cells = cells
        values = exact.map { $0.map { .count($0) } }
    }

    /// Applies disclosure control to `raw[row][column]`, given the additive relations between cells.
    public init(columns: [String], cells: [ReportCell], raw: [[Int]], relations: [Relation]) {
        self.columns = columns
        self.cells = cells
        values = raw.map { $0.map(PublicValue.rounded) }
        // Secondary suppression: while some hidden cell could be worked out from the published
        // ones, hide one more cell of a total it belongs to (the smallest published member, a
        // part before the total; a zero only when nothing else is left). Every round hides a
        // cell, so this ends (at worst with everything hidden).
        while let exposed = PublicTable.firstDeterminable(values: values, relations: relations) {
            let candidates = relations.filter { r in r.contains { $0 == exposed } }.flatMap { r in
                r.enumerated().filter { values[$0.element.row][$0.element.column].isPublished }.map { (position: $0.element, isTotal: $0.offset == 0) }
            }
            guard let pick = candidates.min(by: { a, b in
                let va = raw[a.position.row][a.position.column], vb = raw[b.position.row][b.position.column]
                return ((va == 0 ? 1 : 0), va, a.isTotal ? 1 : 0, a.position.row, a.position.column)
                    < ((vb == 0 ? 1 : 0), vb, b.isTotal ? 1 : 0, b.position.row, b.position.column)
            }) else { break }
            values[pick.position.row][pick.position.column] = .hidden
        }
    }

    /// The first hidden cell (row-major) whose value follows from the published cells: its unit
    /// vector lies in the row space of the relations over the hidden cells (Gaussian elimination;
    /// coefficients are 0 and ±1 on tables of a few hundred cells).
    static func firstDeterminable(values: [[PublicValue]], relations: [Relation]) -> (row: Int, column: Int)? {
        var hidden = [(row: Int, column: Int)]()
        var index = [Int: Int]()  // row * columns + column → variable
        let width = values.first?.count ?? 0
        for (r, row) in values.enumerated() {
            for (c, v) in row.enumerated() where !v.isPublished {
                index[r * width + c] = hidden.count
                hidden.append((r, c))
            }
        }
        guard !hidden.isEmpty else { return nil }
        // Each relation: total − Σ parts = 0, over the hidden cells only.
        var matrix = relations.compactMap { relation -> [Double]? in
            var row = [Double](repeating: 0, count: hidden.count)
            var any = false
            for (offset, position) in relation.enumerated() {
                guard let v = index[position.row * width + position.column] else { continue }
                row[v] += offset == 0 ? 1 : -1
                any = true
            }
            return any ? row : nil
        }
        let basis = reduce(&matrix)
        for (v, position) in hidden.enumerated() {
            var unit = [Double](repeating: 0, count: hidden.count)
            unit[v] = 1
            if inSpan(unit, of: basis) { return position }
        }
        return nil
    }

    /// Row-reduces `m` in place; returns the non-zero rows with their pivot columns.
    static func reduce(_ m: inout [[Double]]) -> [(row: [Double], pivot: Int)] {
        var basis = [(row: [Double], pivot: Int)]()
        for var row in m {
            for b in basis where abs(row[b.pivot]) > 1e-9 {
                let f = row[b.pivot] / b.row[b.pivot]
                for i in row.indices { row[i] -= f * b.row[i] }
            }
            guard let pivot = row.indices.first(where: { abs(row[$0]) > 1e-9 }) else { continue }
            // Keep earlier rows reduced against the new pivot, so each pivot appears once.
            for k in basis.indices where abs(basis[k].row[pivot]) > 1e-9 {
                let f = basis[k].row[pivot] / row[pivot]
                for i in row.indices { basis[k].row[i] -= f * row[i] }
            }
            basis.append((row, pivot))
        }
        return basis
    }

    static func inSpan(_ vector: [Double], of basis: [(row: [Double], pivot: Int)]) -> Bool {
        var v = vector
        for b in basis where abs(v[b.pivot]) > 1e-9 {
            let f = v[b.pivot] / b.row[b.pivot]
            for i in v.indices { v[i] -= f * b.row[i] }
        }
        return v.allSatisfy { abs($0) <= 1e-9 }
    }
}

extension PartnershipReport {
    /// The published form of one report: merged and each organisation, under disclosure control.
    /// The merged column is the sum of the organisations' for every row (for counts of distinct
    /// people it is at most the sum; treating it as a sum protects them all the same) whenever
    /// every organisation is shown; each column's incidents are the sum of their types, and its
    /// outreach contacts the sum of its zones'.
    public func table(cells: [ReportCell], isPublic: Bool) -> PublicTable {
        let cols = columns
        let raw = cells.map { cell in cols.map { $0.report.value(cell) } }
        guard isPublic else { return PublicTable(columns: cols.map(\.name), cells: cells, exact: raw) }
        var relations = [PublicTable.Relation]()
        if cols.count > 2 {
            for row in cells.indices { relations.append((0..<cols.count).map { (row, $0) }) }
        }
        for partsMeasure in Measure.breakdowns {
            guard let whole = partsMeasure.partsOf, let total = cells.firstIndex(of: ReportCell(whole)) else { continue }
            let parts = cells.indices.filter { cells[$0].measure == partsMeasure && cells[$0].category != nil }
            if !parts.isEmpty { for column in cols.indices { relations.append([(total, column)] + parts.map { ($0, column) }) } }
        }
        return PublicTable(columns: cols.map(\.name), cells: cells, raw: raw, relations: relations)
    }

    /// A percentage fit to publish: only over a denominator of at least 20.
    public static func publicPercent(_ part: Int, of whole: Int) -> Int? {
        whole >= PublicValue.minimumDenominator ? Report.percent(part, of: whole) : nil
    }
}
