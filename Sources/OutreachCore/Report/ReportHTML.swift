import Foundation

/// `fieldlog report --format html`: one self-contained page for the partnership board — no
/// scripts, fonts, images or anything fetched; the charts are inline SVG. The page is also
/// well-formed XML (every element closed, every attribute quoted), so a test can parse it.
public struct ReportHTML: Sendable {
    public let output: ReportOutput
    /// The monthly trend behind the first chart (merged figures, oldest month first).
    public let trend: ReportOutput
    public let generatedAt: Int64

    public init(_ output: ReportOutput, trend: ReportOutput? = nil, generatedAt: Int64) {
        self.output = output
        self.trend = trend ?? output
        self.generatedAt = generatedAt
    }

    public var page: String {
        let time = LondonTime()
        let periods = output.reports.map(\.period.label)
        let title = "Outreach report, " + (periods.count == 1 ? periods[0] : "\(periods.first!) to \(periods.last!)")
        var body = "<h1>\(esc(title))</h1>\n"
        body += "<p class=\"meta\">Europe/London time. Generated \(esc(time.format(generatedAt))) by fieldlog from the partnership's shared events. "
        body += output.isPublic
            ? "<strong>For publication:</strong> counts of 1 to 7 are shown as &lt;8, others rounded to the nearest 5; x marks a figure hidden so that a &lt;8 cannot be worked out from the totals; percentages only over 20 or more.</p>\n"
            : "<strong>Exact figures, for the partnership only:</strong> anything that leaves it takes the public report (rounded, small counts suppressed).</p>\n"
        body += "<h2>Monthly trend (merged)</h2>\n" + trendChart() + "\n"
        body += "<h2>Needs, \(esc(periods.last!)) (merged, people)</h2>\n" + needsChart() + "\n"
        for index in output.reports.indices { body += table(index) }
        body += "<p class=\"meta\">Definitions: docs/reports.md in the fieldlog repository. People both charities met count once in the merged column, so the charities' columns need not add up to it. Police enforcement figures are not part of this report.</p>\n"
        return """
            <!DOCTYPE html>
            <html lang="en-GB" xmlns="http://www.w3.org/1999/xhtml">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(esc(title))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1b1b1b; }
            h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
            .meta { color: #555; font-size: 0.9rem; }
            table { border-collapse: collapse; margin: 1rem 0; }
            th, td { padding: 0.2rem 0.8rem; border-bottom: 1px solid #ddd; }
            td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
            tr.section th { text-align: left; padding-top: 0.8rem; border-bottom: 2px solid #999; }
            td.sub { padding-left: 1.8rem; }
            svg text { font-family: inherit; font-size: 12px; fill: #1b1b1b; }
            @media print { body { margin: 0; } }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>
            """
    }

    func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The figures table of one period: a row per cell, a column per organisation (merged first).
    func table(_ index: Int) -> String {
        let t = output.tables[index]
        var html = "<table>\n<caption>\(esc(output.reports[index].period.label))</caption>\n<thead><tr><th></th>"
        for c in t.columns { html += "<th class=\"n\" scope=\"col\">\(esc(c))</th>" }
        html += "</tr></thead>\n<tbody>\n"
        var lastSection: String?
        for (row, cell) in t.cells.enumerated() {
            if let section = cell.section, section != lastSection {
                html += "<tr class=\"section\"><th colspan=\"\(t.columns.count + 1)\" scope=\"rowgroup\">\(esc(section))</th></tr>\n"
            }
            lastSection = cell.section
            let label = cell.label.trimmingCharacters(in: .whitespaces)
            let sub = cell.label.hasPrefix(" ") ? " class=\"sub\"" : ""
            html += "<tr><td\(sub)>\(esc(label))</td>" + t.values[row].map { "<td class=\"n\">\(esc($0.description))</td>" }.joined() + "</tr>\n"
        }
        for measure in Measure.percents {
            let figures = t.columns.indices.map { output.percent(measure, report: index, column: $0) }
            html += "<tr><td>\(esc(measure.label))</td>" + figures.map { "<td class=\"n\">\($0.map { "\($0)%" } ?? "–")</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }

    /// Grouped bars per month: outreach contacts and people engaged (merged). A hidden figure
    /// gets no bar, only its mark ("<8" or "x").
    func trendChart() -> String {
        let contacts = trend.cells.firstIndex(of: ReportCell(.contacts))!
        let engaged = trend.cells.firstIndex(of: ReportCell(.engaged))!
        let months = trend.reports.map(\.period.label)
        let series = [(name: "outreach contacts", row: contacts, colour: "#1f77b4"), (name: "people engaged", row: engaged, colour: "#ff7f0e")]
        let values = series.map { s in trend.tables.map { $0.values[s.row][0] } }
        let largest = values.flatMap { $0 }.compactMap { if case .count(let n) = $0 { n } else { nil } }.max() ?? 0
        let step = ReportHTML.niceStep(max(largest, 8) / 4 + 1)
        let top = step * 4
        let width = 760, height = 260, left = 50, bottom = 40, plotH = height - bottom - 20
        let slot = Double(width - left - 10) / Double(max(1, months.count))
        let bar = min(28.0, slot / 2.6)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"trend-title\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\">\n"
        svg += "<title id=\"trend-title\">Outreach contacts and people engaged per month, merged</title>\n"
        for tick in 0...4 {
            let v = step * tick, y = 20 + plotH - plotH * tick / 4
            svg += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(width - 10)\" y2=\"\(y)\" stroke=\"#ddd\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(v)</text>\n"
        }
        for (m, month) in months.enumerated() {
            let x0 = Double(left) + slot * Double(m) + (slot - 2 * bar - 4) / 2
            for (s, item) in series.enumerated() {
                let x = x0 + Double(s) * (bar + 4)
                switch values[s][m] {
                case .count(let n):
                    let h = Double(plotH) * Double(n) / Double(top)
                    svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(Double(20 + plotH) - h))\" width=\"\(fmt(bar))\" height=\"\(fmt(h))\" fill=\"\(item.colour)\"><title>\(esc(month)): \(n) \(item.name)</title></rect>\n"
                case let mark:
                    svg += "<text x=\"\(fmt(x + bar / 2))\" y=\"\(20 + plotH - 4)\" text-anchor=\"middle\">\(esc(mark.description))</text>\n"
                }
            }
            svg += "<text x=\"\(fmt(Double(left) + slot * (Double(m) + 0.5)))\" y=\"\(height - bottom + 16)\" text-anchor=\"middle\">\(esc(month))</text>\n"
        }
        for (s, item) in series.enumerated() {
            let x = left + 10 + s * 170
            svg += "<rect x=\"\(x)\" y=\"\(height - 14)\" width=\"12\" height=\"12\" fill=\"\(item.colour)\"/><text x=\"\(x + 18)\" y=\"\(height - 4)\">\(item.name)</text>\n"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars: people per need in the last period, merged, largest first.
    func needsChart() -> String {
        let index = output.reports.count - 1
        let rows = output.cells.enumerated().filter { $0.element.measure == .needs && $0.element.category != nil }
        guard !rows.isEmpty else { return "<p>No needs were recorded in this period.</p>" }
        let values = rows.map { output.tables[index].values[$0.offset][0] }
        let top = max(1, values.compactMap { if case .count(let n) = $0 { n } else { nil } }.max() ?? 1)
        let left = 170, width = 760, row = 24
        let height = rows.count * row + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"needs-title\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\">\n"
        svg += "<title id=\"needs-title\">People per need, merged</title>\n"
        for (i, (cell, value)) in zip(rows.map(\.element), values).enumerated() {
            let y = 5 + i * row
            let name = (cell.category ?? "").replacingOccurrences(of: "-", with: " ")
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 16)\" text-anchor=\"end\">\(esc(name))</text>"
            if case .count(let n) = value {
                let w = Double(width - left - 60) * Double(n) / Double(top)
                svg += "<rect x=\"\(left)\" y=\"\(y + 3)\" width=\"\(fmt(w))\" height=\"\(row - 8)\" fill=\"#2ca02c\"/><text x=\"\(fmt(Double(left) + w + 6))\" y=\"\(y + 16)\">\(n)</text>\n"
            } else {
                svg += "<text x=\"\(left + 6)\" y=\"\(y + 16)\">\(esc(value.description))</text>\n"
            }
        }
        return svg + "</svg>"
    }

    func fmt(_ d: Double) -> String { String(format: "%.1f", d) }

    /// The smallest of 1, 2, 5, 10, 20, 50… that is at least `n`: round axis ticks.
    static func niceStep(_ n: Int) -> Int {
        var scale = 1
        while true {
            for m in [1, 2, 5] where m * scale >= n { return m * scale }
            scale *= 10
        }
    }
}
