import Foundation

/// Everything reports count, taken from a folded state once: contacts as columns in time order
/// (a period is a binary search away), each person's first contact with anyone and with each
/// organisation, register writes, referrals, concerns and incidents as counted.
///
/// It is also the **report snapshot** (DESIGN §6): sealed under the organisation key in the
/// store's cache with the store vector it was folded at, so a report on an unchanged store reads
/// it back instead of folding every event (`load(log:)`).
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
        let org: String, destination: String, occurredAt: Int64
        /// The outcome when there is exactly one live one.
        let outcome: String?
    }

    struct ReportConcern: Sendable, Equatable {
        let org: String, category: String, occurredAt: Int64, withConsent: Bool
    }

    init(empty: Void) {}

    public init(_ state: FieldState) {
        var wordIndex = [String: UInt32](), personIndex = [String: UInt32]()
        func word(_ s: String) -> UInt32 {
            if let i = wordIndex[s] { return i }
            words.append(s)
            wordIndex[s] = UInt32(words.count - 1)
            return UInt32(words.count - 1)
        }
        let sorted = state.contacts.values.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
        at.reserveCapacity(sorted.count)
        for c in sorted {
            at.append(c.occurredAt)
            org.append(word(c.org))
            if let p = c.person {
                if personIndex[p] == nil { people.append(p); personIndex[p] = UInt32(people.count - 1) }
                person.append(personIndex[p]!)
            } else {
                person.append(Self.nobody)
            }
            setting.append(word(c.setting))
            unidentified.append(UInt32(clamping: c.unidentified))
            for n in c.needs { needs.append(word(n)) }
            needsStart.append(UInt32(needs.count))
            for (kind, n) in c.services.sorted(by: { $0.key < $1.key }) {
                serviceKind.append(word(kind))
                serviceCount.append(UInt32(clamping: n))
            }
            servicesStart.append(UInt32(serviceKind.count))
        }
        registerWrites = state.registerWrites
        referrals = state.referrals.values.map { ReportReferral(org: $0.org, destination: $0.destination, occurredAt: $0.occurredAt, outcome: $0.outcome?.value?.stringValue) }
            .sorted { ($0.occurredAt, $0.destination, $0.org) < ($1.occurredAt, $1.destination, $1.org) }
        concerns = state.safeguarding.values.map { ReportConcern(org: $0.org, category: $0.category, occurredAt: $0.occurredAt, withConsent: $0.withConsent) }
            .sorted { ($0.occurredAt, $0.category, $0.org) < ($1.occurredAt, $1.category, $1.org) }
        incidentFacts = state.incidentFacts
        organisations = PartnershipReport.organisations(in: state)
        derive()
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
    }
}
