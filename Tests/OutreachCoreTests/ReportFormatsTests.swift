import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import OutreachCore

/// The report's formats: tidy CSV, and the self-contained HTML page (structure checked by
/// parsing it; how it looks was checked in headless Chromium, see docs/reports.md).
@Suite struct ReportFormatsTests {
    let time = LondonTime()

    func november() throws -> (ReportOutput, ReportOutput, TempDir) {
        let dir = TempDir()
        let f = try PartnershipReportTests().fixture(in: dir)
        let state = try f.basis.state()
        let reports = [PartnershipReport(state: state, period: try .month("2026-11"))]
        return (ReportOutput(reports, isPublic: false), ReportOutput(reports, isPublic: true), dir)
    }

    @Test func csvIsOneRowPerPeriodOrganisationMeasureAndCategory() throws {
        let (exact, published, _) = try november()
        let rows = exact.csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows[0] == ["period", "start", "end", "org", "measure", "category", "value"])
        #expect(rows.dropFirst().allSatisfy { $0.count == 7 })
        #expect(rows.count == 1 + 3 * (exact.cells.count + 2))  // merged, basis, joanna
        func value(_ org: String, _ measure: String, _ category: String = "") -> String? {
            rows.first { $0[3] == org && $0[4] == measure && $0[5] == category }?[6]
        }
        #expect(value("merged", "contacts") == "10" && value("basis", "contacts") == "4" && value("joanna", "contacts") == "6")
        #expect(value("merged", "needs", "housing") == "1" && value("basis", "services", "condoms") == "25")
        #expect(rows[1][0] == "2026-11" && rows[1][1] == "2026-11-01T00:00:00Z" && rows[1][2] == "2026-12-01T00:00:00Z")
        // Public: the same rows, small counts hidden, the rest rounded; no percentage under 20.
        let pub = published.csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(pub.count == rows.count)
        for (a, b) in zip(rows.dropFirst(), pub.dropFirst()) where !a[4].hasSuffix("Percent") {
            let n = Int(a[6])!
            #expect(b[6] == PublicValue.rounded(n).description || b[6] == "x", "\(a) published as \(b)")
        }
        #expect(pub.filter { $0[4].hasSuffix("Percent") }.allSatisfy { $0[6].isEmpty })
    }

    final class Collector: NSObject, XMLParserDelegate {
        var elements = [(name: String, attributes: [String: String])]()
        var text = ""
        var stack = [String]()
        var tbodyRows = 0
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
            elements.append((name, attributes))
            if name == "tr" && stack.last == "tbody" { tbodyRows += 1 }
            stack.append(name)
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { stack.removeLast() }
        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    }

    func parse(_ page: String) throws -> Collector {
        #expect(page.hasPrefix("<!DOCTYPE html>\n"))
        let xml = String(page.dropFirst("<!DOCTYPE html>\n".count))
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = Collector()
        parser.delegate = collector
        #expect(parser.parse(), "the page is not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        return collector
    }

    @Test func theHTMLPageIsSelfContainedWithTwoChartsAndTheTable() throws {
        let (exact, published, _) = try november()
        for output in [exact, published] {
            let page = ReportHTML(output, generatedAt: try time.parse("2026-12-01 09:00", now: 0)).page
            let doc = try parse(page)
            let names = doc.elements.map(\.name)
            #expect(names.first == "html")
            // Nothing fetched: no scripts, stylesheets, images, frames or remote references.
            for forbidden in ["script", "link", "img", "iframe", "object", "embed", "image", "use"] { #expect(!names.contains(forbidden)) }
            for (name, attributes) in doc.elements {
                for (key, value) in attributes where key != "xmlns" {
                    #expect(!value.contains("://") && !value.lowercased().hasPrefix("data:"), "\(name) \(key)=\(value)")
                }
            }
            #expect(!page.contains("@import") && !page.contains("url("))
            // Two SVG charts, each with an accessible title; bars for figures that are shown.
            #expect(names.filter { $0 == "svg" }.count == 2)
            #expect(doc.elements.filter { $0.name == "svg" }.allSatisfy { $0.attributes["aria-labelledby"] != nil })
            // Exact: contacts and engaged, two legend keys, housing and drugs. Public: only the
            // contacts (10) keep a bar; engaged (4) and both needs (1 each) are "<8".
            #expect(names.filter { $0 == "rect" }.count == (output.isPublic ? 3 : 6))
            // The figures table: a column per organisation, a row per cell and section, two percentages.
            let headers = doc.elements.filter { $0.name == "th" && $0.attributes["scope"] == "col" }.count
            #expect(headers == 3)
            let sections = Set(output.cells.compactMap(\.section)).count
            #expect(doc.tbodyRows == output.cells.count + sections + 2)
            #expect(doc.text.contains("Outreach report, 2026-11"))
            #expect(doc.text.contains(output.isPublic ? "For publication" : "Exact figures"))
        }
        // The exact page shows the merged count; the public one rounds it.
        #expect(try parse(ReportHTML(exact, generatedAt: 0).page).text.contains("10"))
        #expect(try parse(ReportHTML(published, generatedAt: 0).page).text.contains("<8"))
    }
}
