import Foundation
import NIOCore
import OutreachCore
import PostgresNIO
import SyncServerKit

/// Events in PostgreSQL: a push in one statement (`fieldlog_push`), or in one transaction when
/// purges are involved; pages are in `+Page`, their rows read in `+Rows`.
extension PostgresSyncStorage {
    static let eventColumns = "id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged"

    private struct Forked: Error { let dot: Dot }
    private struct Refused: Error { let dot: Dot; let rule: Authority.Rule }

    public func store(_ events: [Event], marking: SyncMark?) async throws -> Stored {
        guard !events.isEmpty else { return Stored(.stored(new: 0, alreadyHad: 0)) }
        let purges = events.compactMap(EventTable.Purge.init)
        do {
            // A push with no purge in it (every push of a crowd) is one statement; one that a
            // purge held names, or that carries purges, takes the transaction below.
            if purges.isEmpty, !events.contains(where: \.isPurged), let outcome = try await pushAlone(events, marking: marking) {
                remember(outcome, of: events)
                return outcome
            }
            let outcome = try await transaction { tx in try await self.push(events, purges: purges, marking: marking, tx) }
            remember(outcome, of: events)
            if !purges.isEmpty {
                // Frees the dead row versions that held the purged payloads (Protocol/erasure.md §4).
                try await execute("VACUUM events")
            }
            return outcome
        } catch let forked as Forked {
            return Stored(.rejected(forked.dot))
        } catch let refused as Refused {
            return Stored(.refused(refused.dot, refused.rule))
        }
    }

    /// What never changes about the events a push inserted, remembered for the pages to come.
    private func remember(_ outcome: Stored, of events: [Event]) {
        let inserted = Set(outcome.inserted.map(\.id))
        if !inserted.isEmpty { facts.remember(events.filter { inserted.contains($0.id) }, in: schema) }
    }

    /// A push carrying no purge and no tombstone, in one statement (`fieldlog_push`); nil when a
    /// purge held names one of its events (then nothing was written).
    private func pushAlone(_ events: [Event], marking: SyncMark?) async throws -> Stored? {
        let rows = events.map(EventTable.StoredEvent.init)
        var binds = PostgresBindings()
        binds.append(Self.origins(events))
        binds.append(marking?.deviceID)
        binds.append(marking?.at)
        Self.appendColumns(rows, withPurged: false, to: &binds)
        let query = PostgresQuery(unsafeSQL: "SELECT kind, id FROM fieldlog_push($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)", binds: binds)
        var inserted = Set<String>(), named = false
        try await Self.refusingForks {
            for try await (kind, id) in try await lease({ try await $0.query(query, logger: logger) }).decode((String, String).self) {
                if kind == "inserted" { inserted.insert(id) } else { named = true }
            }
        }
        return named ? nil : Self.outcome(rows: rows, events: events, inserted: inserted)
    }

    /// A push's origins, each once, sorted: the order their locks are taken in.
    private static func origins(_ events: [Event]) -> [String] { Set(events.map(\.dot.replica.rawValue)).sorted() }

    /// Runs `body`, which stores rows through `fieldlog_store_rows`; the fork it refuses (SQLSTATE
    /// `FLFRK`, its message the dot's origin and seq) is thrown as `Forked`.
    private static func refusingForks(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "FLFRK" {
            let words = (error.serverInfo?[.message] ?? "").split(separator: " ")
            guard words.count == 2, let origin = ReplicaID(String(words[0])), let seq = UInt64(words[1]) else { throw error }
            throw Forked(dot: Dot(origin, seq))
        }
    }

    /// What a push stored: the rows inserted (each id counted once) are new, the others were held.
    private static func outcome(rows: [EventTable.StoredEvent], events: [Event], inserted: Set<String>) -> Stored {
        var new = 0, had = 0, counted = Set<String>(), stored = [Page.Entry]()
        for (row, event) in zip(rows, events) {
            if inserted.contains(row.id) && counted.insert(row.id).inserted {
                new += 1
                stored.append(Page.Entry(event))
            } else {
                had += 1
            }
        }
        return Stored(.stored(new: new, alreadyHad: had), inserted: stored)
    }

    private func push(_ events: [Event], purges: [EventTable.Purge], marking: SyncMark?, _ tx: PostgresConnection) async throws -> Stored {
        // A purge never interleaves with other pushes; an origin's pushes go one at a time. Then
        // whatever the push carries is looked up in the purges held: a full copy may arrive after
        // the purge that names it, and is then stored purged (rule P3).
        let origins = Self.origins(events)
        var named = Set<EventTable.Purged>()
        for try await (id, org) in try await tx.query("SELECT id, org FROM fieldlog_push_begin(\(!purges.isEmpty), \(origins)::text[], \(events.map(\.id.hex))::text[], \(marking?.deviceID), \(marking?.at))",
                                                      logger: logger).decode((String, String).self) {
            if let id = EventID(hex: id) { named.insert(EventTable.Purged(id: id, org: org)) }
        }

        // Purges first (erasure.md §3): P1 on what is held and carried; they decide which events
        // may arrive purged and which are stored purged.
        if !purges.isEmpty {
            var held = [EventID: String]()
            let ids = purges.flatMap { $0.ids.map(\.hex) }
            for try await (id, org) in try await tx.query("SELECT id, org FROM events WHERE id = ANY(\(ids)::text[])", logger: logger)
                .decode((String, String).self) {
                if let id = EventID(hex: id) { held[id] = org }
            }
            if let foreign = EventTable.foreignPurge(among: purges, carried: EventTable.carriedOwners(events), held: held) {
                throw Refused(dot: foreign.event.dot, rule: .foreignPurge)
            }
        }
        for p in purges { named.formUnion(p.named) }
        var rows = [EventTable.StoredEvent](), stored = [Event]()
        rows.reserveCapacity(events.count)
        for received in events {
            guard let event = EventTable.asStored(received, named: named) else { throw Refused(dot: received.dot, rule: .unauthorisedPurge) }
            rows.append(EventTable.StoredEvent(event))
            stored.append(event)
        }

        var binds = PostgresBindings()
        binds.append(origins)
        Self.appendColumns(rows, withPurged: true, to: &binds)
        let query = PostgresQuery(unsafeSQL: "SELECT id FROM fieldlog_store_rows($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) AS id", binds: binds)
        var inserted = Set<String>()
        try await Self.refusingForks {
            for try await id in try await tx.query(query, logger: logger).decode(String.self) { inserted.insert(id) }
        }
        for p in purges {
            let ids = p.ids.map(\.hex)
            try await tx.query("""
                INSERT INTO purges(id, org, by) SELECT i, \(p.event.org), \(p.event.id.hex) FROM unnest(\(ids)::text[]) AS i ON CONFLICT DO NOTHING
                """, logger: logger)
            try await tx.query("""
                UPDATE events SET payload = sha256(payload), purged = true WHERE id = ANY(\(ids)::text[]) AND org = \(p.event.org) AND NOT purged
                """, logger: logger)
        }
        return Self.outcome(rows: rows, events: stored, inserted: inserted)
    }

    /// The rows' columns as arrays, in `eventColumns`' order (a prev absent as ''), the purged
    /// flags last and only `withPurged` (`fieldlog_store_rows` takes them, `fieldlog_push`
    /// stores none purged).
    static func appendColumns(_ rows: [EventTable.StoredEvent], withPurged: Bool, to binds: inout PostgresBindings) {
        binds.append(rows.map(\.id))
        binds.append(rows.map(\.origin))
        binds.append(rows.map(\.seq))
        binds.append(rows.map(\.org))
        binds.append(rows.map(\.scope))
        binds.append(rows.map(\.ctx))
        binds.append(rows.map(\.recordedAt))
        binds.append(rows.map(\.keyID))
        binds.append(rows.map { ByteBuffer(bytes: $0.payload) })
        binds.append(rows.map { ByteBuffer(bytes: $0.sig) })
        binds.append(rows.map { $0.prev ?? "" })
        if withPurged { binds.append(rows.map(\.purged)) }
    }

    public func vector() async throws -> VersionVector {
        try vector(await rows("SELECT origin, seq FROM coverage"))
    }

    func vector(_ rows: [PostgresRow]) throws -> VersionVector {
        var v = VersionVector()
        for row in rows {
            let (origin, seq) = try row.decode((String, Int64).self)
            if let r = ReplicaID(origin) { v[r] = UInt64(seq) }
        }
        return v
    }

    public func eventCount() async throws -> Int {
        Int(try await rows("SELECT count(*) FROM events").first?.decode(Int64.self) ?? 0)
    }

    public func quarantine(idPrefix: String, at time: Int64) async throws -> [String] {
        try await transaction { tx in
            let ids = try await tx.query("SELECT id FROM events WHERE id >= \(idPrefix) AND id < \(idPrefix + "g") ORDER BY id LIMIT 2",
                                         logger: logger).decode(String.self).all()
            guard ids.count <= 1 else { throw ServerError(.ambiguous, "\(idPrefix) matches more than one event: give more of its id") }
            for id in ids { try await tx.query("INSERT INTO quarantine(id, at) VALUES (\(id), \(time)) ON CONFLICT DO NOTHING", logger: logger) }
            return ids
        }
    }
}
