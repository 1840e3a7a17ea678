import Foundation
import GRDB

/// Where a batch of events comes from, and what it may vouch for (`Protocol/trust.md` §6).
public struct BatchOrigin: Sendable {
    /// A sync page's vectors (`Protocol/sync-model.md`, "covered"): the page holds every event
    /// the device is entitled to above `since`, up to `covered`.
    public struct Coverage: Sendable {
        public let since: VersionVector
        public let covered: VersionVector
    }

    /// For people and set-aside records: `sync`, or the bundle's writer.
    public let source: String
    /// Nil for a bundle: its header is a claim, so only the events it carries advance the vector.
    public let coverage: Coverage?

    /// A page from a sync server: `since` is the vector the device sent.
    public static func server(since: VersionVector, covered: VersionVector) -> BatchOrigin {
        BatchOrigin(source: "sync", coverage: Coverage(since: since, covered: covered))
    }

    /// Events that vouch only for themselves (a bundle, a test's hand-made batch).
    public static func carried(_ source: String) -> BatchOrigin { BatchOrigin(source: source, coverage: nil) }
}

/// What importing a batch did.
public struct ImportOutcome: Sendable, Equatable {
    public var stored = 0
    public var alreadyHad = 0
    /// Events for another organisation's eyes only: not kept (the server filters these too).
    public var notEntitled = 0
    /// Events that broke a rule of `Protocol/trust.md` §4, by rule: kept apart, never folded.
    public var setAside: [Authority.Rule: Int] = [:]
    /// Events set aside earlier that now pass (their signer's certificate arrived).
    public var recovered = 0
    public var certificatesAccepted = 0
    public var certificatesRefused: [Roster.Refusal] = []
    /// Events whose payloads were erased here (purged in place, or taken as tombstones).
    public var purged = 0
    /// Keys granted to this device by the batch (`Protocol/trust.md` §5b).
    public var keysGained = 0
    /// The keyring to go on with, when the batch changed it (keys granted, or a revocation that
    /// makes a granted key read-only); nil when unchanged.
    public var keyring: Keyring?
    public init() {}

    public var setAsideCount: Int { setAside.values.reduce(0, +) }
}

extension Store {
    /// Merges events (and the certificates that sign them) from a sync page or a bundle.
    ///
    /// Every event is checked against every rule of `Protocol/trust.md` §4 before anything is
    /// written (on every core: the signature, the key, the payload). What passes is stored; a dot
    /// already held with the same id is ignored (idempotence); what fails, a fork included, is set
    /// aside with the rule it broke, and the rest goes on: nothing a peer sends can stop a sync.
    /// One transaction: a failure to write leaves the store as it was.
    public func importEvents(_ events: [Event], certificates: [DeviceCertificate] = [], from origin: BatchOrigin, keyring given: Keyring) throws -> ImportOutcome {
        var outcome = ImportOutcome()
        var keyring = given
        var roster = try roster()
        let admitted = roster.admit(certificates, pinning: .firstSight)
        outcome.certificatesAccepted = admitted.accepted.count
        outcome.certificatesRefused = admitted.refused

        var batch = events.filter { keyring.isEntitled(org: $0.org, scope: $0.scope) }
        outcome.notEntitled = events.count - batch.count
        let hasSetAside = try setAsideCount() > 0
        var retried = Set<EventID>()
        func retry(_ rules: [Authority.Rule]) throws -> [Int] {
            let waiting = try db.read {
                try String.fetchAll($0, sql: "SELECT event FROM set_aside WHERE rule IN (\(rules.map { _ in "?" }.joined(separator: ",")))",
                                    arguments: StatementArguments(rules.map(\.rawValue)))
            }
            var added = [Int]()
            let carried = Set(batch.map(\.id))
            for text in waiting {
                guard let e = try? Event(json: JSONValue.parse(text)), retried.insert(e.id).inserted else { continue }
                if carried.contains(e.id) { continue }  // the batch carries it again: examined there
                added.append(batch.count)
                batch.append(e)
            }
            return added
        }
        let carriesPurge = batch.contains { $0.scope == .public }
        if hasSetAside && (!admitted.accepted.isEmpty || carriesPurge) {
            // New certificates: what waited for its signer is examined again; a purge: what arrived purged before it.
            _ = try retry([.unknownSigner, .unauthorisedPurge])
        }
        let known = try self.revocations()
        var checked = Authority.check(batch, roster: roster, keyring: keyring, revoked: known)
        // Keys granted to this device open what waited for them, in the batch and set aside
        // earlier; a grant among those may hold the next key (trust.md §5b).
        var notices = checked.keyNotices
        var gained = [(notice: KeyNotice, key: EpochKey)]()
        var retriedKeys = false
        while true {
            let more = Self.grantsToMe(notices.sorted { $0.key < $1.key }.map(\.value), keyring: &keyring, replica: info.replica)
            guard !more.isEmpty else { break }
            gained += more
            var again = checked.rules.indices.filter { checked.rules[$0] == .unknownKey }
            if hasSetAside && !retriedKeys {
                retriedKeys = true
                // wrong-key too: 0.3 set aside events under keys it did not know with that rule.
                let added = try retry([.unknownKey, .wrongKey])
                checked.rules += added.map { _ in nil }
                again += added
            }
            var cuts = known
            Authority.merge(checked.revocations, into: &cuts)
            let recheck = Authority.check(again.map { batch[$0] }, roster: roster, keyring: keyring, revoked: cuts)
            notices = [:]
            for (k, i) in again.enumerated() {
                checked.rules[i] = recheck.rules[k]
                if let n = recheck.keyNotices[k] { notices[i] = n }
            }
            checked.revocations += recheck.revocations
        }
        var verdicts = checked.rules
        let revocations = checked.revocations

        let me = info.replica
        let now = WallClock.nowMillis()
        let result = try db.write { db in
            if !admitted.accepted.isEmpty { try Self.save(roster, db) }
            try Self.note(revocations, db)
            try Self.keep(gained, replica: me, db)
            outcome.keysGained = gained.count
            let lookup = try db.cachedStatement(sql: "SELECT id FROM events WHERE origin = ? AND seq = ?")
            let insert = try db.makeStatement(sql: EventTable.mergeSQL)
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
            let held = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE id = ?")
            // Purges first (erasure.md §3): judged on what is held and carried, then they decide
            // which events arrive purged and which are stored purged.
            var honoured = [EventTable.Purge]()
            let carried = Dictionary(batch.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for candidate in Self.purges(in: batch, verdicts: verdicts) {
                if let rule = try Self.purgeRule(candidate, batch: carried, keyring: keyring, db) {
                    if let i = batch.firstIndex(where: { $0.id == candidate.event.id }) { verdicts[i] = rule }
                } else {
                    honoured.append(candidate)
                }
            }
            var named = honoured.isEmpty && !batch.contains(where: \.isPurged) ? [] : try EventTable.purges(db)
            for p in honoured { named.formUnion(p.named) }
            var touched = Set<ReplicaID>()
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
                    touched.insert(event.dot.replica)
                    outcome.stored += 1
                    if event.isPurged { outcome.purged += 1 }
                } else if try String.fetchOne(lookup, arguments: [event.dot.replica.rawValue, Int64(event.dot.seq)]) == event.id.hex {
                    outcome.alreadyHad += 1
                } else {
                    try putAside(event, .forked)
                    continue
                }
                if hasSetAside {
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
                    touched.insert(replica)
                }
            }
            try EventTable.closeRuns(db, origins: touched, from: vector)
            outcome.purged += try Self.apply(honoured, db)
            if !gained.isEmpty || !revocations.isEmpty {
                // A key granted by an event that a revocation now cuts off is kept for reading only.
                var cuts = known
                Authority.merge(revocations, into: &cuts)
                var now = keyring
                now.markUnwritable { Authority.isRevoked($0, cuts: cuts) }
                if now != given { outcome.keyring = now }
            }
            return outcome
        }
        if result.purged > 0 || carriesPurge { try checkpointAfterPurge() }
        return result
    }
}
