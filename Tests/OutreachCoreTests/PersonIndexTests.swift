import Foundation
import Testing
@testable import OutreachCore

@Suite struct PersonIndexTests {
    @Test func theSealedIndexAgreesWithTheFoldAndSurvivesReloading() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "b1", in: dir.sub("s"))
        var ids = [String]()
        // Past the refresh threshold, so the sealed cache is written.
        for n in 0..<(PersonIndex.refreshAfter + 10) { ids.append(try log.registerPerson(name: "Person number \(n)", at: t0).person) }
        let first = try PersonIndex.load(log: log)
        #expect(try log.store.cache(PersonIndex.cacheName) != nil)
        // The cache holds no name in clear (a name long enough that sealed bytes never match it by chance).
        #expect(try log.store.cache(PersonIndex.cacheName)!.range(of: Data("Person number 10".utf8)) == nil)

        // When a registration is retracted and one more person arrives after the cache
        let retracted = try log.store.allEvents().first { Fold.fold([$0], keyring: log.keyring).people[ids[0]] != nil }!
        try log.retract(retracted, reason: .error, at: t0)
        let (late, _) = try log.registerPerson(name: "Late", at: t0)
        let second = try PersonIndex.load(log: log)

        // Then the reloaded index resolves what the fold knows, and not the retracted person
        #expect(try second.resolve(late) == late)
        #expect(second.label(late).hasPrefix("Late ("))
        #expect(throws: FieldlogError.self) { try second.resolve(ids[0]) }
        #expect(try second.resolve(ids[1]) == ids[1])
        #expect(first.people.count == ids.count)
        let folded = try log.state().people.filter { $0.value.name != nil }
        #expect(Set(folded.keys) == Set(second.people.keys).subtracting([ids[0]]))
    }

    @Test func theEncodingRoundTrips() throws {
        var index = PersonIndex()
        let payload = Payload(type: .personRegistered, occurredAt: t0, author: "x", fields: ["person": "abcd", "name": "Ann\tMarie\n+"])
        let event = Event(dot: Dot(ReplicaID.random(), 1), org: "basis", scope: .org, context: VersionVector(), recordedAt: 0, keyID: "k", sealedPayload: Data(), signature: Data(count: 64))
        index.apply(OpenedEvent(event: event, payload: payload))
        let back = try PersonIndex(encoded: index.encoded())
        #expect(back.people["abcd"]?.name == "Ann\tMarie\n+")
        #expect(throws: FieldlogError.self) { try PersonIndex(encoded: index.encoded().dropLast()) }
    }
}
