import Foundation
import GRDB

/// Where a batch of events comes from: the sender's organisation and the vectors that say
/// how complete the batch is (see `Protocol/sync-model.md`, "covered").
public struct BatchOrigin: Sendable {
    /// The sending side's organisation: its entitlement decides what its coverage vouches for.
    /// Nil for a sync server, which holds every event and so vouches for all of them.
    public let org: String?
    /// The batch holds every event the sender had above `since` (empty: from the beginning)…
    public let since: VersionVector
    /// …up to `covered`.
    public let covered: VersionVector

    public init(org: String?, since: VersionVector, covered: VersionVector) {
        self.org = org
        self.since = since
        self.covered = covered
    }

    /// A page from a sync server (`Protocol/sync-model.md`): `since` is the vector the device sent.
    public static func server(since: VersionVector, covered: VersionVector) -> BatchOrigin {
        BatchOrigin(org: nil, since: since, covered: covered)
    }
}

/// What importing a batch did.
public struct ImportOutcome: Sendable, Equatable {
    public var stored = 0
    public var alreadyHad = 0
    /// Events for another organisation's eyes only: not kept (the server filters these too).
    public var notEntitled = 0
    public init() {}
}

extension Store {
    /// Merges events from a peer or a bundle, idempotently.
    ///
    /// Everything is checked before anything is written: ids must match contents (done when the
    /// events were read), payloads this device can open must open, and a dot already held must
    /// have the same id (a different one means a forged or forked replica). Any failure leaves
    /// the store exactly as it was.
    public func importEvents(_ events: [Event], from origin: BatchOrigin, keyring: Keyring) throws -> ImportOutcome {
        var outcome = ImportOutcome()
        let entitled = events.filter { keyring.isEntitled(org: $0.org, scope: $0.scope) }
        outcome.notEntitled = events.count - entitled.count
        for event in entitled {
            guard let key = keyring.key(id: event.keyID) else {
                throw FieldlogError(.foreignBundle, "event \(event.dot) is sealed under a key this device does not hold",
                                    hint: "it comes from another partnership or an older key; nothing was imported")
            }
            _ = try key.open(event.sealedPayload, aad: event.associatedData)
        }

        let myOrg = info.org
        return try db.write { db in
            let lookup = try db.cachedStatement(sql: "SELECT id FROM events WHERE origin = ? AND seq = ?")
            let insert = try db.makeStatement(sql: EventTable.mergeSQL)
            var touched = Set<ReplicaID>()
            var originOrg = [ReplicaID: String]()
            for event in entitled {
                originOrg[event.dot.replica] = event.org
                if try EventTable.insert(event, insert, db) {
                    touched.insert(event.dot.replica)
                    outcome.stored += 1
                    continue
                }
                // The dot was already here: the same event (a replay), or a different one (a fork or forgery).
                let existing = try String.fetchOne(lookup, arguments: [event.dot.replica.rawValue, Int64(event.dot.seq)])
                guard existing == event.id.hex else {
                    throw FieldlogError(.tampered, "event \(event.dot) differs from the one this store already holds",
                                        hint: "a forged or forked device; nothing was imported")
                }
                outcome.alreadyHad += 1
            }
            // Advance the vector: first by the sender's coverage where it vouches for what we are
            // entitled to, then over any contiguous run of events now held.
            var vector = try EventTable.vector(db)
            for (replica, seq) in origin.covered.entries where seq > vector[replica] && vector[replica] >= origin.since[replica] {
                let org = try originOrg[replica]
                    ?? String.fetchOne(db, sql: "SELECT org FROM events WHERE origin = ? LIMIT 1", arguments: [replica.rawValue])
                let senderSeesAllWeMay = origin.org == nil || origin.org == myOrg || (org != nil && org != myOrg)
                if senderSeesAllWeMay {
                    vector[replica] = seq
                    touched.insert(replica)
                }
            }
            try EventTable.closeRuns(db, origins: touched, from: vector)
            return outcome
        }
    }
}
