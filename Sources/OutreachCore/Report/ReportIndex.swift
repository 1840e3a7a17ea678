import Foundation

/// Everything reports count, taken from a folded state once: contacts as columns in time order
/// (a period is a binary search away), each person's first contact with anyone and with each
/// organisation, register writes, referrals, concerns and incidents as counted.
///
/// It is made from the one fold's state (never from events), and kept as the **report snapshot**
/// (DESIGN §6): sealed under the organisation key in the store's cache with the store's content
/// mark, so a report on an unchanged store reads it back (`load(log:)`).
public struct ReportIndex: Sendable, Equatable {
    static let nobody = UInt32.max

    /// Strings the columns point into: organisations, settings, needs, service kinds.
    var words: [String] = []
    /// Canonical person ids the `person` column points into.
    var people: [String] = []

    // Contacts, in time order.
    var at: [Int64] = []
    var org: [UInt32] = []
    var person: [UInt32] = []
    var setting: [UInt32] = []
    var unidentified: [UInt32] = []
    /// Contact i's needs are `needs[needsStart[i]..<needsStart[i + 1]]` (word indices).
    var needsStart: [UInt32] = [0]
    var needs: [UInt32] = []
    var servicesStart: [UInt32] = [0]
    var serviceKind: [UInt32] = []
    var serviceCount: [UInt32] = []

    var registerWrites: [String: [Register: [RegisterWrite]]] = [:]
    /// Person ids merged into another (alias → canonical).
    var aliases: [String: String] = [:]
    var referrals: [ReportReferral] = []
    var concerns: [ReportConcern] = []
    var incidentFacts: [IncidentFact] = []
    /// Every organisation whose work the log holds, sorted.
    public internal(set) var organisations: [String] = []

    // Worked out from the above (not stored).
    var firstContact: [UInt32: Int64] = [:]
    var firstContactByOrg: [UInt32: [UInt32: Int64]] = [:]
    var outreachWords: Set<UInt32> = []
    var caseworkWord: UInt32 = .max

    struct ReportReferral: Sendable, Equatable {
        let id: EventID, org: String, destination: String, occurredAt: Int64
        /// Every outcome recorded for it (concurrent ones are a conflict, like a register's).
        var outcomeWrites: [RegisterWrite] {
            didSet { outcome = RegisterState(writes: outcomeWrites).value?.stringValue }
        }
        /// The outcome when there is exactly one live one.
        private(set) var outcome: String?

        init(id: EventID, org: String, destination: String, occurredAt: Int64, outcomeWrites: [RegisterWrite]) {
            self.id = id
            self.org = org
            self.destination = destination
            self.occurredAt = occurredAt
            self.outcomeWrites = outcomeWrites
            outcome = RegisterState(writes: outcomeWrites).value?.stringValue
        }
    }

    struct ReportConcern: Sendable, Equatable {
        let org: String, category: String, occurredAt: Int64, withConsent: Bool
    }

    init(empty: Void) {}

    public init(_ state: FieldState) {
        var interning = Interning(self)
        let sorted = state.contacts.values.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
        at.reserveCapacity(sorted.count)
        for c in sorted {
            appendContact(at: c.occurredAt, org: c.org, person: c.person, setting: c.setting, unidentified: c.unidentified,
                          needs: c.needs, services: c.services, interning: &interning)
        }
        registerWrites = state.registerWrites
        referrals = state.referrals.values.map {
            ReportReferral(id: $0.id, org: $0.org, destination: $0.destination, occurredAt: $0.occurredAt, outcomeWrites: $0.outcome?.live ?? [])
        }.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
        aliases = state.canonicalID.filter { $0.key != $0.value }
        concerns = state.safeguarding.values.map { ReportConcern(org: $0.org, category: $0.category, occurredAt: $0.occurredAt, withConsent: $0.withConsent) }
            .sorted { ($0.occurredAt, $0.category, $0.org) < ($1.occurredAt, $1.category, $1.org) }
        incidentFacts = state.incidentFacts
        organisations = PartnershipReport.organisations(in: state)
        derive()
    }

    /// Where each word and person already sits in the tables, while contacts are appended.
    struct Interning {
        var words: [String: UInt32]
        var people: [String: UInt32]

        init(_ index: ReportIndex) {
            words = Dictionary(uniqueKeysWithValues: index.words.enumerated().map { ($0.element, UInt32($0.offset)) })
            people = Dictionary(uniqueKeysWithValues: index.people.enumerated().map { ($0.element, UInt32($0.offset)) })
        }
    }

    /// Appends one contact to the columns (`person` canonical), interning its words and person.
    mutating func appendContact(at time: Int64, org: String, person: String?, setting: String, unidentified: Int, needs: [String],
                                services: [String: Int], interning: inout Interning) {
        func word(_ s: String) -> UInt32 {
            if let i = interning.words[s] { return i }
            words.append(s)
            interning.words[s] = UInt32(words.count - 1)
            return UInt32(words.count - 1)
        }
        at.append(time)
        self.org.append(word(org))
        if let p = person {
            if interning.people[p] == nil { people.append(p); interning.people[p] = UInt32(people.count - 1) }
            self.person.append(interning.people[p]!)
        } else {
            self.person.append(Self.nobody)
        }
        self.setting.append(word(setting))
        self.unidentified.append(UInt32(clamping: unidentified))
        for n in needs { self.needs.append(word(n)) }
        needsStart.append(UInt32(self.needs.count))
        for (kind, n) in services.sorted(by: { $0.key < $1.key }) {
            serviceKind.append(word(kind))
            serviceCount.append(UInt32(clamping: n))
        }
        servicesStart.append(UInt32(serviceKind.count))
    }

    /// Works out what is not stored: first contacts, and which settings are outreach.
    mutating func derive() {
        firstContact = [:]
        firstContactByOrg = [:]
        for i in at.indices where person[i] != Self.nobody {
            // Time order: the first one seen wins.
            if firstContact[person[i]] == nil { firstContact[person[i]] = at[i] }
            if firstContactByOrg[org[i]]?[person[i]] == nil { firstContactByOrg[org[i], default: [:]][person[i]] = at[i] }
        }
        outreachWords = Set(words.indices.filter { Setting(rawValue: words[$0])?.isOutreach == true }.map(UInt32.init))
        caseworkWord = words.firstIndex(of: Setting.casework.rawValue).map(UInt32.init) ?? .max
    }

    /// The contacts dated in `period`, as positions in the columns.
    func contactRange(_ period: ReportPeriod) -> Range<Int> {
        func firstIndex(atOrAfter t: Int64) -> Int {
            var low = 0, high = at.count
            while low < high {
                let mid = (low + high) / 2
                if at[mid] < t { low = mid + 1 } else { high = mid }
            }
            return low
        }
        return firstIndex(atOrAfter: period.start)..<firstIndex(atOrAfter: period.end)
    }

    public static func == (a: ReportIndex, b: ReportIndex) -> Bool {
        a.words == b.words && a.people == b.people && a.at == b.at && a.org == b.org && a.person == b.person && a.setting == b.setting
            && a.unidentified == b.unidentified && a.needsStart == b.needsStart && a.needs == b.needs && a.servicesStart == b.servicesStart
            && a.serviceKind == b.serviceKind && a.serviceCount == b.serviceCount && a.registerWrites == b.registerWrites
            && a.referrals == b.referrals && a.concerns == b.concerns && a.incidentFacts == b.incidentFacts && a.organisations == b.organisations
            && a.aliases == b.aliases
    }
}
