import Foundation

/// Times as workers type them and reports count them: Europe/London local time.
public struct LondonTime: Sendable {
    public let calendar: Calendar

    public init(timeZone: TimeZone = TimeZone(identifier: "Europe/London")!) {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = timeZone
        calendar = c
    }

    static func ms(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// Parses `21:40`, `today 21:40`, `yesterday 21:40`, `2026-11-20`, `2026-11-20 21:40`,
    /// `2026-11-20T21:40[:SS]` (local) or ISO 8601 with an offset (`…Z`, `…+01:00`).
    public func parse(_ text: String, now: Int64) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let fail = FieldlogError.badInput("cannot read the time \"\(text)\"", hint: "use 21:40, yesterday 21:40, 2026-11-20 21:40 or 2026-11-20T21:40:00Z")
        let today = calendar.dateComponents([.year, .month, .day], from: LondonTime.date(now))
        var parts = t.split(separator: " ").map(String.init)
        var day = today
        if parts.first == "today" || parts.first == "yesterday" {
            if parts.first == "yesterday", let y = calendar.date(byAdding: .day, value: -1, to: LondonTime.date(now)) {
                day = calendar.dateComponents([.year, .month, .day], from: y)
            }
            parts.removeFirst()
            guard parts.count == 1 else { throw fail }
            return try at(day, clock: parts[0], fail)
        }
        if parts.count == 1, t.contains(":"), !t.contains("-") { return try at(day, clock: t, fail) }
        if t.hasSuffix("z") || t.range(of: #"[+-]\d\d:?\d\d$"#, options: .regularExpression) != nil, t.contains("t") {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime]
            if let d = f.date(from: text.uppercased()) { return LondonTime.ms(d) }
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let d = f.date(from: text.uppercased()) { return LondonTime.ms(d) }
            throw fail
        }
        let pieces = t.replacingOccurrences(of: "t", with: " ").split(separator: " ").map(String.init)
        guard let first = pieces.first, pieces.count <= 2 else { throw fail }
        let ymd = first.split(separator: "-").compactMap { Int($0) }
        guard ymd.count == 3, (1...12).contains(ymd[1]), (1...31).contains(ymd[2]) else { throw fail }
        let dc = DateComponents(year: ymd[0], month: ymd[1], day: ymd[2])
        guard let check = calendar.date(from: dc), calendar.component(.day, from: check) == ymd[2] else { throw fail }
        return try at(dc, clock: pieces.count == 2 ? pieces[1] : "00:00", fail)
    }

    private func at(_ day: DateComponents, clock: String, _ fail: FieldlogError) throws -> Int64 {
        let hms = clock.split(separator: ":").map { Int($0) }
        guard (2...3).contains(hms.count), hms.allSatisfy({ $0 != nil }) else { throw fail }
        let h = hms[0]!, m = hms[1]!, s = hms.count == 3 ? hms[2]! : 0
        guard (0...23).contains(h), (0...59).contains(m), (0...59).contains(s) else { throw fail }
        var dc = day
        dc.hour = h
        dc.minute = m
        dc.second = s
        guard let d = calendar.date(from: dc) else { throw fail }
        return LondonTime.ms(d)
    }

    /// Parses a duration: `30m`, `8h`, `2d`, `4w`.
    public static func parseDuration(_ text: String) throws -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = t.last, let n = Int64(t.dropLast()), n > 0 else {
            throw FieldlogError.badInput("cannot read the duration \"\(text)\"", hint: "use 30m, 8h, 2d or 4w")
        }
        switch unit {
        case "m": return n * 60_000
        case "h": return n * 3_600_000
        case "d": return n * 86_400_000
        case "w": return n * 7 * 86_400_000
        default: throw FieldlogError.badInput("cannot read the duration \"\(text)\"", hint: "use 30m, 8h, 2d or 4w")
        }
    }

    /// `2026-11-20 21:40` in London time.
    public func format(_ ms: Int64) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: LondonTime.date(ms))
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(c.year!)-\(two(c.month!))-\(two(c.day!)) \(two(c.hour!)):\(two(c.minute!))"
    }

    /// ISO 8601 with the London offset, for JSON output.
    public func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = calendar.timeZone
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: LondonTime.date(ms))
    }

    /// The start of the London day holding `ms`.
    public func startOfDay(_ ms: Int64) -> Int64 { LondonTime.ms(calendar.startOfDay(for: LondonTime.date(ms))) }

    /// A month `YYYY-MM` as a half-open range of London time.
    public func month(_ text: String) throws -> (start: Int64, end: Int64) {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == 2, let y = parts[0], let m = parts[1], (1...12).contains(m), (1900...9999).contains(y) else {
            throw FieldlogError.badInput("cannot read the month \"\(text)\"", hint: "use YYYY-MM, e.g. 2026-11")
        }
        let start = calendar.date(from: DateComponents(year: y, month: m, day: 1))!
        let end = calendar.date(byAdding: .month, value: 1, to: start)!
        return (LondonTime.ms(start), LondonTime.ms(end))
    }

    /// A date `YYYY-MM-DD` as the start of that London day.
    public func day(_ text: String) throws -> Int64 {
        let parts = text.split(separator: "-").map { Int($0) }
        guard parts.count == 3, let y = parts[0], let m = parts[1], let d = parts[2], (1...12).contains(m), (1...31).contains(d),
            let date = calendar.date(from: DateComponents(year: y, month: m, day: d)), calendar.component(.day, from: date) == d
        else { throw FieldlogError.badInput("cannot read the date \"\(text)\"", hint: "use YYYY-MM-DD, e.g. 2026-11-20") }
        return LondonTime.ms(date)
    }

    /// `months` calendar months after `ms`, in London time (31 January + 1 month is 28 or 29 February).
    public func adding(months: Int, to ms: Int64) -> Int64 {
        LondonTime.ms(calendar.date(byAdding: .month, value: months, to: LondonTime.date(ms))!)
    }

    /// The day after `ms`'s London day starts (for inclusive `--to` dates).
    public func nextDay(_ ms: Int64) -> Int64 {
        LondonTime.ms(calendar.date(byAdding: .day, value: 1, to: LondonTime.date(ms))!)
    }
}
