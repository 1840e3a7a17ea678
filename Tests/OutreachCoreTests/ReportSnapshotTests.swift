import Foundation
import Testing
@testable import OutreachCore

/// The sealed report snapshot (`ReportIndex.load`): read back only while the store is
/// unchanged, never in clear, and a damaged one costs a fold, nothing else.
@Suite struct ReportSnapshotTests {
    @Test func theSnapshotRoundTripsAndIsUsedOnlyWhileNothingChanged() throws {
        let dir = TempDir()
        let f = try PartnershipReportTests().fixture(in: dir)
        let log = f.basis
        let fresh = ReportIndex(try log.state())
        let (decoded, mark) = try ReportIndex.decode(fresh.encoded(mark: "mark"))
        #expect(decoded == fresh && mark == "mark")

        let nov = try ReportPeriod.month("2026-11")
        let first = try ReportIndex.load(log: log)
        #expect(!first.fromSnapshot)
        let second = try ReportIndex.load(log: log)
        #expect(second.fromSnapshot && second.index == first.index)
        let folded = PartnershipReport(state: try log.state(), period: nov)
        #expect(PartnershipReport(index: second.index, period: nov) == folded)

        // A new event: the snapshot is stale, the next report folds and counts it.
        try log.logContact(NewContact(person: nil, unidentified: 2, setting: .van), at: nov.start + 3_600_000)
        let third = try ReportIndex.load(log: log)
        #expect(!third.fromSnapshot)
        #expect(PartnershipReport(index: third.index, period: nov).merged.contacts == 12)
        #expect(try ReportIndex.load(log: log).fromSnapshot)

        // An event stored beyond a gap leaves the vector as it was; the snapshot still goes stale.
        let other = try TestKeys.log("basis", device: "b9", in: dir.sub("b9"))
        try other.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: nov.start)
        let later = try other.logContact(NewContact(person: nil, unidentified: 4, setting: .van), at: nov.start + 1).contact
        let vectorBefore = try log.store.vector()
        try log.store.importEvents([later], from: BatchOrigin(org: "basis", since: VersionVector(), covered: VersionVector()), keyring: log.keyring)
        #expect(try log.store.vector() == vectorBefore)
        let beyondGap = try ReportIndex.load(log: log)
        #expect(!beyondGap.fromSnapshot && PartnershipReport(index: beyondGap.index, period: nov).merged.contacts == 16)
        #expect(try ReportIndex.load(log: log).fromSnapshot)

        // Nothing of it in clear in the store's files ("drugs" is a word the snapshot holds).
        for file in try FileManager.default.contentsOfDirectory(at: log.store.directory, includingPropertiesForKeys: nil) {
            let bytes = try Data(contentsOf: file)
            #expect(bytes.range(of: Data("drugs".utf8)) == nil, "\(file.lastPathComponent)")
        }

        // A damaged snapshot is ignored: the report folds, as if there were none.
        try log.store.setCache(ReportIndex.cacheName, Data(repeating: 7, count: 64))
        let healed = try ReportIndex.load(log: log)
        #expect(!healed.fromSnapshot && healed.index == beyondGap.index)
        // A truncated or inconsistent body is refused by the decoder itself.
        let good = third.index.encoded(mark: "m")
        #expect(throws: FieldlogError.self) { try ReportIndex.decode(good.prefix(good.count / 2)) }
    }
}
