import Foundation
import GRDB

/// New events sealed and signed above the store for the slot it fixed, with what they change
/// here besides the log; worked out above (`Protocol/fold.md` §7), stored in one transaction.
public struct SealedAppend: Sendable {
    public var events: [Event]
    /// The revocations among them: they take effect here at once.
    public var revocations: [Authority.Revocation] = []
    /// The keys they grant to this device (it rotated one), kept as they came.
    public var grants: [KeptGrant] = []
    /// The erasures among them, already judged by the rules that need keys (P2): they purge here
    /// at once (erasure.md §3), if the store's own rule (P1) lets them.
    public var purges: [EventTable.Purge] = []

    public init(events: [Event]) { self.events = events }
}

/// A key granted to this device, kept as it arrived: the notice's box, sealed to this device's
/// agreement key (`Protocol/trust.md` §5b). The store keeps bytes; the keyring opens them.
public struct KeptGrant: Sendable {
    public let notice: KeyNotice
    public let keyID: String

    public init(notice: KeyNotice, keyID: String) {
        self.notice = notice
        self.keyID = keyID
    }
}

extension Store {
    /// Appends this device's new events in one transaction, committed before it returns.
    ///
    /// The store fixes the slot (the next seqs of this replica, the context, the event before)
    /// inside its transaction and hands it to `seal`, which returns the sealed and signed events
    /// for it; they are stored only if they fill that slot exactly.
    @discardableResult
    public func append(_ seal: (EventSlot) throws -> SealedAppend) throws -> [Event] {
        let me = info.replica
        var purging = false
        let written = try db.write { db in
            let vector = try EventTable.vector(db)
            let base = vector[me]
            let prev = base == 0 ? nil : try String.fetchOne(db, sql: "SELECT id FROM events WHERE origin = ? AND seq = ?",
                                                            arguments: [me.rawValue, Int64(base)]).flatMap(EventID.init(hex:))
            let slot = EventSlot(replica: me, org: info.org, held: vector, prev: prev)
            let sealed = try seal(slot)
            guard slot.isFilled(by: sealed.events) else {
                throw FieldlogError(.notPermitted, "the sealed events do not fit the place the store gave them")
            }
            let statement = try db.makeStatement(sql: EventTable.insertSQL)
            for event in sealed.events { try EventTable.insert(event, statement, db) }
            if let last = sealed.events.last { try EventTable.setCoverage(db, me, last.dot.seq) }
            // A revocation written here takes effect here at once, in the same transaction.
            try Self.note(sealed.revocations, db)
            // A key this device rotates (and grants itself) is kept at once, in the same transaction.
            try Self.keep(sealed.grants, replica: me, db)
            // An erasure written here purges here at once, in the same transaction (erasure.md §3).
            for p in sealed.purges where try EventTable.namesForeignEvent(p, carried: [:], db) {
                throw FieldlogError(.notPermitted, "this purge would break a rule: \(Authority.Rule.foreignPurge)")
            }
            purging = !sealed.purges.isEmpty
            _ = try Self.apply(sealed.purges, db)
            return sealed.events
        }
        if purging { try checkpointAfterPurge() }
        return written
    }
}
