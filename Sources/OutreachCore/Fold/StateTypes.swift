/// One write to a register (or a correction), with what decides concurrency: its dot and context.
public struct RegisterWrite: Sendable, Equatable {
    public let eventID: EventID
    public let dot: Dot
    public let context: VersionVector
    public let value: JSONValue
    public let reason: String?
    /// Review date (milliseconds), when the write set one.
    public let review: Int64?
    public let occurredAt: Int64
    public let author: String
    public let org: String
}

/// The live writes of one register: one value normally, several when writes were concurrent.
public struct RegisterState: Sendable, Equatable {
    /// Writes that no other write's context covers, by event id.
    public let live: [RegisterWrite]

    /// The register's value, when there is exactly one live write.
    public var value: JSONValue? { live.count == 1 ? live[0].value : nil }
    public var isConflict: Bool { live.count > 1 }

    /// The value as a word of vocabulary `V`, when there is exactly one live write and it is text.
    public func word<V: Vocabulary>(_: V.Type) -> Word<V>? { value?.stringValue.map { Word($0) } }

    /// Keeps the writes that no other write has seen (DESIGN §3, invariant 4). Wall clocks play no part.
    public init(writes: [RegisterWrite]) {
        live = writes
            .filter { w in !writes.contains { other in other.eventID != w.eventID && other.context.covers(w.dot) } }
            .sorted { $0.eventID < $1.eventID }
    }

    /// Live writes already worked out (read back from the state snapshot).
    init(live: [RegisterWrite]) { self.live = live }
}

/// A person as this device knows them. Names are present only for the device's own organisation.
public struct Person: Sendable, Equatable {
    public let id: String
    /// The organisation that registered or first recorded them.
    public var org: String
    public var name: String?
    public var descriptor: String?
    public var note: String?
    public var registeredAt: Int64?
    /// Other person ids merged into this one by a link or a matching partnership code.
    public var aliases: [String] = []
    public var registers: [Register: RegisterState] = [:]
    public var profile: RegisterState?
    /// Set once her organisation erased what identifies her (`Protocol/erasure.md`): her name,
    /// descriptor, note and code are gone; what she was counted as stays.
    public var erased: Erasure?
    /// Organisations that erased their record of one of her ids (`identity.erased`, seen by the
    /// whole partnership), with when: the other charity learns that a partnership-level
    /// identifier of hers is gone, and nothing else.
    public var erasedBy: [String: Int64] = [:]
}

/// An erasure as her organisation's devices see it (`person.erased`): when, by which worker,
/// why, and how many events it purged.
public struct Erasure: Sendable, Equatable {
    public let id: EventID
    /// The organisation that erased her (the one that registered her).
    public let org: String
    public let at: Int64
    public let by: String
    public let reason: String
    public let events: Int
}

/// An organisation's retention policy (`retention.set`, `Protocol/erasure.md` §7): a person it
/// registered is erased once `months` have passed without contact, casework or incident.
public struct RetentionPolicy: Sendable, Equatable {
    /// The months a policy may say: from 1 year to 100. A policy outside them (only a modified
    /// client writes one) is not folded, so it cannot make every laptop erase everyone.
    public static let allowedMonths = 12...1200
    /// Without any policy: 6 years.
    public static let defaultMonths = 72

    /// The `retention.set` event; nil for the default.
    public let id: EventID?
    public let org: String
    public let months: Int
    public let at: Int64
    public let by: String

    public static func standard(org: String) -> RetentionPolicy {
        RetentionPolicy(id: nil, org: org, months: defaultMonths, at: 0, by: "")
    }

    /// "6 years", "18 months".
    public var text: String {
        months % 12 == 0 ? "\(months / 12) year\(months == 12 ? "" : "s")" : "\(months) months"
    }
}

/// When a person was last seen, and by which organisation.
public struct LastContact: Sendable, Equatable, Comparable {
    public let at: Int64
    public let org: String
    public let contact: EventID
    public static func < (a: LastContact, b: LastContact) -> Bool { (a.at, a.contact) < (b.at, b.contact) }
}

/// One logged contact (corrections applied).
public struct Contact: Sendable, Equatable {
    public let id: EventID
    public let org: String
    /// The canonical person id, or nil for people seen but not identified.
    public var person: String?
    /// The person id as the event names it (before links and codes merged it).
    public var recordedPerson: String?
    public var unidentified: Int
    public var setting: Word<Setting>
    public var zone: String?
    public var workers: [String]
    public var welfare: Bool
    public var services: [Word<Service>: Int]
    /// Sorted.
    public var needs: [Word<Need>]
    public var occurredAt: Int64
    public var author: String
    public var notes: [String] = []
}

public struct Referral: Sendable, Equatable {
    public let id: EventID
    public let org: String
    public var person: String?
    public var recordedPerson: String?
    public var contact: EventID?
    public var destination: Word<ReferralDestination>
    public var method: Word<ReferralMethod>
    public var occurredAt: Int64
    public var outcome: RegisterState?
}

public struct Incident: Sendable, Equatable {
    public let id: EventID
    public let org: String
    public var person: String?
    public var recordedPerson: String?
    public var kind: Word<IncidentKind>
    public var zone: String?
    public var offender: String?
    public var vehicle: String?
    public var handle: String?
    public var consent: ConsentLevel
    /// The note as written in clear (before per-person keys, or about nobody registered).
    public var note: String?
    /// The note sealed under her key (`FieldState.reveal`); unreadable once she is erased.
    public var sealedNote: SealedText?
    public var occurredAt: Int64
    public var author: String
}

/// The partnership-scope summary of an incident (`incident.summary`): just what merged reports
/// count, written beside the organisation-only detail so the other charity can count it too.
public struct IncidentSummary: Sendable, Equatable {
    /// Summaries are kept per (organisation, incident): one organisation's never displaces another's.
    public struct Key: Hashable, Sendable {
        public let org: String
        public let incident: EventID
    }

    /// The summary event.
    public let id: EventID
    /// The `incident.reported` event it summarises (which other organisations cannot open).
    public let incident: EventID
    public let org: String
    public var kind: Word<IncidentKind>
    public var consent: ConsentLevel
    public var occurredAt: Int64
}

/// An incident as reports count it: from the detail where this device holds it, else from its summary.
public struct IncidentFact: Sendable, Equatable {
    public let incident: EventID
    public let org: String
    public let kind: Word<IncidentKind>
    public let consent: ConsentLevel
    public let occurredAt: Int64
}

/// An action agreed at the weekly tasking meeting for a member of the priority group.
public struct TaskingAction: Sendable, Equatable {
    public let id: EventID
    public let org: String
    /// Canonical person id.
    public var person: String
    public var recordedPerson: String
    public var action: String
    public var owner: String?
    public var due: Int64?
    public var agreedAt: Int64
    public var done = false
}

/// A police export of an incident (`incident.exported`): the audit record.
public struct IncidentExport: Sendable, Equatable {
    public let id: EventID
    public let incident: EventID
    public let org: String
    public let level: ConsentLevel
    public let recipient: String?
    public let exportedAt: Int64
    public let author: String
}

public struct Alert: Sendable, Equatable {
    public let id: EventID
    public let org: String
    public var incident: EventID?
    public var zone: String?
    public var text: String
    public var issuedAt: Int64
    public var expiresAt: Int64
    public var withdrawn: Bool

    public func isActive(at now: Int64) -> Bool { !withdrawn && expiresAt > now }
}

public struct Safeguarding: Sendable, Equatable {
    public let id: EventID
    public let org: String
    public var person: String?
    public var recordedPerson: String?
    public var category: Word<SafeguardingCategory>
    public var action: String?
    public var withConsent: Bool
    public var reason: String?
    public var occurredAt: Int64
}

/// Two or more concurrent writes to one field, kept until a later write resolves them.
public struct Conflict: Sendable, Equatable {
    public let person: String
    public let field: Field
    public let writes: [RegisterWrite]

    /// What two workers changed at once: one of her registers, or her partnership profile.
    public enum Field: Sendable, Hashable, Comparable, CustomStringConvertible {
        case register(Register)
        case profile

        /// "risk", "priority", "lead", "casework" or "profile" (tables and JSON).
        public var description: String {
            switch self {
            case .register(let r): r.rawValue
            case .profile: "profile"
            }
        }

        public static func < (a: Field, b: Field) -> Bool { a.description < b.description }
    }
}

/// Two person ids, in either order: `PersonPair(a, b) == PersonPair(b, a)`.
public struct PersonPair: Sendable, Hashable {
    public let a: String
    public let b: String

    public init(_ x: String, _ y: String) {
        (a, b) = x <= y ? (x, y) : (y, x)
    }
}
