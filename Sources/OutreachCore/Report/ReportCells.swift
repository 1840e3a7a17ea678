/// One figure of a report: a count measure, or one category of a breakdown measure.
///
/// Every output format and disclosure control work on these: the table, CSV (one row per
/// period, organisation, measure and category), HTML and `--public` all read the same cells.
public struct ReportCell: Sendable, Hashable {
    public let measure: Measure
    public let category: String?

    public init(_ measure: Measure, _ category: String? = nil) {
        self.measure = measure
        self.category = category
    }
}

extension Report {
    /// The value of a cell (0 for a category this report has none of).
    public func value(_ cell: ReportCell) -> Int {
        cell.category.map { breakdown(cell.measure)[$0] ?? 0 } ?? count(cell.measure)
    }

    /// This report's own cells: every count and each category it has (in no particular order
    /// within a breakdown).
    var cells: [ReportCell] {
        Measure.allCases.flatMap { m -> [ReportCell] in
            switch m.kind {
            case .count: [ReportCell(m)]
            case .breakdown: breakdown(m).keys.map { ReportCell(m, $0) }
            case .percent: []
            }
        }
    }
}

extension PartnershipReport {
    /// Every cell any column of these reports has, in display order: the measures in
    /// `Measure`'s order, and within each breakdown its categories by merged value (largest
    /// first), then name.
    public static func cells(_ reports: [PartnershipReport]) -> [ReportCell] {
        let all = reports.flatMap { [$0.merged] + Array($0.byOrg.values) }
        return Measure.allCases.flatMap { m -> [ReportCell] in
            switch m.kind {
            case .count: return [ReportCell(m)]
            case .percent: return []
            case .breakdown:
                var total = [String: Int]()
                for r in all { for (c, n) in r.breakdown(m) { total[c, default: 0] += n } }
                return total.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { ReportCell(m, $0.key) }
            }
        }
    }

    /// The report's columns: merged first, then each organisation by name.
    public var columns: [(name: String, report: Report)] {
        [("merged", merged)] + byOrg.keys.sorted().map { ($0, byOrg[$0]!) }
    }
}

extension ReportCell {
    /// How the terminal table and the HTML page label the cell.
    public var label: String {
        category.map { "  " + $0.replacingOccurrences(of: "-", with: " ") } ?? measure.label
    }

    /// The heading printed above the first cell of its group.
    public var section: String? { measure.section }
}

extension Report {
    /// The counts object of every report JSON (`docs/json-output.md`), exact or public, laid out
    /// from `Measure.jsonPath`: `value(row)` is the figure of `cells[row]`, `percent` a percent
    /// measure's figure. A count without a cell is null; a breakdown holds the categories it has.
    static func countsJSON(cells: [ReportCell], value: (Int) -> JSONValue, percent: (Measure) -> Int?) -> JSONValue {
        var counts = [Measure: JSONValue]()
        var groups = [Measure: [String: JSONValue]]()
        for (row, cell) in cells.enumerated() {
            if let category = cell.category { groups[cell.measure, default: [:]][category] = value(row) } else { counts[cell.measure] = value(row) }
        }
        var root = JSONValue.object([:])
        for m in Measure.allCases {
            let figure: JSONValue = switch m.kind {
            case .count: counts[m] ?? .null
            case .breakdown: .object(groups[m] ?? [:])
            case .percent: percent(m).map { .int(Int64($0)) } ?? .null
            }
            root.set(figure, at: m.jsonPath[...])
        }
        return root
    }
}

extension JSONValue {
    /// Sets `value` at `path` inside nested objects, making the objects on the way.
    fileprivate mutating func set(_ value: JSONValue, at path: ArraySlice<String>) {
        guard let key = path.first else { self = value; return }
        var object = objectValue ?? [:]
        var child = object[key] ?? .object([:])
        child.set(value, at: path.dropFirst())
        object[key] = child
        self = .object(object)
    }
}
