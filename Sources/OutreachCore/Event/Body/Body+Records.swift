import Foundation

// MARK: Contacts and referrals

extension Body {
    /// `contact.logged` (partnership): a contact with one known person or with people not identified.
    public struct ContactLogged: EventBody {
        public static let type = EventType.contactLogged
        public var person: String?
        /// How many people not identified (0 with a known person).
        public var unidentified: Int
        public var setting: Word<Setting>
        public var zone: String?
        public var workers: [String]
        public var welfare: Bool
        public var services: [Word<Service>: Int]
        public var needs: [Word<Need>]

        public init(person: String?, unidentified: Int = 0, setting: Word<Setting>, zone: String? = nil, workers: [String] = [], welfare: Bool = false,
                    services: [Word<Service>: Int] = [:], needs: [Word<Need>] = []) {
            (self.person, self.unidentified, self.setting, self.zone) = (person, unidentified, setting, zone)
            (self.workers, self.welfare, self.services, self.needs) = (workers, welfare, services, needs)
        }
        /// Nothing is required: a contact without a setting counts under the empty word.
        public init?(_ f: PayloadFields) {
            self.init(person: f.string("person"), unidentified: Int(f.int("unidentified") ?? 0), setting: f.word("setting", or: .unknown("")),
                      zone: f.string("zone"), workers: f.strings("workers"), welfare: f.bool("welfare") ?? false,
                      services: f.counts("services"), needs: f.words("needs"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("unidentified", unidentified > 0 ? Int64(unidentified) : nil)
            w.set("setting", setting); w.set("zone", zone); w.set("workers", strings: workers); w.set("welfare", welfare)
            w["services"] = .object(Dictionary(uniqueKeysWithValues: services.map { ($0.key.rawValue, JSONValue.int(Int64($0.value))) }))
            w.set("needs", strings: needs.map(\.rawValue))
            return w.fields
        }
    }

    /// `contact.note` (org): a note on a contact.
    public struct ContactNote: EventBody {
        public static let type = EventType.contactNote
        /// The contact (nil only in a draft whose append fills it in: `Draft.references`).
        public var contact: EventID?
        public var text: String

        public init(contact: EventID? = nil, text: String) { (self.contact, self.text) = (contact, text) }
        public init?(_ f: PayloadFields) {
            guard let contact = f.eventID("contact"), let text = f.string("text") else { return nil }
            self.init(contact: contact, text: text)
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("contact", contact); w.set("text", text)
            return w.fields
        }
    }

    /// `referral.made` (partnership): a referral, usually made at a contact.
    public struct ReferralMade: EventBody {
        public static let type = EventType.referralMade
        public var person: String?
        public var contact: EventID?
        public var destination: Word<ReferralDestination>
        public var method: Word<ReferralMethod>

        public init(person: String?, contact: EventID? = nil, destination: Word<ReferralDestination>, method: Word<ReferralMethod>) {
            (self.person, self.contact, self.destination, self.method) = (person, contact, destination, method)
        }
        public init?(_ f: PayloadFields) {
            self.init(person: f.string("person"), contact: f.eventID("contact"), destination: f.word("destination", or: .unknown("")),
                      method: f.word("method", or: .unknown("")))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("contact", contact); w.set("destination", destination); w.set("method", method)
            return w.fields
        }
    }

    /// `referral.outcome` (partnership): how a referral turned out (merged as a register).
    public struct ReferralOutcome: EventBody {
        public static let type = EventType.referralOutcome
        public var referral: EventID
        /// Nil when missing, or not a word.
        public var outcome: Word<ReferralOutcomeKind>?

        public init(referral: EventID, outcome: Word<ReferralOutcomeKind>?) { (self.referral, self.outcome) = (referral, outcome) }
        public init?(_ f: PayloadFields) {
            guard let referral = f.eventID("referral") else { return nil }
            self.init(referral: referral, outcome: f.word("outcome"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("referral", referral); w.set("outcome", outcome)
            return w.fields
        }
    }

    /// `safeguarding.raised` (partnership): a concern, its category and what was done.
    public struct SafeguardingRaised: EventBody {
        public static let type = EventType.safeguardingRaised
        public var person: String?
        public var category: Word<SafeguardingCategory>
        public var action: PersonText?
        /// Raised with her consent (missing reads as true).
        public var withConsent: Bool
        public var reason: PersonText?

        public init(person: String?, category: Word<SafeguardingCategory>, action: PersonText?, withConsent: Bool, reason: PersonText?) {
            (self.person, self.category, self.action, self.withConsent, self.reason) = (person, category, action, withConsent, reason)
        }
        public init?(_ f: PayloadFields) {
            self.init(person: f.string("person"), category: f.word("category", or: .unknown("")), action: f.personText("action"),
                      withConsent: f.bool("consent") ?? true, reason: f.personText("reason"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("category", category); w.set("action", action); w.set("consent", withConsent); w.set("reason", reason)
            return w.fields
        }
    }

    /// `tasking.action` (partnership): an action agreed at the tasking meeting.
    public struct TaskingAction: EventBody {
        public static let type = EventType.taskingAction
        public var person: String
        public var action: String
        public var owner: String?
        /// When it is due (ms).
        public var due: Int64?

        public init(person: String, action: String, owner: String?, due: Int64?) { (self.person, self.action, self.owner, self.due) = (person, action, owner, due) }
        public init?(_ f: PayloadFields) {
            guard let person = f.string("person") else { return nil }
            self.init(person: person, action: f.string("action") ?? "", owner: f.string("owner"), due: f.int("due"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("action", action); w.set("owner", owner); w.set("due", due)
            return w.fields
        }
    }

    /// `tasking.done` (partnership): a tasking action done.
    public struct TaskingDone: EventBody {
        public static let type = EventType.taskingDone
        public var action: EventID

        public init(action: EventID) { self.action = action }
        public init?(_ f: PayloadFields) {
            guard let action = f.eventID("action") else { return nil }
            self.init(action: action)
        }
        public var fields: [String: JSONValue] { ["action": .string(action.hex)] }
    }
}

// MARK: Incidents and alerts

extension Body {
    /// `incident.reported` (org): the incident in full, for its organisation only.
    public struct IncidentReported: EventBody {
        public static let type = EventType.incidentReported
        public var person: String?
        public var kind: Word<IncidentKind>
        public var consent: ConsentLevel
        public var zone: String?
        public var offender: String?
        public var vehicle: String?
        public var handle: String?
        public var note: PersonText?

        public init(person: String?, kind: Word<IncidentKind>, consent: ConsentLevel, zone: String? = nil, offender: String? = nil, vehicle: String? = nil,
                    handle: String? = nil, note: PersonText? = nil) {
            (self.person, self.kind, self.consent, self.zone) = (person, kind, consent, zone)
            (self.offender, self.vehicle, self.handle, self.note) = (offender, vehicle, handle, note)
        }
        public init?(_ f: PayloadFields) {
            self.init(person: f.string("person"), kind: f.word("kind", or: .known(.other)), consent: f.consentLevel("consent"), zone: f.string("zone"),
                      offender: f.string("offender"), vehicle: f.string("vehicle"), handle: f.string("handle"), note: f.personText("note"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("person", person); w.set("kind", kind); w.set("consent", consent.rawValue); w.set("zone", zone)
            w.set("offender", offender); w.set("vehicle", vehicle); w.set("handle", handle); w.set("note", note)
            return w.fields
        }
    }

    /// `incident.summary` (partnership): what merged reports count of an incident, nothing that identifies anyone.
    public struct IncidentSummary: EventBody {
        public static let type = EventType.incidentSummary
        /// The incident (nil only in a draft whose append fills it in: `Draft.references`).
        public var incident: EventID?
        public var kind: Word<IncidentKind>
        public var consent: ConsentLevel

        public init(incident: EventID? = nil, kind: Word<IncidentKind>, consent: ConsentLevel) { (self.incident, self.kind, self.consent) = (incident, kind, consent) }
        public init?(_ f: PayloadFields) {
            guard let incident = f.eventID("incident") else { return nil }
            self.init(incident: incident, kind: f.word("kind", or: .known(.other)), consent: f.consentLevel("consent"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("incident", incident); w.set("kind", kind); w.set("consent", consent.rawValue)
            return w.fields
        }
    }

    /// `incident.exported` (org): the audit record of a police export.
    public struct IncidentExported: EventBody {
        public static let type = EventType.incidentExported
        public var incident: EventID
        public var level: ConsentLevel
        public var recipient: String?

        public init(incident: EventID, level: ConsentLevel, recipient: String?) { (self.incident, self.level, self.recipient) = (incident, level, recipient) }
        public init?(_ f: PayloadFields) {
            guard let incident = f.eventID("incident") else { return nil }
            self.init(incident: incident, level: f.consentLevel("level"), recipient: f.string("recipient"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("incident", incident); w.set("level", level.rawValue); w.set("recipient", recipient)
            return w.fields
        }
    }

    /// `alert.issued` (partnership): a warning to the other vans, no victim identity.
    public struct AlertIssued: EventBody {
        public static let type = EventType.alertIssued
        public var incident: EventID?
        public var zone: String?
        public var text: String
        /// When it stops being active (ms; missing: at once).
        public var expires: Int64?

        public init(incident: EventID? = nil, zone: String?, text: String, expires: Int64?) { (self.incident, self.zone, self.text, self.expires) = (incident, zone, text, expires) }
        public init?(_ f: PayloadFields) {
            self.init(incident: f.eventID("incident"), zone: f.string("zone"), text: f.string("text") ?? "", expires: f.int("expires"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("incident", incident); w.set("zone", zone); w.set("text", text); w.set("expires", expires)
            return w.fields
        }
    }

    /// `alert.withdrawn` (partnership): an alert withdrawn by its organisation.
    public struct AlertWithdrawn: EventBody {
        public static let type = EventType.alertWithdrawn
        public var alert: EventID

        public init(alert: EventID) { self.alert = alert }
        public init?(_ f: PayloadFields) {
            guard let alert = f.eventID("alert") else { return nil }
            self.init(alert: alert)
        }
        public var fields: [String: JSONValue] { ["alert": .string(alert.hex)] }
    }
}
