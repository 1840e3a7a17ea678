import NIOConcurrencyHelpers
import OutreachCore

/// What a server instance remembers of the events at recent dots, so that a page in a crowd costs
/// the database only what may have changed (issue 12: reading each page's index was nine tenths
/// of PostgreSQL's time when 200 laptops pulled one another's evenings; SQLite reads it too).
///
/// Within one storage the event at a dot never changes: the id, organisation and scope of a row
/// are fixed by the append-only rules the database enforces (a purge changes only the payload and
/// the purged flag). So those facts may be remembered by any instance for ever, and a page built
/// from them asks the database, in its own snapshot, only which of its dots are purged or
/// quarantined now (through small indexes: `fieldlog_dot_changes` on PostgreSQL). What changes is never
/// remembered: an erasure on another instance is seen by the next page here.
///
/// Each origin's facts are one run of consecutive seqs, the most recent kept: pushes through this
/// instance extend it as they commit, and a page fetches what it lacks (`fieldlog_dot_facts`)
/// when that is small; a page far behind (a new laptop's first sync) reads the index as before.
/// One memory serves every partnership of a server (`PostgresPartnerships`, `SQLitePartnerships`),
/// each origin's run kept under its partnership's name: an origin in two partnerships is two
/// runs, never shared.
public final class DotFacts: Sendable {
    public struct Fact: Sendable, Equatable {
        public let id: EventID
        public let org: String
        /// Partnership or public scope: every organisation's laptops are sent it.
        public let shared: Bool
        public init(id: EventID, org: String, shared: Bool) { (self.id, self.org, self.shared) = (id, org, shared) }
        /// Shared exactly when every page's index says so: partnership or public scope (an
        /// unknown scope is not).
        public init(id: EventID, org: String, scope: Scope) { self.init(id: id, org: org, shared: scope == .partnership || scope == .public) }
    }

    /// One origin's consecutive facts from seq `first`.
    struct Run: Sendable {
        var first: UInt64
        var facts: [Fact]
        var last: UInt64 { first + UInt64(facts.count) - 1 }
        func covers(_ seq: UInt64) -> Bool { seq >= first && seq <= last }
    }

    /// An origin within one partnership (by its schema or name; nil: the default partnership).
    struct Origin: Hashable, Sendable {
        let schema: String?
        let replica: ReplicaID
    }

    /// At most this many facts per origin (the most recent), and in all, for every partnership;
    /// past the total, the instance forgets everything and starts again (about 130 bytes a fact:
    /// 26 MB at most).
    public let perOrigin: Int
    public let capacity: Int
    private let state = NIOLockedValueBox<(runs: [Origin: Run], count: Int)>(([:], 0))

    public init(perOrigin: Int = 4_096, capacity: Int = 200_000) {
        (self.perOrigin, self.capacity) = (perOrigin, capacity)
    }

    public var count: Int { state.withLockedValue { $0.count } }

    /// Remembers the facts of events a committed push inserted (consecutive per origin, or a
    /// new run where they leave a gap: the recent ones are those pages ask for).
    public func remember(_ events: [Event], in schema: String?) {
        let byOrigin = Dictionary(grouping: events, by: \.dot.replica)
        state.withLockedValue { state in
            for (replica, events) in byOrigin {
                let sorted = events.sorted { $0.dot.seq < $1.dot.seq }
                Self.add(sorted.map { ($0.dot.seq, Fact(id: $0.id, org: $0.org, scope: $0.scope)) }, to: Origin(schema: schema, replica: replica),
                         &state, perOrigin, capacity)
            }
        }
    }

    /// Remembers facts read from the database for `origin`: consecutive seqs, sorted.
    public func remember(_ facts: [(UInt64, Fact)], of replica: ReplicaID, in schema: String?) {
        state.withLockedValue { Self.add(facts, to: Origin(schema: schema, replica: replica), &$0, perOrigin, capacity) }
    }

    private static func add(_ facts: [(UInt64, Fact)], to origin: Origin, _ state: inout (runs: [Origin: Run], count: Int),
                            _ perOrigin: Int, _ capacity: Int) {
        guard let start = facts.first?.0 else { return }
        var run = state.runs[origin] ?? Run(first: start, facts: [])
        let before = run.facts.count
        if run.facts.isEmpty || start > run.last + 1 || start < run.first {
            run = Run(first: start, facts: [])  // a gap, or older than the run: start again from these
        }
        for (seq, fact) in facts {
            if run.facts.isEmpty || seq == run.last + 1 {
                run.facts.append(fact)
            } else if run.covers(seq) {
                // Already remembered: the same event, or the memory is wrong and is dropped.
                guard run.facts[Int(seq - run.first)] == fact else {
                    state.count -= before
                    state.runs[origin] = nil
                    return
                }
            } else {
                break  // not consecutive: keep what is
            }
        }
        if run.facts.count > perOrigin {
            let drop = run.facts.count - perOrigin
            run.facts.removeFirst(drop)
            run.first += UInt64(drop)
        }
        state.count += run.facts.count - before
        state.runs[origin] = run
        if state.count > capacity { state = ([:], 0) }
    }

    /// For each range `(lo, hi]` asked, the part this instance lacks: nil where it has it all.
    public func lacking(_ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)], in schema: String?) -> [(origin: ReplicaID, lo: UInt64, hi: UInt64)] {
        state.withLockedValue { state in
            ranges.compactMap { range in
                guard let run = state.runs[Origin(schema: schema, replica: range.origin)], run.covers(range.lo + 1) else { return range }
                return run.last >= range.hi ? nil : (range.origin, run.last, range.hi)
            }
        }
    }

    /// The page's entries from memory: `ranges` in order, each from its lo up, what `org` is
    /// entitled to, never a quarantined dot, purged where `changes` says so, at most `budget`
    /// entries; nil if a range is no longer all remembered (forgotten meanwhile).
    public func entries(for org: String, _ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)], in schema: String?, changes: [Dot: Change],
                 budget: Int) -> [Page.Entry]? {
        state.withLockedValue { state in
            var out = [Page.Entry]()
            for range in ranges where out.count < budget && range.hi > range.lo {
                guard let run = state.runs[Origin(schema: schema, replica: range.origin)], run.covers(range.lo + 1), run.covers(range.hi) else { return nil }
                for seq in range.lo + 1 ... range.hi {
                    let fact = run.facts[Int(seq - run.first)]
                    guard fact.shared || fact.org == org else { continue }
                    let dot = Dot(range.origin, seq)
                    let change = changes[dot]
                    if change == .quarantined { continue }
                    out.append(Page.Entry(id: fact.id, dot: dot, purged: change == .purged))
                    if out.count == budget { break }
                }
            }
            return out
        }
    }

    public enum Change: Sendable { case purged, quarantined }

    /// Whether a page of `ranges` is small enough to be built from memory.
    public func mayServe(_ ranges: [(origin: ReplicaID, lo: UInt64, hi: UInt64)]) -> Bool {
        ranges.allSatisfy { $0.hi - $0.lo <= UInt64(perOrigin) } && ranges.reduce(0, { $0 + Int($1.hi - $1.lo) }) <= capacity / 8
    }
}
