/// A reporting period: a half-open range of London time.
public struct ReportPeriod: Sendable, Equatable {
    public let start: Int64
    public let end: Int64
    /// `2026-11`, `2026-Q4` or `2026-11-01..2026-11-30`.
    public let label: String

    public init(start: Int64, end: Int64, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }

    public func contains(_ t: Int64) -> Bool { t >= start && t < end }

    public var json: JSONValue {
        ["label": .string(label), "start": .string(LondonTime().iso(start)), "end": .string(LondonTime().iso(end))]
    }
}

extension ReportPeriod {
    /// `YYYY-MM`: from the 1st 00:00 London time up to the next month's.
    public static func month(_ text: String, time: LondonTime = LondonTime()) throws -> ReportPeriod {
        let range = try time.month(text)
        return ReportPeriod(start: range.start, end: range.end, label: text)
    }

    /// `YYYY-Qn`: three months, Q1 = January to March.
    public static func quarter(_ text: String, time: LondonTime = LondonTime()) throws -> ReportPeriod {
        let parts = text.uppercased().split(separator: "-")
        guard parts.count == 2, let year = Int(parts[0]), parts[1].count == 2, parts[1].first == "Q",
              let q = Int(parts[1].dropFirst()), (1...4).contains(q) else {
            throw FieldlogError.badInput("cannot read the quarter \"\(text)\"", hint: "use YYYY-Qn, e.g. 2026-Q4")
        }
        let first = try time.month(String(format: "%04d-%02d", year, q * 3 - 2))
        let last = try time.month(String(format: "%04d-%02d", year, q * 3))
        return ReportPeriod(start: first.start, end: last.end, label: "\(year)-Q\(q)")
    }

    /// `--from` and `--to`, both days included.
    public static func days(from: String, to: String, time: LondonTime = LondonTime()) throws -> ReportPeriod {
        let start = try time.day(from), last = try time.day(to)
        guard start <= last else { throw FieldlogError.badInput("the first day (\(from)) is after the last (\(to))", input: .periodStart) }
        return ReportPeriod(start: start, end: time.nextDay(last), label: "\(from)..\(to)")
    }

    /// `count` consecutive months ending with `last` (`YYYY-MM`), oldest first: a trend.
    public static func months(_ count: Int, endingWith last: String, time: LondonTime = LondonTime()) throws -> [ReportPeriod] {
        guard (1...120).contains(count) else { throw FieldlogError.badInput("a trend covers 1 to 120 months", input: .months) }
        _ = try time.month(last)  // the same message as --month for a bad one
        let parts = last.split(separator: "-").compactMap { Int($0) }
        let index = parts[0] * 12 + parts[1] - 1
        return try (index - count + 1...index).map { i in try month(String(format: "%04d-%02d", i / 12, i % 12 + 1), time: time) }
    }
}
