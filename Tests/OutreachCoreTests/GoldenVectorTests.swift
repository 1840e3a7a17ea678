import Crypto
import Foundation
import Testing
@testable import OutreachCore

/// Replays `Protocol/vectors/events.json`, written from `Protocol/encoding.md` by an independent
/// Python implementation: ids, associated data, seals and canonical JSON must match byte for byte.
@Suite struct GoldenVectorTests {
    let vectors: JSONValue

    init() throws {
        vectors = try JSONValue.parse(Data(contentsOf: repositoryRoot.appendingPathComponent("Protocol/vectors/events.json")))
    }

    @Test func eventIdsSealsAndPayloadsMatchTheSpec() throws {
        let cases = try #require(vectors["events"]?.arrayValue)
        #expect(cases.count >= 4)
        for v in cases {
            let name = v["name"]?.stringValue ?? "?"
            // Reading the event recomputes its id and refuses a mismatch.
            let event = try Event(json: try #require(v["event"]))
            let input = EventEncoding.hashInput(dot: event.dot, prev: event.prev, org: event.org, scope: event.scope, context: event.context,
                                                recordedAt: event.recordedAt, keyID: event.keyID, payloadDigest: event.payloadDigest)
            #expect(Hex.encode(input) == v["hashInput"]?.stringValue, "\(name)")
            if event.scope == .public {
                // In clear, under no key: anyone (a server) reads it; it names what to purge.
                let opened = try #require(OpenedEvent(clear: event), "\(name)")
                #expect(opened.payload.json.canonicalString() == v["plaintext"]?.stringValue, "\(name)")
                #expect(Authority.purgeList(opened.payload) == [cases[0]["event"]!["id"]!.stringValue!].compactMap(EventID.init(hex:)))
                #expect(try Event(json: event.json) == event, "\(name)")
                continue
            }
            let key = ScopeKey(key: SymmetricKey(data: Hex.decode(v["key"]!.stringValue!)!))
            #expect(key.id == v["keyId"]?.stringValue, "\(name)")
            #expect(Hex.encode(event.associatedData) == v["aad"]?.stringValue, "\(name)")
            let plain = try key.open(event.sealedPayload, aad: event.associatedData)
            #expect(String(decoding: plain, as: UTF8.self) == v["plaintext"]?.stringValue, "\(name)")
            // Our canonical encoder reproduces the plaintext, unknown types and fields included.
            let payload = try Payload(json: JSONValue.parse(plain))
            #expect(payload.json.canonicalString() == v["plaintext"]?.stringValue, "\(name)")
            // And the event's own JSON form round-trips.
            #expect(try Event(json: event.json) == event, "\(name)")
        }
    }

    @Test func aPurgedEventKeepsItsIdAndSignature() throws {
        let full = try Event(json: try #require(vectors["events"]?.arrayValue?.first?["event"]))
        for v in try #require(vectors["purged"]?.arrayValue) {
            let tombstone = try Event(json: try #require(v["event"]))
            #expect(tombstone.isPurged && tombstone.sealedPayload.isEmpty)
            #expect(tombstone.id == full.id && tombstone.signature == full.signature)
            #expect(tombstone == full.purged)
            #expect(try Event(json: tombstone.json) == tombstone)
            // A digest that is not the payload's breaks the id.
            var altered = try #require(v["event"]?.objectValue)
            altered["payloadDigest"] = .string(Data(repeating: 1, count: 32).base64EncodedString())
            #expect(throws: FieldlogError.self) { try Event(json: .object(altered)) }
            // Both forms at once is refused.
            altered["payload"] = .string(full.sealedPayload.base64EncodedString())
            #expect(throws: FieldlogError.self) { try Event(json: .object(altered)) }
        }
    }

    /// The packed form of packed sync pages (`Protocol/http.md`), written by the generator from
    /// the spec: each event packs to exactly those bytes and reads back to the JSON event.
    @Test func packedEventsMatchTheSpec() throws {
        let cases = try #require(vectors["events"]?.arrayValue) + (try #require(vectors["purged"]?.arrayValue))
        #expect(cases.count == 5)
        for v in cases {
            let name = v["name"]?.stringValue ?? "?"
            let event = try Event(json: try #require(v["event"]))
            let packed = try #require(v["packed"]?.stringValue.flatMap(Hex.decode))
            #expect(event.packed == packed, "\(name)")
            #expect(try Event(packed: Data(packed)) == event, "\(name)")
        }
    }

    @Test func canonicalJSONMatchesTheSpec() throws {
        for v in try #require(vectors["canonicalJSON"]?.arrayValue) {
            let parsed = try JSONValue.parse(v["input"]!.stringValue!)
            #expect(parsed.canonicalString() == v["canonical"]?.stringValue)
            #expect(try JSONValue.parse(parsed.canonicalString()) == parsed)
        }
    }

    @Test func malformedJSONIsRefused() throws {
        for text in try #require(vectors["malformedJSON"]?.arrayValue).compactMap(\.stringValue) {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
        }
    }

    /// Key grants (trust.md §5b), sealed by the generator's own HPKE (RFC 9180, written from the
    /// RFC with a fixed ephemeral key): the agreement key derived from the device seed, the info
    /// layout and the suite must all match for the box to open.
    @Test func keyGrantsMatchTheSpec() throws {
        let cases = try #require(vectors["keyGrants"]?.arrayValue)
        #expect(cases.count >= 2)
        for v in cases {
            let name = v["name"]?.stringValue ?? "?"
            let device = try DeviceKey(seed: Data(Hex.decode(v["deviceSeed"]!.stringValue!)!))
            #expect(Hex.encode(device.agreementKey) == v["agreementKey"]?.stringValue, "\(name)")
            let l = try #require(v["label"])
            let label = KeyGrant.Label(partnership: l["partnership"]!.stringValue!, scope: Scope(l["scope"]!.stringValue!),
                                       org: l["org"]!.stringValue!, epoch: l["epoch"]!.intValue!, keyID: l["keyId"]!.stringValue!)
            let grantJSON = try #require(v["grant"])
            let grant = try #require(KeyGrant(json: grantJSON), "\(name)")
            #expect(Hex.encode(label.info(for: grant.replica)) == v["info"]?.stringValue, "\(name)")
            let key = try #require(grant.open(label: label, with: device), "\(name): the grant does not open")
            #expect(key.key.withUnsafeBytes { Hex.encode(Data($0)) } == v["key"]?.stringValue, "\(name)")
            // Bound to its label and recipient: another epoch, or another device's key, opens nothing.
            let otherEpoch = KeyGrant.Label(partnership: label.partnership, scope: label.scope, org: label.org, epoch: label.epoch + 1, keyID: label.keyID)
            #expect(grant.open(label: otherEpoch, with: device)?.id == nil, "\(name)")
            #expect(grant.open(label: label, with: try DeviceKey(seed: Data(repeating: 99, count: 32)))?.id == nil, "\(name)")
        }
    }

    @Test func partnershipCodeMatchesTheSpec() throws {
        for v in try #require(vectors["partnershipCodes"]?.arrayValue) {
            let key = ScopeKey(key: SymmetricKey(data: Hex.decode(v["key"]!.stringValue!)!))
            let code = try PartnershipCode(initials: v["initials"]!.stringValue!.lowercased(), dateOfBirth: v["dob"]!.stringValue!, sex: v["sex"]!.stringValue!)
            #expect(code.hash(with: key) == v["code"]?.stringValue)
        }
    }

    @Test func anAlteredEventIsRefused() throws {
        let original = try #require(vectors["events"]?.arrayValue?.first?["event"]?.objectValue)
        for (field, value) in [("seq", JSONValue.int(2)), ("org", "joanna"), ("scope", "partnership"), ("recordedAt", 1),
                               ("ctx", ["0123456789abcdef": 1]), ("payload", .string(Data(repeating: 0, count: 40).base64EncodedString()))] {
            var altered = original
            altered[field] = value
            #expect(throws: FieldlogError.self, "altering \(field)") { try Event(json: .object(altered)) }
        }
        var missing = original
        missing["org"] = nil
        #expect(throws: FieldlogError.self) { try Event(json: .object(missing)) }
    }

    /// The golden roster: certificates written by the Python generator (trust.md, encoding.md §8).
    func goldenRoster() throws -> (Roster, [DeviceCertificate]) {
        let certs = try #require(vectors["certificates"]?.arrayValue).map { v in
            try DeviceCertificate(json: .object(v.objectValue!.filter { !["signedBytes", "fingerprint"].contains($0.key) }))
        }
        var roster = Roster(partnership: try #require(vectors["partnership"]?.stringValue))
        roster.admit(certs, pinning: .firstSight)
        return (roster, certs)
    }

    @Test func certificatesAndKeysMatchTheSpec() throws {
        let (roster, certs) = try goldenRoster()
        #expect(roster.accepted.count == 2 && roster.pins.count == 2)
        for (v, cert) in zip(try #require(vectors["certificates"]?.arrayValue), certs) {
            #expect(Hex.encode(cert.signedBytes) == v["signedBytes"]?.stringValue)
            #expect(cert.fingerprint.hex == v["fingerprint"]?.stringValue)
        }
        // The same seed gives the same key, fingerprint and (Ed25519 being deterministic) signature.
        for (k, cert) in zip(try #require(vectors["deviceKeys"]?.arrayValue), certs) {
            let key = try DeviceKey(seed: Data(Hex.decode(k["seed"]!.stringValue!)!))
            #expect(Hex.encode(key.publicKey) == k["public"]?.stringValue && key.fingerprint.hex == k["fingerprint"]?.stringValue)
            let again = try DeviceCertificate.root(partnership: cert.partnership, org: cert.org, device: cert.device, replica: cert.replica, key: key,
                                                   issuedAt: cert.issuedAt)
            #expect(again == cert)
        }
    }

    @Test func everyGoldenEventIsSignedByItsOriginAndEveryAttackBreaksItsRule() throws {
        let (roster, _) = try goldenRoster()
        for v in try #require(vectors["events"]?.arrayValue) {
            let event = try Event(json: try #require(v["event"]))
            #expect(Authority.checkEnvelope(event, roster: roster) == nil, "\(v["name"]?.stringValue ?? "?")")
        }
        let expected: [Authority.Rule] = [.badSignature, .badScope, .wrongOrg]
        for (v, rule) in zip(try #require(vectors["attacks"]?.arrayValue), expected) {
            let event = try Event(json: try #require(v["event"]))
            #expect(Authority.checkEnvelope(event, roster: roster) == rule, "\(v["name"]?.stringValue ?? "?")")
        }
    }

    @Test func anEnvelopeWithUnknownOrMalformedMembersIsRefused() throws {
        let original = try #require(vectors["events"]?.arrayValue?.first?["event"]?.objectValue)
        for (field, value) in [("extra", JSONValue.int(1)), ("sig", "AAAA"), ("keyId", "K"), ("org", "Basis"), ("ctx", ["0123456789abcdef": 0])] {
            var altered = original
            altered[field] = value
            #expect(throws: FieldlogError.self, "\(field)") { try Event(json: .object(altered)) }
        }
    }
}
