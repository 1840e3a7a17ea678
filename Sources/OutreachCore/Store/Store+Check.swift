import Foundation
import GRDB

/// One problem `fieldlog check` found.
public struct CheckFinding: Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The result of verifying a store.
public struct CheckReport: Sendable {
    public var events = 0
    public var origins = 0
    public var opened = 0
    public var findings = [CheckFinding]()
    /// Events set aside on receipt (`Protocol/trust.md` §5): kept, never folded, never passed on.
    public var setAside = [Store.SetAside]()
    public var isHealthy: Bool { findings.isEmpty }
}

extension Store {
    /// Verifies the store: SQLite integrity, append-only triggers in place, every id matching its
    /// contents, every event signed by a certified device of its organisation (the envelope
    /// rules of `Protocol/trust.md` §4), tombstones named by a purge, and seqs contiguous for this
    /// device and for its organisation's devices. Lists the events set aside on receipt. Every
    /// event that verifies and is not purged is handed to `inspect` (the payload checks, which
    /// need keys, are made above the store: `check(keyring:)`).
    public func check(inspecting inspect: (Event) -> Void = { _ in }) throws -> CheckReport {
        let roster = try roster()
        let setAside = try setAside()
        return try db.read { db in
            var report = CheckReport()
            report.setAside = setAside
            func find(_ message: String) { report.findings.append(CheckFinding(message: message)) }

            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            if integrity != ["ok"] { find("SQLite integrity: " + integrity.prefix(3).joined(separator: "; ")) }
            let triggers = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for name in ["events_no_update", "events_no_delete", "purges_no_update", "purges_no_delete"] where !triggers.contains(name) {
                find("the append-only trigger \(name) is missing")
            }

            let purges = try EventTable.purges(db)
            var seqs = [ReplicaID: [UInt64]]()
            var orgOf = [ReplicaID: String]()
            // Signatures in batches in origin and seq order, so one signature checks a run (Authority).
            var batch = [Event]()
            func checkSignatures() {
                for (event, broken) in zip(batch, Authority.checkEnvelopes(batch, roster: roster)) {
                    if let broken { find("event \(event.dot): \(broken)") }
                }
                batch.removeAll(keepingCapacity: true)
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT \(EventTable.columns) FROM events ORDER BY origin, seq")
            while let row = try rows.next() {
                report.events += 1
                // Every row's dot counts towards continuity, even one that fails to verify.
                if let origin = ReplicaID(row[1] as String), let seq = row[2] as Int64?, seq >= 1 {
                    seqs[origin, default: []].append(UInt64(seq))
                    orgOf[origin] = row[3]
                }
                let event: Event
                do { event = try EventTable.event(from: row, verify: true) } catch {
                    find("event \(row[1] as String)@\(row[2] as Int64): \(error)")
                    continue
                }
                batch.append(event)
                if batch.count == 10_000 { checkSignatures() }
                if event.isPurged {
                    // A tombstone: only where an honoured purge of its own organisation names it.
                    if !purges.contains(EventTable.Purged(id: event.id, org: event.org)) { find("event \(event.dot) is purged, and no purge names it") }
                    continue
                }
                inspect(event)
            }
            checkSignatures()
            report.origins = seqs.count
            // A set-aside event's dot counts as received (a sync page covers it) though not held.
            for row in try Row.fetchAll(db, sql: "SELECT origin, seq, org FROM set_aside") {
                if let origin = ReplicaID(row[0] as String), origin != info.replica, let seq = row[1] as Int64?, seq >= 1,
                   seqs[origin]?.contains(UInt64(seq)) != true {
                    seqs[origin, default: []].append(UInt64(seq))
                    if orgOf[origin] == nil { orgOf[origin] = row[2] }
                }
            }
            let vector = try EventTable.vector(db)
            for (replica, list) in seqs {
                let sorted = list.sorted()
                let covered = vector[replica]
                let mustBeContiguous = replica == info.replica || orgOf[replica] == info.org
                if mustBeContiguous {
                    let prefix = sorted.prefix { $0 <= covered }
                    if prefix.count != Int(covered) { find("device \(replica): events 1…\(covered) should all be here, \(prefix.count) are") }
                }
                if replica == info.replica, sorted != Array(1...UInt64(sorted.count)) {
                    find("this device's own events are not numbered 1…\(sorted.count) without gaps")
                }
            }
            if vector[info.replica] != UInt64(seqs[info.replica]?.count ?? 0) {
                find("this device's vector entry (\(vector[info.replica])) does not match its own events (\(seqs[info.replica]?.count ?? 0))")
            }
            return report
        }
    }
}
