import Foundation
import Testing
@testable import OutreachCore

/// Event bodies (`Body`): one typed struct per event type, the only place key names meet types.
/// What they write reads back as itself through the canonical bytes, every member they write is
/// one `Protocol/events.md` documents for the type, and what they read from a careless or newer
/// writer's payload is what the fold has always made of it.
@Suite struct EventBodyTests {
    static let a = String(repeating: "a", count: 32), b = String(repeating: "b", count: 32)
    static let id1 = EventID(hex: String(repeating: "1", count: 64))!, id2 = EventID(hex: String(repeating: "2", count: 64))!
    static let sealed = PersonText.sealed(SealedText(keyID: "0123456789abcdef", box: Data(repeating: 7, count: 40)))

    /// Two samples of every body: every optional member set (unknown words among them), then as few as the type allows.
    static let samples: [any EventBody] = [
        Body.PersonRegistered(person: a, name: "Rose", descriptor: "red coat", note: "n", key: Data(repeating: 3, count: 32)),
        Body.PersonRegistered(person: a, name: nil, descriptor: nil, note: nil, key: nil),
        Body.PersonProfile(person: a, values: ["code": "c0de", "sector": "street", "under18": false, "newer": ["x": 1]]),
        Body.PersonProfile(person: a, values: [:]),
        Body.PersonsLinked(a, b), Body.PersonsDistinct(a, b),
        Body.RegisterSet(person: a, register: .risk, value: "high", reason: sealed, review: t0),
        Body.RegisterSet(person: a, register: .lead, value: "Sam (ISVA)", reason: .clear("asked"), review: nil),
        Body.PersonErased(person: a, reason: "asked at the drop-in", events: 4, purge: id1),
        Body.IdentityErased(person: a), Body.RetentionSet(months: 72),
        Body.ZoneDefined(zone: "Z3", label: "north of the park"), Body.ZoneDefined(zone: "Z4", label: nil),
        Body.ContactLogged(person: a, setting: .known(.van), zone: "Z1", workers: ["sam", "ali"], welfare: true,
                           services: [.known(.condoms): 10, .unknown("socks"): 2], needs: [.known(.housing), .unknown("debt-advice")]),
        Body.ContactLogged(person: nil, unidentified: 3, setting: .unknown("outreach-bus")),
        Body.ContactNote(contact: id1, text: "asked about hostels"),
        Body.ReferralMade(person: a, contact: id1, destination: .known(.gp), method: .known(.accompany)),
        Body.ReferralMade(person: nil, contact: nil, destination: .unknown("dentist"), method: .known(.signpost)),
        Body.ReferralOutcome(referral: id1, outcome: .known(.didNotAttend)), Body.ReferralOutcome(referral: id1, outcome: nil),
        Body.SafeguardingRaised(person: a, category: .known(.exploitation), action: sealed, withConsent: false, reason: .clear("risk to life")),
        Body.SafeguardingRaised(person: nil, category: .known(.neglect), action: nil, withConsent: true, reason: nil),
        Body.TaskingAction(person: a, action: "offer a GP appointment", owner: "Sam", due: t0), Body.TaskingAction(person: a, action: "", owner: nil, due: nil),
        Body.TaskingDone(action: id1),
        Body.IncidentReported(person: a, kind: .known(.robbery), consent: .l2, zone: "Z2", offender: "40s", vehicle: "silver Astra",
                              handle: "@x", note: sealed),
        Body.IncidentReported(person: nil, kind: .unknown("spiking"), consent: .l0),
        Body.IncidentSummary(incident: id1, kind: .known(.threats), consent: .l1),
        Body.IncidentExported(incident: id1, level: .l3, recipient: "PC Smith"), Body.IncidentExported(incident: id1, level: .l2, recipient: nil),
        Body.AlertIssued(incident: id1, zone: "Z2", text: "robbery; silver Astra", expires: t0), Body.AlertIssued(zone: nil, text: "all clear", expires: nil),
        Body.AlertWithdrawn(alert: id1),
        Body.EventRetracted(target: id1, reason: .known(.wrongPerson)), Body.EventRetracted(target: id1, reason: nil),
        Body.EventCorrected(target: id1, replacing: ["consent": "L3", "at": .int(t0)], reason: "she agreed"),
        Body.EventsPurged(purge: [id1, id2]),
        Body.DeviceRevoked(replica: ReplicaID(String(repeating: "c", count: 16))!, device: "b2", upTo: 41, reason: "stolen"),
        Body.DeviceKeyed(agreementKey: Data(repeating: 9, count: 32), holds: ["0123456789abcdef"]),
    ]

    @Test func everyEventTypeHasABodyOrItsTrustReader() {
        let bodied = Body.all.map { $0.type }
        #expect(Set(bodied).count == bodied.count, "one body per type")
        #expect(Set(bodied).union([.keyRotated, .keyGranted]) == Set(EventType.allCases))
        #expect(Set(Self.samples.map { type(of: $0).type }) == Set(bodied), "every body has a sample here")
    }

    @Test func whatABodyWritesReadsBackAsItselfThroughTheCanonicalBytes() throws {
        for body in Self.samples {
            func roundTrip<B: EventBody>(_ b: B) throws {
                let payload = Payload(b, at: t0, author: "sam")
                let bytes = payload.json.canonicalData()
                let back = try Payload(json: JSONValue.parse(bytes))
                #expect(back == payload)
                #expect(B(back) == b, "\(B.type.rawValue): \(String(decoding: bytes, as: UTF8.self))")
                #expect(!b.fields.values.contains(.null), "\(B.type.rawValue) writes no nulls")
            }
            try roundTrip(body)
        }
    }

    /// Every member a body writes is one `Protocol/events.md` names in the type's row.
    @Test func aBodyWritesOnlyMembersTheProtocolDocuments() throws {
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Protocol/events.md"), encoding: .utf8)
        var documented = [String: Set<String>]()
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            let words = cells[3].split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            documented[cells[1].replacingOccurrences(of: "`", with: "")] = Set(words)
        }
        for body in Self.samples {
            let type = type(of: body).type.rawValue
            let members = Set(body.fields.keys).subtracting(type == "person.profile" ? ["newer"] : [])
            let known = try #require(documented[type], "events.md has a row for \(type)")
            #expect(members.isSubset(of: known), "\(type) writes \(members.subtracting(known).sorted()), which events.md does not name")
        }
    }

    @Test func aCarelessOrNewerPayloadReadsAsTheFoldHasAlwaysReadIt() throws {
        func read<B: EventBody>(_: B.Type, _ fields: [String: JSONValue]) -> B? { B(Payload(type: B.type, occurredAt: t0, author: "x", fields: fields)) }
        // Members of the wrong kind read as missing, with the type's defaults.
        let contact = try #require(read(Body.ContactLogged.self, ["welfare": "yes", "unidentified": "3", "services": ["condoms": "ten", "lube": 2],
                                                                  "needs": ["housing", 7], "newer": true]))
        #expect(contact == Body.ContactLogged(person: nil, setting: .unknown(""), services: [.known(.lube): 2], needs: [.known(.housing)]))
        #expect(read(Body.IncidentReported.self, ["kind": 3, "consent": "L9"]) == Body.IncidentReported(person: nil, kind: .known(.other), consent: .l0))
        #expect(read(Body.SafeguardingRaised.self, ["action": ["keyId": "short", "box": "AA=="]])?.action == nil, "a malformed box is no text")
        #expect(read(Body.SafeguardingRaised.self, [:])?.withConsent == true)
        #expect(read(Body.AlertIssued.self, ["incident": "not-an-id"])?.incident == nil)
        // What a type cannot do without makes no body: the fold leaves the event out.
        #expect(read(Body.ContactNote.self, ["text": "x"]) == nil)
        #expect(read(Body.TaskingAction.self, ["action": "x"]) == nil)
        #expect(read(Body.RegisterSet.self, ["person": .string(Self.a), "register": "shoe-size", "value": 3]) == nil)
        #expect(read(Body.PersonsDistinct.self, ["a": .string(Self.a), "b": .string(Self.a)]) == nil)
        #expect(read(Body.RetentionSet.self, ["months": 6]) == nil)
        #expect(read(Body.EventsPurged.self, ["purge": .array([.string(Self.id1.hex), .string(Self.id1.hex)])]) == nil, "ids repeat")
        #expect(read(Body.DeviceKeyed.self, ["agreementKey": .string(Data(count: 31).base64EncodedString())]) == nil)
        // A body reads only its own type's payload.
        #expect(Body.ContactNote(Payload(type: .contactLogged, occurredAt: t0, author: "x", fields: ["contact": .string(Self.id1.hex), "text": "x"])) == nil)
        // The payload keeps what the body does not know (a newer version's member survives).
        let payload = Payload(type: .contactLogged, occurredAt: t0, author: "x", fields: ["setting": "van", "newer": true])
        #expect(Body.ContactLogged(payload)?.setting == .known(.van) && payload.fields["newer"] == true)
    }

    @Test func theWritersWriteTheirTypesBodyInTheTypesScope() throws {
        let dir = TempDir()
        let log = try TestKeys.log("basis", device: "a", in: dir.sub("a"))
        let (rose, _) = try log.registerPerson(name: "Rose", at: t0)
        var c = NewContact(person: rose, setting: .van, zone: "Z1")
        c.services = [.condoms: 10]
        c.needs = [.housing, .drugs]
        c.referrals = [.gp]
        c.note = "asked about hostels"
        let logged = try log.logContact(c, at: t0)
        let contact = try #require(log.keyring.open(logged.contact).flatMap { Body.ContactLogged($0.payload) })
        #expect(contact == Body.ContactLogged(person: rose, setting: .known(.van), zone: "Z1", services: [.known(.condoms): 10],
                                              needs: [.known(.drugs), .known(.housing)]))
        #expect(log.keyring.open(logged.referrals[0]).flatMap { Body.ReferralMade($0.payload) }?.contact == logged.contact.id)
        #expect(log.keyring.open(logged.note!).flatMap { Body.ContactNote($0.payload) } == Body.ContactNote(contact: logged.contact.id, text: "asked about hostels"))
        #expect([logged.contact.scope, logged.referrals[0].scope, logged.note!.scope] == [.partnership, .partnership, .org])
        // Text about her is sealed to her key, and the fold reads it back through the body.
        var i = NewIncident(person: rose, kind: .robbery, consent: .l1)
        i.note = "he took her phone"
        let incident = try log.reportIncident(i, at: t0, now: t0)
        let reported = try #require(log.keyring.open(incident.incident).flatMap { Body.IncidentReported($0.payload) })
        #expect(reported.note?.sealed != nil && reported.note?.clear == nil)
        let state = try log.state()
        #expect(state.note(of: try #require(state.incidents[incident.incident.id])) == "he took her phone")
    }
}
