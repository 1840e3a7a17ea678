import Foundation
import Testing
@testable import OutreachCore

/// The one fold, taken one event at a time, against itself and against the fold it replaced.
/// Histories are random over two charities' laptops, with everything that changes what earlier
/// events mean: retractions (and retractions of retractions), corrections, links, partnership
/// codes, a revocation, and the other charity trying to retract, withdraw or record outcomes on
/// what is not theirs. Replay a failure with `FIELDLOG_SEED=n swift test --filter IncrementalFold`.
@Suite struct IncrementalFoldTests {
    /// Every event of a random history that `basis` can open, in the order the first laptop wrote them.
    static func history(seed: UInt64, steps: Int = 140) throws -> [OpenedEvent] {
        let reader = TestKeys.keyring("basis")
        return try rawHistory(seed: seed, steps: steps).events.compactMap { reader.open($0) }
    }

    /// Every event of a random history, and the certificates of the laptops that wrote them.
    static func rawHistory(seed: UInt64, steps: Int = 140) throws -> (events: [Event], certificates: [DeviceCertificate]) {
        var rng = SeededRNG(seed: seed)
        let dir = TempDir()
        let logs = [try TestKeys.log("basis", device: "b1", in: dir.sub("b1")), try TestKeys.log("basis", device: "b2", in: dir.sub("b2")),
                    try TestKeys.log("joanna", device: "j1", in: dir.sub("j1"))]
        var people = [String]()
        var clock = t0
        let codes = [try PartnershipCode(initials: "AB", dateOfBirth: "1990-01-02", sex: "f"), try PartnershipCode(initials: "CD", dateOfBirth: "1985-03-04", sex: "f")]
        func append(_ log: FieldLog, _ type: EventType, _ fields: [String: JSONValue], amending target: Event? = nil) throws {
            let payload = Payload(type: type, occurredAt: clock, author: log.author, fields: fields)
            _ = try log.store.append([target.map { Draft(amending: $0, payload) } ?? Draft(payload)], keyring: log.keyring)
        }
        func some(_ log: FieldLog, _ type: EventType) throws -> Event? {
            try log.store.allEvents().filter { log.keyring.open($0)?.payload.eventType == type }.randomElement(using: &rng)
        }
        for _ in 0..<steps {
            clock += Int64.random(in: -3_600_000...7_200_000, using: &rng)  // not in time order
            let log = logs.randomElement(using: &rng)!
            let person = people.randomElement(using: &rng)
            switch Int.random(in: 0..<22, using: &rng) {
            case 0, 1, 2:
                let code = Int.random(in: 0..<4, using: &rng) == 0 ? codes.randomElement(using: &rng) : nil
                people.append(try log.registerPerson(name: "P\(people.count)", code: code, at: clock).person)
            case 3, 4, 5:
                let who = Bool.random(using: &rng) ? person : nil
                var c = NewContact(person: who, unidentified: who == nil ? 1 : 0, setting: .van, zone: "Z1")
                c.services = [.condoms: Int.random(in: 1...9, using: &rng)]
                c.needs = [Need.allCases.randomElement(using: &rng)!]
                if Bool.random(using: &rng) { c.referrals = [ReferralDestination.allCases.randomElement(using: &rng)!] }
                if Bool.random(using: &rng) { c.note = "note \(clock)" }
                try log.logContact(c, at: clock)
            case 6 where person != nil:
                try log.setRegister(.risk, of: person!, to: .string(RiskLevel.allCases.randomElement(using: &rng)!.rawValue), at: clock)
            case 7:
                var i = NewIncident(person: person, kind: .assault, consent: ConsentLevel.allCases.randomElement(using: &rng)!)
                i.zone = "Z2"
                _ = try log.reportIncident(i, at: clock, now: clock)
            case 8 where person != nil:
                try append(log, .personProfile, ["person": .string(person!), "code": .string(codes.randomElement(using: &rng)!.hash(with: log.keyring.partnershipKey))])
            case 9 where people.count > 1:
                let (a, b) = (people.randomElement(using: &rng)!, people.randomElement(using: &rng)!)
                if a != b { try log.link(a, b, at: clock) }
            case 10, 11:
                // Retract one of this organisation's own events (not a retraction of a retraction of a retraction).
                let own = try log.store.allEvents().filter { $0.org == log.keyring.org }
                guard let target = own.randomElement(using: &rng), let opened = log.keyring.open(target) else { continue }
                if opened.payload.eventType == .eventRetracted, let inner = opened.payload.eventID("target"),
                   own.contains(where: { $0.id == inner && log.keyring.open($0)?.payload.eventType == .eventRetracted }) { continue }
                try append(log, .eventRetracted, ["target": .string(target.id.hex), "reason": "error"], amending: target)
            case 12:
                let registration = Bool.random(using: &rng)
                guard let target = try some(log, registration ? .personRegistered : .contactLogged) else { continue }
                // (A registration's person is never corrected: two registrations of one id is a case the old fold got wrong.)
                let fields: [String: JSONValue] = registration ? ["name": "Renamed", "at": .int(clock)]
                    : Bool.random(using: &rng) ? ["at": .int(clock), "setting": "foot"] : ["person": person.map { .string($0) } ?? .null]
                try append(log, .eventCorrected, ["target": .string(target.id.hex), "reason": "typo", "fields": .object(fields.filter { $0.value != .null })], amending: target)
            case 13:
                // The other charity (or anyone) acting on what is not theirs: the fold must ignore it.
                let other = logs.randomElement(using: &rng)!
                guard let target = try other.store.allEvents().randomElement(using: &rng) else { continue }
                try append(log, .eventRetracted, ["target": .string(target.id.hex), "reason": "error"], amending: target)
            case 14:
                guard let alert = try some(log, .alertIssued) else { continue }
                try append(log, .alertWithdrawn, ["alert": .string(alert.id.hex)])
            case 15:
                guard let referral = try some(log, .referralMade) else { continue }
                try append(log, .referralOutcome, ["referral": .string(referral.id.hex), "outcome": .string(Bool.random(using: &rng) ? "attended" : "declined")])
            case 16 where person != nil:
                try append(log, .taskingAction, ["person": .string(person!), "action": "call"])
            case 17:
                guard let action = try some(log, .taskingAction) else { continue }
                try append(log, .taskingDone, ["action": .string(action.id.hex)])
            case 18:
                try log.raiseSafeguarding(person: person, category: .exploitation, action: nil, withConsent: true, reason: nil, at: clock)
            case 19 where Int.random(in: 0..<6, using: &rng) == 0:
                // A revocation of b2 from b1 (or, not honoured, from joanna).
                let b2 = logs[1]
                let upTo = UInt64(try b2.store.eventCount() / 2)
                try append(Bool.random(using: &rng) ? logs[0] : logs[2], .deviceRevoked, [
                    "replica": .string(b2.store.info.replica.rawValue), "device": "b2", "upTo": .int(Int64(upTo)),
                ])
            case 20 where Bool.random(using: &rng):
                // The partnership's zones: labels given again, and (case 10) retracted.
                let label: JSONValue = Bool.random(using: &rng) ? .string("label \(clock)") : .null
                try append(log, .zoneDefined, ["zone": .string(["Z1", "Z2"].randomElement(using: &rng)!), "label": label].filter { $0.value != .null })
            default:
                let other = logs.randomElement(using: &rng)!
                if other.store.info.replica != log.store.info.replica { try log.send(to: other) }
            }
        }
        var seen = Set<EventID>()
        var all = [Event]()
        for log in logs { for e in try log.store.allEvents() where seen.insert(e.id).inserted { all.append(e) } }
        return (all, try logs.flatMap { try $0.store.roster().certificates })
    }

    @Test func addingEventsInAnyOrderAndAnyBatchesGivesTheSameState() throws {
        for seed in propertySeeds(12) {
            var rng = SeededRNG(seed: seed &+ 1000)
            let events = try Self.history(seed: seed)
            let expected = Fold.fold(events)
            for _ in 0..<4 {
                let order = events.shuffled(using: &rng)
                var fold = Fold()
                var added = [OpenedEvent]()
                var start = 0
                while start < order.count {
                    let end = min(order.count, start + Int.random(in: 1...25, using: &rng))
                    let batch = Array(order[start..<end])
                    // Earlier batches are read back from "the store": here, a source of what was added.
                    fold.add(batch, source: BatchSource(added))
                    added += batch
                    start = end
                    // Now and then the fold is written down and read back, as the state snapshot is.
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        let restored = try Fold(core: fold.encodedCore(), contacts: fold.encodedContacts().sorted { $0.key < $1.key }.map(\.value))
                        #expect(restored == fold, "seed \(seed): the snapshot reads back differently")
                        fold = restored
                    }
                }
                #expect(fold.state == expected, "seed \(seed): incremental fold differs from the fold from scratch")
            }
        }
    }

    /// The longest chain of retractions (a retraction of a retraction of ...) among `events`.
    static func longestRetractionChain(_ events: [OpenedEvent]) -> Int {
        var target = [EventID: EventID]()
        for o in events where o.payload.eventType == .eventRetracted { target[o.event.id] = o.payload.eventID("target") }
        return target.keys.map { id in
            var depth = 1, at = id
            while let next = target[at], target[next] != nil { depth += 1; at = next }
            return depth
        }.max() ?? 0
    }

    @Test func theOneFoldAgreesWithTheFoldItReplaced() throws {
        var merged = 0, retracted = 0, revoked = 0, corrected = 0, zones = 0
        for seed in propertySeeds(12) {
            let events = try Self.history(seed: seed)
            // A chain of three retractions: the old fold read it one level deep (wrongly).
            if Self.longestRetractionChain(events) >= 3 { continue }
            var fold = Fold()
            fold.add(events, source: NoSource())
            merged += fold.state.people.values.filter { !$0.aliases.isEmpty }.count
            retracted += fold.state.retracted.count
            revoked += fold.cuts.count
            corrected += fold.amendments.values.filter { !$0.isRetraction }.count
            zones += fold.state.zones.count
            let old = LegacyFold.fold(events)
            let new = Fold.fold(events)
            for id in Set(new.people.keys).union(old.people.keys) where new.people[id] != old.people[id] {
                Issue.record("seed \(seed): person \(id): \(String(describing: new.people[id])) but the old fold had \(String(describing: old.people[id]))")
            }
            #expect(new.canonicalID == old.canonicalID, "seed \(seed): canonical ids")
            #expect(new.contacts == old.contacts, "seed \(seed): contacts")
            #expect(new.referrals == old.referrals, "seed \(seed): referrals")
            #expect(new.incidents == old.incidents, "seed \(seed): incidents")
            #expect(new.incidentSummaries == old.incidentSummaries, "seed \(seed): summaries")
            #expect(new.alerts == old.alerts, "seed \(seed): alerts")
            #expect(new.taskingActions == old.taskingActions, "seed \(seed): tasking")
            #expect(new.safeguarding == old.safeguarding, "seed \(seed): safeguarding")
            #expect(new.registerWrites == old.registerWrites, "seed \(seed): register writes")
            #expect(new.retracted == old.retracted, "seed \(seed): retracted")
            #expect(new.exports == old.exports, "seed \(seed): exports")
        }
        // The histories do exercise what makes folding hard.
        if propertySeeds(12).count > 1 {
            #expect(merged > 0 && retracted > 0 && revoked > 0 && corrected > 0 && zones > 0,
                    "merged \(merged), retracted \(retracted), revoked \(revoked), corrected \(corrected), zones \(zones)")
        }
    }
}
