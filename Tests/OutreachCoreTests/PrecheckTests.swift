import Foundation
import Testing
@testable import OutreachCore

/// A sync checks the next page while it stores the one before (`Prechecked`, issue 12). The
/// import takes those verdicts only when they were reached on exactly its own inputs: a check
/// made ahead on a roster, copies or revocations that differ from the store's is done again.
/// Each test fails if the import trusted the check made ahead.
@Suite struct PrecheckTests {
    @Test func aCheckMadeOnAnotherRosterIsDoneAgain() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        try a.registerPerson(name: "Rose", at: t0)
        let events = try a.store.allEvents()
        // Ahead, with a's certificate (a page that brought it); the import comes without it.
        let ahead = Prechecked(events, certificates: try a.store.roster().certificates, roster: try b.store.roster(), keyring: b.keyring,
                               revoked: try b.store.revocations())
        #expect(ahead.verdicts.rules == [nil])
        let outcome = try b.store.importEvents(events, from: .carried("stick"), keyring: b.keyring, prechecked: ahead)
        #expect(try outcome.setAside == [.unknownSigner: 1] && b.store.eventCount() == 0)
    }

    @Test func aCheckMadeOnOtherCopiesIsDoneAgain() throws {
        let dir = TempDir()
        let a = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let b = try TestKeys.log("basis", device: "b", in: dir.sub("b"))
        try a.registerPerson(name: "Rose", at: t0)
        _ = try b.store.importEvents([], certificates: try a.store.roster().certificates, from: .carried("stick"), keyring: b.keyring)
        let events = try a.store.allEvents()
        let ahead = Prechecked(events, certificates: [], roster: try b.store.roster(), keyring: b.keyring, revoked: try b.store.revocations())
        #expect(ahead.verdicts.rules == [nil])
        // The same ids, a spoilt signature (the id does not cover it).
        let spoilt = events.map(SignatureRunTests().spoilt)
        #expect(spoilt.map(\.id) == events.map(\.id))
        let outcome = try b.store.importEvents(spoilt, from: .carried("stick"), keyring: b.keyring, prechecked: ahead)
        #expect(try outcome.setAside == [.badSignature: 1] && b.store.eventCount() == 0)
    }

    @Test func aCheckMadeBeforeARevocationIsDoneAgain() throws {
        let dir = TempDir()
        let b1 = try TestKeys.log("basis", device: "b1", in: dir.sub("b1"))
        let thief = try TestKeys.log("basis", device: "b2", in: dir.sub("b2"))
        try thief.logContact(NewContact(person: nil, unidentified: 1, setting: .van), at: t0)
        let first = try b1.store.importEvents(try thief.store.allEvents(), certificates: try thief.store.roster().certificates,
                                              from: .carried("stick"), keyring: b1.keyring)
        #expect(first.stored == 1)
        #expect(try b1.revokeDevice(named: "b2", reason: "stolen", at: t0).upTo == 1)
        try thief.logContact(NewContact(person: nil, unidentified: 40, setting: .van), at: t0 + 1)
        let later = try thief.store.allEvents().filter { $0.dot.seq > 1 }
        // Ahead, on the revocations of before (none).
        let ahead = Prechecked(later, certificates: [], roster: try b1.store.roster(), keyring: b1.keyring, revoked: [:])
        #expect(ahead.verdicts.rules.allSatisfy { $0 == nil })
        let outcome = try b1.store.importEvents(later, from: .carried("stick"), keyring: b1.keyring, prechecked: ahead)
        #expect(outcome.setAside == [.revoked: later.count] && outcome.stored == 0)
    }
}
