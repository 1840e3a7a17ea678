import Foundation

/// Everything reports count, taken from a folded state: contacts as columns in time order (a
/// period is a binary search away), one set of columns per contact page of the state snapshot
/// (`Protocol/fold.md` §5), each person's first contact with anyone and with each organisation,
/// register writes, referrals, concerns and incidents as counted.
///
/// It is made from the one fold's state (never from events), and kept as the **report snapshot**
/// (DESIGN §6): sealed under the organisation key in the store's cache, with the store's content
/// mark and the row it is of. A report on an unchanged store reads it back; after new events,
/// only the pages they may change are read and their columns made again (`load(log:)`).
public struct ReportIndex: Sendable, Equatable {
    static let nobody = UInt32.max

    /// Strings the columns point into: organisations, settings, zones, needs, service kinds.
    var words: [String] = []
    /// Person ids the `person` columns point into: as the contacts name them, and as merged.
    var people: [String] = []
    /// One page's contacts, in time order: all of them, or those of `loadedSegments`.
    var pages = [ContactColumns](repeating: ContactColumns(), count: Fold.contactPages + 1)
    /// Each page's first contacts, from all of its contacts whichever are loaded.
    var firsts = [PageFirsts](repeating: PageFirsts(), count: Fold.contactPages + 1)
    /// The segments whose contacts `pages` hold (nil: every contact; `ReportSegments.swift`).
    var loadedSegments: Set<Int64>?

    var registerWrites: [String: [Register: [RegisterWrite]]] = [:]
    /// Person ids merged into another (alias → canonical).
    var aliases: [String: String] = [:]
    var referrals: [ReportReferral] = []
    var concerns: [ReportConcern] = []
    var incidentFacts: [IncidentFact] = []
    /// Organisations whose work the log holds apart from contacts (people, referrals, ...), sorted.
    var otherOrganisations: [String] = []

    // Worked out from the above (not stored).
    /// Every organisation whose work the log holds, sorted.
    public internal(set) var organisations: [String] = []
    /// The merged person of each entry of `people` (an index into `people`).
    var canonical: [UInt32] = []
    /// Each merged person's first contact with anyone (by index into `people`; `never`: none).
    var firstContact: [Int64] = []
    /// The same with each organisation (by its index into `words`).
    var firstContactByOrg: [UInt32: [Int64]] = [:]
    static let never = Int64.max
    var outreachWords: Set<UInt32> = []
    var caseworkWord: UInt32 = .max

    /// The contacts of one page as columns, in time order.
    struct ContactColumns: Sendable, Equatable {
        var at: [Int64] = []
        var org: [UInt32] = []
        /// The person as the contact names her (`nobody`: not identified).
        var person: [UInt32] = []
        var setting: [UInt32] = []
        /// The zone the contact was in (`nobody`: none given).
        var zone: [UInt32] = []
        var unidentified: [UInt32] = []
        /// Contact i's needs are `needs[needsStart[i]..<needsStart[i + 1]]` (word indices).
        var needsStart: [UInt32] = [0]
        var needs: [UInt32] = []
        var servicesStart: [UInt32] = [0]
        var serviceKind: [UInt32] = []
        var serviceCount: [UInt32] = []

        /// The contacts dated in `period`, as positions in the columns.
        func range(_ period: ReportPeriod) -> Range<Int> {
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
    }

    struct ReportReferral: Sendable, Equatable {
        let id: EventID, org: String, destination: Word<ReferralDestination>, occurredAt: Int64
        /// Every outcome recorded for it (concurrent ones are a conflict, like a register's).
        var outcomeWrites: [RegisterWrite] {
            didSet { outcome = Self.outcome(outcomeWrites) }
        }
        /// The outcome when there is exactly one live one.
        private(set) var outcome: Word<ReferralOutcomeKind>?

        static func outcome(_ writes: [RegisterWrite]) -> Word<ReferralOutcomeKind>? {
            RegisterState(writes: writes).word(ReferralOutcomeKind.self)
        }

        init(id: EventID, org: String, destination: Word<ReferralDestination>, occurredAt: Int64, outcomeWrites: [RegisterWrite]) {
            self.id = id
            self.org = org
            self.destination = destination
            self.occurredAt = occurredAt
            self.outcomeWrites = outcomeWrites
            outcome = Self.outcome(outcomeWrites)
        }
    }

    struct ReportConcern: Sendable, Equatable {
        let org: String, category: Word<SafeguardingCategory>, occurredAt: Int64, withConsent: Bool
    }

    init(empty: Void) {}

    /// The index of a whole state.
    public init(_ state: FieldState) {
        self.init(empty: ())
        update(pages: Set(pages.indices), from: state)
    }

    /// Makes the columns of `changed` pages again from `state` (which holds every contact of
    /// those pages, and may hold others), and everything but the contacts.
    mutating func update(pages changed: Set<Int>, from state: FieldState) {
        var interning = Interning(self)
        var byPage = [Int: [Contact]]()
        for c in state.contacts.values {
            let page = Fold.contactPage(c.recordedPerson)
            if changed.contains(page) { byPage[page, default: []].append(c) }
        }
        for page in changed {
            var columns = ContactColumns()
            let sorted = (byPage[page] ?? []).sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
            columns.at.reserveCapacity(sorted.count)
            for c in sorted { append(c, to: &columns, interning: &interning) }
            pages[page] = columns
            firsts[page] = PageFirsts(columns)
        }
        registerWrites = state.registerWrites
        referrals = state.referrals.values.map {
            ReportReferral(id: $0.id, org: $0.org, destination: $0.destination, occurredAt: $0.occurredAt, outcomeWrites: $0.outcome?.live ?? [])
        }.sorted { ($0.occurredAt, $0.id) < ($1.occurredAt, $1.id) }
        aliases = state.canonicalID.filter { $0.key != $0.value }
        concerns = state.safeguarding.values.map { ReportConcern(org: $0.org, category: $0.category, occurredAt: $0.occurredAt, withConsent: $0.withConsent) }
            .sorted { ($0.occurredAt, $0.category, $0.org) < ($1.occurredAt, $1.category, $1.org) }
        incidentFacts = state.incidentFacts
        var without = state
        without.contacts = [:]
        otherOrganisations = PartnershipReport.organisations(in: without)
        derive()
    }

    /// Where each word and person already sits in the tables, while contacts are appended.
    struct Interning {
        var words: [String: UInt32]
        var people: [String: UInt32]

        init(_ index: ReportIndex) {
            words = Dictionary(index.words.enumerated().map { ($0.element, UInt32($0.offset)) }, uniquingKeysWith: { a, _ in a })
            people = Dictionary(index.people.enumerated().map { ($0.element, UInt32($0.offset)) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Appends one contact to `columns`, interning its words and person.
    mutating func append(_ c: Contact, to columns: inout ContactColumns, interning: inout Interning) {
        func word(_ s: String) -> UInt32 {
            if let i = interning.words[s] { return i }
            words.append(s)
            interning.words[s] = UInt32(words.count - 1)
            return UInt32(words.count - 1)
        }
        columns.at.append(c.occurredAt)
        columns.org.append(word(c.org))
        if let p = c.recordedPerson {
            if interning.people[p] == nil { people.append(p); interning.people[p] = UInt32(people.count - 1) }
            columns.person.append(interning.people[p]!)
        } else {
            columns.person.append(Self.nobody)
        }
        columns.setting.append(word(c.setting.rawValue))
        columns.zone.append(c.zone.map(word) ?? Self.nobody)
        columns.unidentified.append(UInt32(clamping: c.unidentified))
        for n in c.needs { columns.needs.append(word(n.rawValue)) }
        columns.needsStart.append(UInt32(columns.needs.count))
        for (kind, n) in c.services.sorted(by: { $0.key < $1.key }) {
            columns.serviceKind.append(word(kind.rawValue))
            columns.serviceCount.append(UInt32(clamping: n))
        }
        columns.servicesStart.append(UInt32(columns.serviceKind.count))
    }

    /// Works out what is not stored: merged persons, first contacts, organisations, and which
    /// settings are outreach.
    mutating func derive() {
        var interning = Interning(self).people
        canonical = []
        canonical.reserveCapacity(people.count)
        var i = 0
        while i < people.count {  // (a merged id not yet in the table is appended, and maps to itself)
            let root = aliases[people[i]] ?? people[i]
            if interning[root] == nil { people.append(root); interning[root] = UInt32(people.count - 1) }
            canonical.append(interning[root]!)
            i += 1
        }
        // Arrays by person and by word, not dictionaries; from each page's first contacts, so
        // no contact need be read.
        firstContact = Array(repeating: Self.never, count: people.count)
        var slot = [Int](repeating: -1, count: words.count)  // organisation word → its array in `byOrg`
        var byOrg = [[Int64]]()
        for f in firsts {
            for i in f.at.indices {
                let org = Int(f.org[i])
                if slot[org] < 0 {
                    slot[org] = byOrg.count
                    byOrg.append(Array(repeating: Self.never, count: people.count))
                }
                guard f.person[i] != Self.nobody else { continue }
                let p = Int(canonical[Int(f.person[i])]), at = f.at[i], k = slot[org]
                if at < firstContact[p] { firstContact[p] = at }
                if at < byOrg[k][p] { byOrg[k][p] = at }
            }
        }
        firstContactByOrg = [:]
        var orgs = Set(otherOrganisations)
        for (word, k) in slot.enumerated() where k >= 0 {
            firstContactByOrg[UInt32(word)] = byOrg[k]
            orgs.insert(words[word])
        }
        orgs.remove("")
        organisations = orgs.sorted()
        // (The columns hold settings as interned words: the edge where a Setting became text.)
        outreachWords = Set(words.indices.filter { Word<Setting>(words[$0]).known?.isOutreach == true }.map(UInt32.init))
        caseworkWord = words.firstIndex(of: Setting.casework.rawValue).map(UInt32.init) ?? .max
    }
}
