import Foundation
import Testing
@testable import OutreachCore

/// A field of a closed vocabulary stays typed from the payload to the report (`Word`), and a word
/// this version does not know (a newer version's, or a careless client's) is kept as written,
/// never dropped or turned into a known one.
@Suite struct VocabularyWordTests {
    @Test func knownWordsAreTheirEnumAndUnknownOnesAreKeptAsWritten() {
        #expect(Word<Setting>("van") == .known(.van) && Word<Setting>("van").known?.isOutreach == true)
        #expect(Word<Setting>("drop-in").known == .dropIn)
        #expect(Word<Setting>("outreach-bus") == .unknown("outreach-bus") && Word<Setting>("outreach-bus").known == nil)
        #expect(Word<Service>("Condoms") == .unknown("Condoms"))  // the payload's word, exactly: no case folding
        #expect(Word<Need>("housing").rawValue == "housing" && Word<Need>("debt-advice").rawValue == "debt-advice")
        #expect([Word<Need>("mental-health"), "alcohol", "debt-advice"].sorted().map(\.rawValue) == ["alcohol", "debt-advice", "mental-health"])
    }

    @Test func aContactANewerVersionWroteIsFoldedTypedAndCountedUnderItsOwnWords() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let (p, _) = try a.registerPerson(name: "Rose", at: t0)
        // Given a contact written by a newer version, with a setting, a service and a need this one does not know
        let newer = try a.store.append([Draft(Payload(type: .contactLogged, occurredAt: t0, author: "w", fields: [
            "person": .string(p), "setting": "outreach-bus", "services": ["condoms": 2, "socks": 3],
            "needs": ["housing", "debt-advice"], "workers": ["w"], "welfare": false,
        ]))], keyring: a.keyring)[0]
        let ours = try a.logContact(NewContact(person: p, setting: .van, zone: "Z1"), at: t0 + 1).contact
        let state = try a.state()
        let c = try #require(state.contacts[newer.id])
        #expect(c.setting == .unknown("outreach-bus"))
        #expect(c.services == [.known(.condoms): 2, .unknown("socks"): 3])
        #expect(c.needs == [.unknown("debt-advice"), .known(.housing)])
        #expect(state.contacts[ours.id]?.setting == .known(.van))
        // A contact page keeps them as they are
        #expect(try Fold.decodeContacts(Fold.encoded(contacts: [c])) == [c])
        // Reports count the unknown words under their own names, and an unknown setting is not outreach
        let nov = ReportPeriod(start: t0 - 1, end: t0 + 10, label: "test")
        let report = PartnershipReport(state: state, period: nov).merged
        #expect(report.services == ["condoms": 2, "socks": 3])
        #expect(report.needs == ["housing": 1, "debt-advice": 1])
        #expect(report.contacts == 1)  // the van contact only
    }
}
