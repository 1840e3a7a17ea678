import Crypto
import Foundation

/// An unlocked store: what a worker's commands read and write through.
///
/// Every write turns into sealed events appended in one transaction; every read folds the log.
public struct FieldLog: Sendable {
    public let store: Store
    public let keyring: Keyring
    /// The worker whose name goes into the payloads this log writes.
    public let author: String

    public init(store: Store, keyring: Keyring, author: String) {
        self.store = store
        self.keyring = keyring
        self.author = author
    }

    /// The folded state: the sealed snapshot, with the events stored since folded in. With
    /// `.withoutContacts`, the contacts are left out (see `StateSnapshot.Part`).
    public func state(_ part: StateSnapshot.Part = .all) throws -> FieldState {
        let fold = try StateSnapshot.load(store: store, keyring: keyring, part: part).fold
        UntilExit.keep(fold)
        return fold.state
    }

    /// The state without contacts but those of the person ids (as recorded) `pick` chooses from
    /// it: read once (`person show` resolves her, then reads her pages).
    public func state(contactsOf pick: (FieldState) throws -> Set<String>) throws -> FieldState {
        var read = try StateSnapshot.read(store: store, keyring: keyring, part: .withoutContacts)
        try read.addContacts(of: try pick(read.fold.state), store: store, keyring: keyring)
        UntilExit.keep(read.fold)
        return read.fold.state
    }

    /// The people and zones (the state read without contacts): what resolving a ref needs.
    public func personIndex() throws -> PersonIndex { PersonIndex(try state(.withoutContacts)) }

    /// The report index holding the contacts of `periods` (nil: all), from its sealed snapshot
    /// where it can (`ReportIndex.load`).
    public func reportIndex(covering periods: [ReportPeriod]? = nil) throws -> (index: ReportIndex, source: ReportIndex.Source) {
        try ReportIndex.load(store: store, keyring: keyring, covering: periods)
    }

    /// `body` as this worker's payload of something that happened `at`.
    func payload(_ body: some EventBody, at: Int64) -> Payload { Payload(body, at: at, author: author) }

    // MARK: People

    /// Registers a person under a working name. Returns the new person id and the events.
    @discardableResult
    public func registerPerson(name: String, descriptor: String? = nil, note: String? = nil, code: PartnershipCode? = nil,
                               profile: [String: JSONValue] = [:], avoiding known: [String] = [], at: Int64) throws -> (person: String, events: [Event]) {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw FieldlogError.badInput("a working name is needed", input: .name) }
        let person = Self.newPersonID(avoiding: known)
        // Her own key rides in her registration (org scope): text about her written later is
        // sealed under it, and it is purged with the registration when she is erased (erasure.md §6).
        let registered = Body.PersonRegistered(person: person, name: name, descriptor: descriptor, note: note, key: ScopeKey.generate().bytes)
        var drafts = [Draft(payload(registered, at: at))]
        var values = profile
        if let code { values["code"] = .string(code.hash(with: keyring.codeKey)) }
        if !values.isEmpty { drafts.append(Draft(payload(Body.PersonProfile(person: person, values: values), at: at))) }
        return (person, try store.append(drafts, keyring: keyring))
    }

    /// The key text about `person` (as recorded) is sealed under: the key in this organisation's
    /// registration of her under any of her ids (the earliest, if several). Nil for someone this
    /// organisation did not register, or registered before 0.3: her text is then written in
    /// clear, and it is the writing organisation's own record of her (erasure.md §6).
    func personKey(for person: String) throws -> ScopeKey? {
        let fold = try StateSnapshot.read(store: store, keyring: keyring, part: .withoutContacts).fold
        let root = fold.state.canonical(person)
        let ids = Set([root, person] + (fold.state.people[root]?.aliases ?? []))
        let registrations = ids.flatMap { (fold.registrations[$0] ?? [:]).map { $0 } }
        return registrations.filter { $0.value.org == keyring.org && $0.value.key != nil }
            .min { ($0.value.at, $0.key) < ($1.value.at, $1.key) }?.value.personKey
    }

    /// The free-text fields (name → text, nil for none) of a `type` event about `person`, each
    /// sealed under her key when she has one, else in clear. Her key is looked up only when there
    /// is text to seal (an incident without a note reads no state).
    func personTexts(_ texts: [String: String?], _ type: EventType, person: String?) throws -> [String: PersonText] {
        let present = texts.compactMapValues { $0 }
        guard !present.isEmpty else { return [:] }
        guard let person, let key = try personKey(for: person) else { return present.mapValues { .clear($0) } }
        return try Dictionary(uniqueKeysWithValues: present.map { field, text in
            (field, .sealed(try SealedText.seal(text, key: key, type: type, field: field, person: person)))
        })
    }

    /// A new random person id that shares its first 4 hex characters with none of `known` (while
    /// there is room), so no ref this laptop has printed for someone else (at least 4 characters)
    /// can ever start the new one: refs printed here stay unique through this laptop's additions
    /// (`docs/refs.md`). Ids stay uniformly random over what is left.
    static func newPersonID(avoiding known: [String]) -> String {
        let taken = Set(known.map { $0.prefix(4) })
        guard taken.count < 1 << 15 else { return Hex.random(bytes: 16) }
        while true {
            let id = Hex.random(bytes: 16)
            if !taken.contains(id.prefix(4)) { return id }
        }
    }

    /// Records that two person ids are the same person.
    @discardableResult
    public func link(_ a: String, _ b: String, at: Int64) throws -> Event {
        guard a != b else { throw FieldlogError.badInput("a person cannot be linked to themselves") }
        return try store.append([Draft(payload(Body.PersonsLinked(a, b), at: at))], keyring: keyring)[0]
    }

    /// Records that two of this organisation's people are not the same woman, so the likely
    /// duplicates leave the pair out (`LikelyDuplicates`); retracting it brings the pair back.
    @discardableResult
    public func markDistinct(_ a: String, _ b: String, at: Int64) throws -> Event {
        guard a != b else { throw FieldlogError.badInput("a person is always the same as herself") }
        return try store.append([Draft(payload(Body.PersonsDistinct(a, b), at: at))], keyring: keyring)[0]
    }

    /// Writes a register value (risk, priority, lead, casework). Its causal context covers every
    /// write this device has seen, so writing after seeing a conflict resolves it.
    @discardableResult
    public func setRegister(_ register: Register, of person: String, to value: JSONValue, reason: String? = nil,
                            review: Int64? = nil, at: Int64) throws -> Event {
        let why = try personTexts(["reason": reason], .registerSet, person: person)["reason"]
        let body = Body.RegisterSet(person: person, register: register, value: value, reason: why, review: review)
        return try store.append([Draft(payload(body, at: at))], keyring: keyring)[0]
    }

    // MARK: Contacts

    /// What logging a contact wrote.
    public struct LoggedContact: Sendable {
        public let contact: Event
        public let note: Event?
        public let referrals: [Event]
        /// Every event written, in order.
        public var allEvents: [Event] { [contact] + referrals + (note.map { [$0] } ?? []) }
    }

    /// Logs a contact with a known person, or with `unidentified` people seen but not identified.
    /// A note and referrals made at the contact become events of their own that name it.
    @discardableResult
    public func logContact(_ contact: NewContact, at: Int64) throws -> LoggedContact {
        guard (contact.person == nil) != (contact.unidentified == 0) else {
            throw FieldlogError.badInput("a contact is with one known person or with a number of people not identified, not both", input: .unidentified)
        }
        guard contact.unidentified >= 0 && contact.unidentified <= 500 else { throw FieldlogError.badInput("the number of people not identified must be between 1 and 500", input: .unidentified) }
        let logged = Body.ContactLogged(
            person: contact.person, unidentified: contact.unidentified, setting: .known(contact.setting), zone: contact.zone, workers: contact.workers,
            welfare: contact.welfareCheck, services: Dictionary(uniqueKeysWithValues: contact.services.map { (Word.known($0.key), $0.value) }),
            needs: contact.needs.sorted { $0.rawValue < $1.rawValue }.map { .known($0) })
        // One act, one transaction: the referrals and the note name the contact (draft 0).
        var drafts = [Draft(payload(logged, at: at))]
        for destination in contact.referrals {
            let referral = Body.ReferralMade(person: contact.person, destination: .known(destination), method: .known(contact.referralMethod))
            drafts.append(Draft(payload(referral, at: at), references: ["contact": 0]))
        }
        let hasNote = contact.note?.isEmpty == false
        if hasNote, let note = contact.note {
            drafts.append(Draft(payload(Body.ContactNote(text: note), at: at), references: ["contact": 0]))
        }
        let written = try store.append(drafts, keyring: keyring)
        return LoggedContact(contact: written[0], note: hasNote ? written.last : nil, referrals: Array(written.dropFirst().prefix(contact.referrals.count)))
    }

    // MARK: Incidents and alerts

    /// Records an incident (organisation only), its summary for merged reports (partnership: kind
    /// and consent level, nothing else) and, at L1 and above, the alert that warns others
    /// (partnership, no victim identity). Returns the incident, its summary and the alert if any.
    @discardableResult
    public func reportIncident(_ incident: NewIncident, at: Int64, now: Int64) throws -> (incident: Event, summary: Event, alert: Event?) {
        let reported = Body.IncidentReported(
            person: incident.person, kind: .known(incident.kind), consent: incident.consent, zone: incident.zone, offender: incident.offender,
            vehicle: incident.vehicle, handle: incident.handle, note: try personTexts(["note": incident.note], .incidentReported, person: incident.person)["note"])
        // One act, one transaction: the summary and the alert name the incident (draft 0).
        var drafts = [Draft(payload(reported, at: at)),
                      Draft(payload(Body.IncidentSummary(kind: .known(incident.kind), consent: incident.consent), at: at), references: ["incident": 0])]
        if incident.consent >= .l1 {
            let text = [incident.kind.rawValue.replacingOccurrences(of: "-", with: " "), incident.offender, incident.vehicle.map { "vehicle: \($0)" },
                        incident.handle.map { "phone/handle: \($0)" }].compactMap { $0 }.joined(separator: "; ")
            let alert = Body.AlertIssued(zone: incident.zone, text: text, expires: now + incident.alertLifetime)
            drafts.append(Draft(payload(alert, at: at), references: ["incident": 0]))
        }
        let written = try store.append(drafts, keyring: keyring)
        return (written[0], written[1], written.count > 2 ? written[2] : nil)
    }

}

/// A contact as a worker enters it.
public struct NewContact: Sendable {
    public var person: String?
    public var unidentified = 0
    public var setting: Setting
    public var zone: String?
    public var services: [Service: Int] = [:]
    public var needs: Set<Need> = []
    public var referrals: [ReferralDestination] = []
    public var referralMethod: ReferralMethod = .refer
    public var welfareCheck = false
    public var workers: [String] = []
    public var note: String?

    public init(person: String?, unidentified: Int = 0, setting: Setting, zone: String? = nil) {
        self.person = person
        self.unidentified = unidentified
        self.setting = setting
        self.zone = zone
    }
}

/// An incident as a worker enters it.
public struct NewIncident: Sendable {
    public var person: String?
    public var kind: IncidentKind
    public var consent: ConsentLevel
    public var zone: String?
    public var offender: String?
    public var vehicle: String?
    public var handle: String?
    public var note: String?
    /// How long the alert stays active (default 28 days).
    public var alertLifetime: Int64 = 28 * 86_400_000

    public init(person: String?, kind: IncidentKind, consent: ConsentLevel) {
        self.person = person
        self.kind = kind
        self.consent = consent
    }
}

/// The partnership code: a keyed hash of normalised initials, date of birth and sex, so both
/// charities can recognise one person without sharing a name (DESIGN §4).
public struct PartnershipCode: Sendable, Equatable {
    public let initials: String
    public let dateOfBirth: String
    public let sex: String

    public init(initials: String, dateOfBirth: String, sex: String) throws {
        let i = initials.uppercased().filter { $0.isLetter && $0.isASCII }
        guard (1...3).contains(i.count) else { throw FieldlogError.badInput("initials must be 1 to 3 letters, e.g. AB") }
        guard dateOfBirth.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else {
            throw FieldlogError.badInput("cannot read the date of birth \"\(dateOfBirth)\"", hint: "use YYYY-MM-DD")
        }
        let s = sex.uppercased()
        guard ["F", "M", "X"].contains(s) else { throw FieldlogError.badInput("sex must be F, M or X") }
        self.initials = i
        self.dateOfBirth = dateOfBirth
        self.sex = s
    }

    /// HMAC-SHA256 under the partnership key of `INITIALS|YYYY-MM-DD|SEX`, hex.
    public func hash(with key: ScopeKey) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data("\(initials)|\(dateOfBirth)|\(sex)".utf8), using: key.key))
    }
}
