import Foundation
import Testing
@testable import OutreachCore

/// Every report format is laid out from `Measure`, so none can lose or misname a measure: each
/// measure reaches the exact JSON at its documented path with its own figure, the public JSON in
/// the same shape, the CSV under its name, and the table and HTML under its label.
@Suite struct MeasureTests {
    /// A report whose every figure is its own number (at least 20, so percentages publish).
    static func distinct(_ period: ReportPeriod, base: Int) -> Report {
        var r = Report(period: period)
        r.contacts = base + 1; r.engaged = base + 2; r.new = base + 3; r.casework = base + 4
        r.zones = ["Z1": base + 1]  // the zones add up to the contacts, as a real report's do
        r.needs = ["housing": base + 5]; r.services = ["condoms": base + 6]
        r.referrals = ["gp": base + 7]; r.referralsWithOutcome = base + 8; r.referralsAttended = base + 9
        r.safeguarding = ["exploitation": base + 10]; r.safeguardingWithoutConsent = base + 11
        r.incidents = base + 12; r.incidentsByType = ["assault": base + 12]
        r.policeConsented = base + 13; r.fullReports = base + 14
        r.priorityGroup = base + 15; r.priorityJoiners = base + 16; r.priorityLeavers = base + 17
        r.priorityWithLead = base + 18; r.overdueReviews = base + 19
        return r
    }

    /// The figures set above, by the JSON path `docs/json-output.md` documents (written out here
    /// independently of `Measure`).
    static func expected(_ base: Int) -> [[String]: JSONValue] {
        let n = { (k: Int) in JSONValue.int(Int64(base + k)) }
        return [
            ["contacts"]: n(1), ["engaged"]: n(2), ["new"]: n(3), ["casework"]: n(4),
            ["zones"]: ["Z1": n(1)], ["needs"]: ["housing": n(5)], ["services"]: ["condoms": n(6)],
            ["referrals", "byDestination"]: ["gp": n(7)], ["referrals", "withOutcome"]: n(8), ["referrals", "attended"]: n(9),
            ["referrals", "attendedPercent"]: .int(Int64(Report.percent(base + 9, of: base + 8)!)),
            ["safeguarding", "byCategory"]: ["exploitation": n(10)], ["safeguarding", "withoutConsent"]: n(11),
            ["incidents", "total"]: n(12), ["incidents", "byType"]: ["assault": n(12)],
            ["incidents", "policeConsented"]: n(13), ["incidents", "fullReports"]: n(14),
            ["incidents", "policeConsentedPercent"]: .int(Int64(Report.percent(base + 13, of: base + 12)!)),
            ["priorityGroup", "size"]: n(15), ["priorityGroup", "joiners"]: n(16), ["priorityGroup", "leavers"]: n(17),
            ["priorityGroup", "withLeadProfessional"]: n(18), ["priorityGroup", "overdueReviews"]: n(19),
        ]
    }

    func output(isPublic: Bool) throws -> ReportOutput {
        let period = try ReportPeriod.month("2026-11")
        let report = PartnershipReport(period: period, merged: Self.distinct(period, base: 100),
                                       byOrg: ["basis": Self.distinct(period, base: 40), "joanna": Self.distinct(period, base: 60)])
        return ReportOutput([report], isPublic: isPublic)
    }

    static func at(_ path: [String], in value: JSONValue?) -> JSONValue? {
        path.reduce(value) { $0?[$1] }
    }

    /// Every leaf path of a JSON object (a breakdown's categories count as leaves of it).
    static func paths(_ value: JSONValue, _ prefix: [String] = []) -> Set<[String]> {
        guard let object = value.objectValue, !object.isEmpty else { return [prefix] }
        return object.reduce(into: Set()) { all, member in all.formUnion(paths(member.value, prefix + [member.key])) }
    }

    @Test func everyMeasureReachesTheExactJSONAtItsDocumentedPathWithItsOwnFigure() throws {
        let json = try output(isPublic: false).json
        for (column, base) in [("merged", 100), ("basis", 40), ("joanna", 60)] {
            let counts = column == "merged" ? json["merged"] : json["byOrg"]?[column]
            let expected = Self.expected(base)
            for (path, value) in expected { #expect(Self.at(path, in: counts) == value, "\(column) \(path)") }
            // And nothing more: the JSON holds exactly the documented paths.
            #expect(Self.paths(try #require(counts)) == Set(expected.flatMap { path, value in Self.paths(value, path) }))
            #expect(Measure.allCases.map(\.jsonPath).sorted { $0.joined(separator: ".") < $1.joined(separator: ".") }
                    == expected.keys.sorted { $0.joined(separator: ".") < $1.joined(separator: ".") })
        }
    }

    @Test func thePublicJSONHasTheExactJSONsShape() throws {
        let exact = try output(isPublic: false).json, published = try output(isPublic: true).json
        #expect(published["disclosure"] == "public" && exact["disclosure"] == "exact")
        for column in ["merged", "basis", "joanna"] {
            let a = column == "merged" ? exact["merged"] : exact["byOrg"]?[column]
            let b = column == "merged" ? published["merged"] : published["byOrg"]?[column]
            #expect(Self.paths(try #require(a)) == Self.paths(try #require(b)), "\(column)")
        }
        // Percentages over a denominator of 20 or more publish; counts are rounded to 5.
        #expect(published["merged"]?["referrals"]?["attendedPercent"] == Self.expected(100)[["referrals", "attendedPercent"]])
        #expect(published["merged"]?["contacts"] == PublicValue.rounded(101).json)
    }

    @Test func everyMeasureHasCSVRowsUnderItsName() throws {
        for isPublic in [false, true] {
            let rows = try output(isPublic: isPublic).csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let names = Set(rows.map { $0[4] })
            #expect(names == Set(Measure.allCases.map(\.name)))
            #expect(names.isSuperset(of: ["contacts", "referrals.withOutcome", "incidents.policeConsented", "priorityGroup.size",
                                          "referrals.attendedPercent", "incidents.policeConsentedPercent"]))
            let exactRow = { (measure: String, category: String) in rows.first { $0[3] == "basis" && $0[4] == measure && $0[5] == category }?[6] }
            if !isPublic {
                #expect(exactRow("incidents", "") == "52" && exactRow("incidents", "assault") == "52")
                #expect(exactRow("priorityGroup.overdueReviews", "") == "59" && exactRow("referrals", "gp") == "47")
            }
        }
    }

    @Test func everyMeasureIsLabelledInTheHTMLTable() throws {
        let output = try output(isPublic: false)
        let page = ReportHTML(output, trend: output, generatedAt: 0).page
        for m in Measure.allCases where m != .incidentsByType {  // types are labelled by their categories
            let label = m.label.trimmingCharacters(in: .whitespaces)
            #expect(page.contains(">\(label.replacingOccurrences(of: "&", with: "&amp;"))<"), "\(m): \(label)")
        }
    }

    @Test func docsJSONOutputNamesEveryMeasure() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/json-output.md"), encoding: .utf8)
        let line = try #require(doc.split(separator: "\n").first { $0.hasPrefix("| `report` |") })
        for m in Measure.allCases { for key in m.jsonPath { #expect(line.contains("`\(key)`"), "\(m): \(key)") } }
    }

    @Test func disclosureKnowsWhichBreakdownsAddUpToACount() {
        // Secondary suppression leans on these: a small zone or incident type must not be worked
        // out from its total.
        #expect(Measure.zones.partsOf == .contacts && Measure.incidentsByType.partsOf == .incidents)
        #expect(Measure.allCases.filter { $0.partsOf != nil }.allSatisfy { $0.kind == .breakdown && $0.partsOf!.kind == .count })
    }
}
