import Foundation

/// The sealed content of an event: its type, schema version, when it happened, who wrote it,
/// and the type's fields.
///
/// `fields` keeps every member it was given, known or not, so a payload written by a newer
/// version loses nothing when this version reads it (DESIGN §4).
public struct Payload: Sendable, Equatable {
    public var type: String
    public var version: Int
    /// When it happened, as entered by the worker (milliseconds since 1970).
    public var occurredAt: Int64
    /// The worker who wrote it.
    public var author: String
    public var fields: [String: JSONValue]

    /// The envelope's members (an array: searched in order, cheaper than hashing four keys).
    static let envelopeKeys = ["type", "v", "at", "by"]
    static let envelopeNames = JSONValue.Names(envelopeKeys)

    public init(type: EventType, version: Int = 1, occurredAt: Int64, author: String, fields: [String: JSONValue]) {
        self.type = type.rawValue
        self.version = version
        self.occurredAt = occurredAt
        self.author = author
        self.fields = fields.filter { $0.value != .null }
    }

    public var eventType: EventType? { EventType(rawValue: type) }

    public subscript(field: String) -> JSONValue? { fields[field] }

    public var json: JSONValue {
        var object = fields
        object["type"] = .string(type)
        object["v"] = .int(Int64(version))
        object["at"] = .int(occurredAt)
        object["by"] = .string(author)
        return .object(object)
    }

    /// The type of the payload in the JSON text `text`, read as strictly as
    /// `Payload(json: JSONValue.parse(text))` (nil exactly where that throws) but without
    /// building the fields: a sync's check reads every payload it receives for its type alone.
    public static func type(in text: Data) -> String? {
        // In the order of `envelopeKeys`: type, v, at, by.
        guard let m = try? JSONValue.parseMembers(text, named: envelopeNames), let type = m[0]?.stringValue,
              m[1]?.intValue != nil, m[2]?.intValue != nil, m[3]?.stringValue != nil
        else { return nil }
        return type
    }

    public init(json: JSONValue) throws {
        guard var object = json.objectValue, let type = object["type"]?.stringValue, let v = object["v"]?.intValue,
            let at = object["at"]?.intValue, let by = object["by"]?.stringValue
        else { throw FieldlogError.malformed("a payload lacks its type, version, time or author") }
        for key in Payload.envelopeKeys { object[key] = nil }
        self.type = type
        self.version = Int(v)
        self.occurredAt = at
        self.author = by
        self.fields = object
    }
}

/// The event types this version writes and understands (DESIGN §4). Others are kept, not folded.
public enum EventType: String, Sendable, CaseIterable {
    case personRegistered = "person.registered"   // org: person, name, descriptor, note, key (her own key, erasure.md §6)
    case personProfile = "person.profile"         // partnership: person, code, gender, ageBand, sector, under18
    case personsLinked = "persons.linked"         // partnership: a, b
    case personsDistinct = "persons.distinct"     // org: a, b (two of its people a coordinator judged not the same woman)
    case contactLogged = "contact.logged"         // partnership: person | unidentified, setting, zone, workers, welfare, services, needs
    case contactNote = "contact.note"             // org: contact, text
    case referralMade = "referral.made"           // partnership: person, contact, destination, method
    case referralOutcome = "referral.outcome"     // partnership: referral, outcome
    case safeguardingRaised = "safeguarding.raised" // partnership: person, category, action, consent, reason
    case incidentReported = "incident.reported"   // org: person, kind, zone, offender, vehicle, handle, consent, note
    case incidentSummary = "incident.summary"     // partnership: incident, kind, consent (what merged reports count)
    case incidentExported = "incident.exported"   // org: incident, level, recipient (the police export's audit record)
    case taskingAction = "tasking.action"         // partnership: person, action, owner, due
    case taskingDone = "tasking.done"             // partnership: action (event id)
    case alertIssued = "alert.issued"             // partnership: incident, zone, text, expires
    case alertWithdrawn = "alert.withdrawn"       // partnership: alert
    case registerSet = "register.set"             // partnership: person, register, value, reason, review
    case eventRetracted = "event.retracted"       // scope of target: target, reason
    case eventCorrected = "event.corrected"       // scope of target: target, reason, fields
    case deviceRevoked = "device.revoked"         // partnership: replica, device, upTo, reason (trust.md §5a)
    case zoneDefined = "zone.defined"             // partnership: zone, label (the partnership's list of coarse zones)
    case eventsPurged = "events.purged"           // public: purge (event ids whose payloads every replica erases)
    case personErased = "person.erased"           // org: person, reason, purge (the events.purged id), events
    case identityErased = "identity.erased"       // partnership: person (an id whose identifying record its organisation erased)
    case retentionSet = "retention.set"           // org: months (the organisation's retention policy, erasure.md §7)
    case deviceKeyed = "device.keyed"             // partnership: agreementKey, holds (the writing device's X25519 key, trust.md §5b)
    case keyRotated = "key.rotated"               // org or partnership: scope, epoch, keyId, grants, reason (a new key, trust.md §5b)
    case keyGranted = "key.granted"               // org or partnership: scope, epoch, keyId, grants (an existing key to devices that lack it)

    /// Sealed under its scope's first key (epoch 0), which every device of the scope holds,
    /// rather than the current one: a device must read a key grant before it holds the key
    /// granted, and any device may need to read who can be granted keys (`Protocol/trust.md` §5b).
    /// A grant's boxes are sealed to their recipients, so holding the first key reveals no key.
    public var isSealedUnderFirstKey: Bool { self == .deviceKeyed || self == .keyRotated || self == .keyGranted }

    /// The scope an event of this type is written in (retractions and corrections follow their
    /// target; a key notice is in the scope of the key it grants).
    public var scope: Scope? {
        switch self {
        case .personRegistered, .contactNote, .incidentReported, .incidentExported, .personErased, .retentionSet, .personsDistinct: return .org
        case .eventsPurged: return .public
        case .eventRetracted, .eventCorrected, .keyRotated, .keyGranted: return nil
        default: return .partnership
        }
    }
}
