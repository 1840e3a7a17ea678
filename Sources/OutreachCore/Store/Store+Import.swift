import Foundation
import GRDB

/// Where a batch of events comes from, and what it may vouch for (`Protocol/trust.md` §6).
public struct BatchOrigin: Sendable {
    /// A sync page's vectors (`Protocol/sync-model.md`, "covered"): the page holds every event
    /// the device is entitled to above `since`, up to `covered`.
    public struct Coverage: Sendable {
        public let since: VersionVector
        public let covered: VersionVector
        /// What the server held when it answered, and when: remembered in the page's own commit
        /// (`Store.lastSync`), so a page costs one synced write.
        public let server: (vector: VersionVector, at: Int64)?
    }

    /// For people and set-aside records: `sync`, or the bundle's writer.
    public let source: String
    /// Nil for a bundle: its header is a claim, so only the events it carries advance the vector.
    public let coverage: Coverage?

    /// A page from a sync server: `since` is the vector the device sent; `server`, what the
    /// server held, to remember with the page.
    public static func server(since: VersionVector, covered: VersionVector, server: (vector: VersionVector, at: Int64)? = nil) -> BatchOrigin {
        BatchOrigin(source: "sync", coverage: Coverage(since: since, covered: covered, server: server))
    }

    /// Events that vouch only for themselves (a bundle, a test's hand-made batch).
    public static func carried(_ source: String) -> BatchOrigin { BatchOrigin(source: source, coverage: nil) }
}

/// What the store did with a judged batch (`merge(_:from:)`).
public struct MergeOutcome: Sendable, Equatable {
    public var stored = 0
    public var alreadyHad = 0
    /// Events that broke a rule, by rule: kept apart, never folded.
    public var setAside: [Authority.Rule: Int] = [:]
    /// Events set aside earlier that now pass.
    public var recovered = 0
    /// Events whose payloads were erased here (purged in place, or taken as tombstones).
    public var purged = 0
    /// Keys granted to this device that were kept.
    public var keysGained = 0
    public init() {}
}

/// A batch judged above the store by the rules that need keys (`Protocol/trust.md` §4: the
/// key and payload rules, revocation; erasure.md's P2), ready for the store to merge with the
/// rules it judges itself (a fork, a dot already held, P1, P3).
public struct JudgedBatch: Sendable {
    /// The events to merge, those examined again from the set-aside included.
    public var events: [Event]
    /// Per event: nil where it passes, else the rule it breaks.
    public var verdicts: [Authority.Rule?]
    /// Set-aside events examined again: their rows stay, with the rule they break now.
    public var retried: Set<EventID> = []
    /// Whether the store held set-aside events before (then what passes leaves the set-aside).
    public var hadSetAside = false
    /// The roster to save, when the batch's certificates were admitted.
    public var roster: Roster?
    /// The revocations the batch carries (honoured).
    public var revocations: [Authority.Revocation] = []
    /// The keys it grants to this device, kept as they came.
    public var grants: [KeptGrant] = []
    /// The purges among `events` that break P2, by the purge's id.
    public var identifyingRules: [EventID: Authority.Rule] = [:]

    public init(events: [Event], verdicts: [Authority.Rule?]) {
        self.events = events
        self.verdicts = verdicts
    }
}

extension Store {
    /// The set-aside events that broke one of `rules` (to examine again).
    func setAsideEvents(breaking rules: [Authority.Rule]) throws -> [Event] {
        let texts = try db.read {
            try String.fetchAll($0, sql: "SELECT event FROM set_aside WHERE rule IN (\(rules.map { _ in "?" }.joined(separator: ",")))",
                                arguments: StatementArguments(rules.map(\.rawValue)))
        }
        return texts.compactMap { try? Event(json: JSONValue.parse($0)) }
    }

    /// Merges a judged batch in one transaction: what passes is stored; a dot already held with
    /// the same id is ignored (idempotence); what fails, a fork included, is set aside with the
    /// rule it broke, and the rest goes on: nothing a peer sends can stop a sync. Purges are
    /// judged first (P1 here, P2 above) and decide which events arrive or are stored purged.
    /// A failure to write leaves the store as it was.
    public func merge(_ judged: JudgedBatch, from origin: BatchOrigin) throws -> MergeOutcome {
        var outcome = MergeOutcome()
        let batch = judged.events
        var verdicts = judged.verdicts
        let retried = judged.retried
        let me = info.replica
        let now = WallClock.nowMillis()
        let carriesPurge = batch.contains { $0.scope == .public }
        let result = try db.write { db in
            if let roster = judged.roster { try Self.save(roster, db) }
            try Self.note(judged.revocations, db)
            try Self.keep(judged.grants, replica: me, db)
            outcome.keysGained = judged.grants.count
            let lookup = try db.cachedStatement(sql: "SELECT id FROM events WHERE origin = ? AND seq = ?")
            let insert = try db.cachedStatement(sql: EventTable.mergeSQL)
            let setAside = try db.cachedStatement(sql: """
                INSERT INTO set_aside(id, origin, seq, org, scope, rule, event, source, received_at) VALUES (?,?,?,?,?,?,?,?,?)
                ON CONFLICT(id) DO NOTHING
                """)
            let unSetAside = try db.cachedStatement(sql: "DELETE FROM set_aside WHERE id = ?")
            let reRule = try db.cachedStatement(sql: "UPDATE set_aside SET rule = ? WHERE id = ?")
            func putAside(_ e: Event, _ rule: Authority.Rule) throws {
                if retried.contains(e.id) {  // examined again: its row stays, with the rule it breaks now
                    try reRule.execute(arguments: [rule.rawValue, e.id.hex])
                    return
                }
                try setAside.execute(arguments: [e.id.hex, e.dot.replica.rawValue, Int64(e.dot.seq), e.org, e.scope.rawValue, rule.rawValue,
                                                 e.json.canonicalString(), origin.source, now])
                outcome.setAside[rule, default: 0] += 1
            }
            let held = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE \(EventTable.idIs("?1"))")
            // Purges first (erasure.md §3): judged on what is held and carried, then they decide
            // which events arrive purged and which are stored purged.
            var honoured = [EventTable.Purge]()
            let candidates = Self.purges(in: batch, verdicts: verdicts)
            let carried = candidates.isEmpty ? [:] : EventTable.carriedOwners(batch)
            for candidate in candidates {
                let rule: Authority.Rule? = try EventTable.namesForeignEvent(candidate, carried: carried, db)
                    ? .foreignPurge : judged.identifyingRules[candidate.event.id]
                if let rule {
                    if let i = batch.firstIndex(where: { $0.id == candidate.event.id }) { verdicts[i] = rule }
                } else {
                    honoured.append(candidate)
                }
            }
            var named = try EventTable.purges(naming: batch, db)
            for p in honoured { named.formUnion(p.named) }
            var touched = EventTable.Touched()
            for (received, verdict) in zip(batch, verdicts) {
                var event = received
                if verdict == nil {
                    guard let stored = EventTable.asStored(received, named: named) else {
                        // Stripped by someone who may not erase it: the genuine event is still taken.
                        if try Bool.fetchOne(held, arguments: [event.id.hex]) != nil { outcome.alreadyHad += 1; continue }
                        try putAside(event, .unauthorisedPurge)
                        continue
                    }
                    event = stored
                }
                if let rule = verdict {
                    // A copy of an event already held, with its signature spoilt, is nothing new.
                    if try Bool.fetchOne(held, arguments: [event.id.hex]) != nil { outcome.alreadyHad += 1; continue }
                    try putAside(event, rule)
                    continue
                }
                if try EventTable.insert(event, insert, db) {
                    touched.stored(event.dot)
                    outcome.stored += 1
                    if event.isPurged { outcome.purged += 1 }
                } else if try String.fetchOne(lookup, arguments: [event.dot.replica.rawValue, Int64(event.dot.seq)]) == event.id.hex {
                    outcome.alreadyHad += 1
                } else {
                    try putAside(event, .forked)
                    continue
                }
                if judged.hadSetAside {
                    try unSetAside.execute(arguments: [event.id.hex])
                    if retried.contains(event.id) { outcome.recovered += 1 }
                }
            }
            // A sync page's coverage advances other replicas' entries; nothing advances this
            // device's own entry but its own signed events, held (trust.md §6).
            var vector = try EventTable.vector(db)
            if let coverage = origin.coverage {
                for (replica, seq) in coverage.covered.entries
                where replica != me && seq > vector[replica] && vector[replica] >= coverage.since[replica] {
                    vector[replica] = seq
                    touched.touch(replica)
                }
            }
            try EventTable.closeRuns(db, touched, from: vector)
            outcome.purged += try Self.apply(honoured, db)
            if let server = origin.coverage?.server { try Self.rememberSync(serverVector: server.vector, at: server.at, db) }
            return outcome
        }
        if result.purged > 0 || carriesPurge { try checkpointAfterPurge() }
        return result
    }
}
