import Foundation

/// The bodies of the event types (`Protocol/events.md`), one struct per type, named as the
/// type is. Trust's own notices keep their readers where their rules live: `device.revoked` is
/// `Authority.Revocation` (through `DeviceRevoked`), and `key.rotated` and `key.granted` are
/// `KeyNotice`, which checks each grant as it reads it.
public enum Body {
    /// Every body, one per event type but the key notices.
    public static let all: [any EventBody.Type] = [
        PersonRegistered.self, PersonProfile.self, PersonsLinked.self, PersonsDistinct.self, RegisterSet.self, PersonErased.self,
        IdentityErased.self, RetentionSet.self, ZoneDefined.self, ContactLogged.self, ContactNote.self, ReferralMade.self,
        ReferralOutcome.self, SafeguardingRaised.self, TaskingAction.self, TaskingDone.self, IncidentReported.self, IncidentSummary.self,
        IncidentExported.self, AlertIssued.self, AlertWithdrawn.self, EventRetracted.self, EventCorrected.self, EventsPurged.self,
        DeviceRevoked.self, DeviceKeyed.self,
    ]
}

// MARK: People

extension Body {
    /// `person.registered` (org): a working name for a new person id, and her own key.
    public struct PersonRegistered: EventBody {
        public static let type = EventType.personRegistered
        public var person: String
        public var name: String?
        public var descriptor: String?
        public var note: String?
        /// Her own key (32 bytes), for text sealed to her (`Protocol/erasure.md` §6); none before 0.3.
        public var key: Data?

        public init(person: String, name: String?, descriptor: String?, note: String?, key: Data?) {
            (self.person, self.name, self.descriptor, self.note, self.key) = (person, name, descriptor, note, key)
        }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person") else { return nil }
            self.init(person: person, name: f.string("name"), descriptor: f.string("descriptor"), note: f.string("note"), key: f.key32("key"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("name", name); w.set("descriptor", descriptor); w.set("note", note)
            w.set("key", key?.base64EncodedString())
            return w.fields
        }
    }

    /// `person.profile` (partnership): what both charities may know of a person id (`code`,
    /// `sector`, `gender`, `ageBand`, `under18`), merged as one register.
    public struct PersonProfile: EventBody {
        public static let type = EventType.personProfile
        public var person: String
        /// The profile's members as written (a newer version's included).
        public var values: [String: JSONValue]

        public init(person: String, values: [String: JSONValue]) { (self.person, self.values) = (person, values.filter { $0.key != "person" }) }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person") else { return nil }
            self.init(person: person, values: f.raw)
        }
        public var fields: [String: JSONValue] { values.merging(["person": .string(person)]) { $1 } }
        /// The partnership code (`Protocol/encoding.md` §6).
        public var code: String? { values["code"]?.stringValue }
    }

    /// `persons.linked` (partnership): two person ids that are the same person.
    public struct PersonsLinked: EventBody {
        public static let type = EventType.personsLinked
        public var a: String
        public var b: String

        public init(_ a: String, _ b: String) { (self.a, self.b) = (a, b) }
        public init?(_ f: PayloadFields) {
            guard let a = f.string("a"), let b = f.string("b") else { return nil }
            self.init(a, b)
        }
        public var fields: [String: JSONValue] { ["a": .string(a), "b": .string(b)] }
    }

    /// `persons.distinct` (org): two of the organisation's person ids judged two women.
    public struct PersonsDistinct: EventBody {
        public static let type = EventType.personsDistinct
        public var a: String
        public var b: String

        public init(_ a: String, _ b: String) { (self.a, self.b) = (a, b) }
        /// Nil also for a pair of one id (a person is always herself).
        public init?(_ f: PayloadFields) {
            guard let a = f.string("a"), let b = f.string("b"), a != b else { return nil }
            self.init(a, b)
        }
        public var fields: [String: JSONValue] { ["a": .string(a), "b": .string(b)] }
    }

    /// `register.set` (partnership): a value of one of her registers (risk, priority, lead, casework).
    public struct RegisterSet: EventBody {
        public static let type = EventType.registerSet
        public var person: String
        public var register: Register
        /// Any JSON value (a risk level, `in`/`out`, a lead's name, `open`/`closed`).
        public var value: JSONValue
        public var reason: PersonText?
        /// When the value is due for review (ms).
        public var review: Int64?

        public init(person: String, register: Register, value: JSONValue, reason: PersonText? = nil, review: Int64? = nil) {
            (self.person, self.register, self.value, self.reason, self.review) = (person, register, value, reason, review)
        }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person"), let register = f.string("register").flatMap(Register.init(rawValue:)) else { return nil }
            self.init(person: person, register: register, value: f["value"] ?? .null, reason: f.personText("reason"), review: f.int("review"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("register", register.rawValue); w["value"] = value
            w.set("reason", reason); w.set("review", review)
            return w.fields
        }
    }

    /// `person.erased` (org): her organisation erased her (`Protocol/erasure.md`).
    public struct PersonErased: EventBody {
        public static let type = EventType.personErased
        public var person: String
        public var reason: String
        /// How many events were purged.
        public var events: Int
        /// The `events.purged` that did it (nil only in a draft whose append fills it in).
        public var purge: EventID?

        public init(person: String, reason: String, events: Int, purge: EventID? = nil) {
            (self.person, self.reason, self.events, self.purge) = (person, reason, events, purge)
        }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person") else { return nil }
            self.init(person: person, reason: f.string("reason") ?? "", events: Int(f.int("events") ?? 0), purge: f.eventID("purge"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("reason", reason); w.set("events", Int64(events)); w.set("purge", purge)
            return w.fields
        }
    }

    /// `identity.erased` (partnership, no author): this person id no longer identifies anyone.
    public struct IdentityErased: EventBody {
        public static let type = EventType.identityErased
        public var person: String

        public init(person: String) { self.person = person }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person") else { return nil }
            self.init(person: person)
        }
        public var fields: [String: JSONValue] { ["person": .string(person)] }
    }

    /// `retention.set` (org): the organisation's retention policy (`Protocol/erasure.md` §7).
    public struct RetentionSet: EventBody {
        public static let type = EventType.retentionSet
        public var months: Int

        public init(months: Int) { self.months = months }
        /// Nil also for a policy outside the allowed months (it is not folded).
        public init?(_ f: PayloadFields) {
            guard let months = f.int("months").map(Int.init), RetentionPolicy.allowedMonths.contains(months) else { return nil }
            self.init(months: months)
        }
        public var fields: [String: JSONValue] { ["months": .int(Int64(months))] }
    }

    /// `zone.defined` (partnership): a zone of the partnership's list, and its label.
    public struct ZoneDefined: EventBody {
        public static let type = EventType.zoneDefined
        public var zone: String
        public var label: String?

        public init(zone: String, label: String?) { (self.zone, self.label) = (zone, label) }
        public init?(_ f: PayloadFields) {
            guard let zone = f.string("zone") else { return nil }
            self.init(zone: zone, label: f.string("label"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("zone", zone); w.set("label", label)
            return w.fields
        }
    }
}
