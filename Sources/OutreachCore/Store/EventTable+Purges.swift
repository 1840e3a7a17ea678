import Foundation
import GRDB

/// Purges (Protocol/erasure.md): the one exception to append-only, judged and applied the same
/// way in every store, laptop or server.
extension EventTable {
    /// The ids named by honoured purges, with the organisation whose events they may purge.
    public static func purges(_ db: Database) throws -> Set<Purged> {
        var out = Set<Purged>()
        for row in try Row.fetchAll(db, sql: "SELECT id, org FROM purges") {
            if let id = EventID(hex: row[0]) { out.insert(Purged(id: id, org: row[1])) }
        }
        return out
    }

    /// The purges on record that name any of `events`. Rule P3 needs them whatever a batch
    /// carries: a full copy can arrive after the purge that names it (a stale bundle, a laptop
    /// that never saw the erasure), and must then be stored purged. One query for the batch.
    public static func purges(naming events: [Event], _ db: Database) throws -> Set<Purged> {
        guard !events.isEmpty, try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM purges)")) == true else { return [] }
        let ids = "[" + events.map { "\"\($0.id.hex)\"" }.joined(separator: ",") + "]"
        var out = Set<Purged>()
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT id, org FROM purges WHERE id IN (SELECT value FROM json_each(?))"), arguments: [ids]) {
            if let id = EventID(hex: row[0]) { out.insert(Purged(id: id, org: row[1])) }
        }
        return out
    }

    /// An event id an honoured purge names, and the organisation that wrote the purge.
    public struct Purged: Hashable, Sendable {
        public let id: EventID
        public let org: String
        public init(id: EventID, org: String) {
            self.id = id
            self.org = org
        }
        /// Whether `event` is one this purge may erase (its own organisation's).
        public func covers(_ event: Event) -> Bool { event.id == id && event.org == org }
    }

    /// Rule P3 (`Protocol/erasure.md` §3) for every store, laptop or server: how `event` is
    /// stored, given what the purges on record and arriving name (`named`): purged if one of its
    /// own organisation names it, as it came otherwise; nil if it arrived purged and none does.
    public static func asStored(_ event: Event, named: Set<Purged>) -> Event? {
        guard event.isPurged || !named.isEmpty else { return event }
        let covered = named.contains(Purged(id: event.id, org: event.org))
        if event.isPurged && !covered { return nil }
        return covered ? event.purged : event
    }

    /// Records an honoured purge (`by`, of `org`) and purges the events it names that are held:
    /// each payload replaced by its digest, in this transaction. Events of another organisation
    /// are never touched (the trigger refuses them too). Returns how many rows were purged.
    @discardableResult
    public static func purge(_ ids: [EventID], org: String, by: EventID, _ db: Database) throws -> Int {
        let record = try db.cachedStatement(sql: "INSERT INTO purges(id, org, by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        let select = try db.cachedStatement(sql: "SELECT payload FROM events WHERE \(idIs("?1")) AND org = ?2 AND purged = 0")
        let update = try db.cachedStatement(sql: "UPDATE events SET payload = ?1, purged = 1 WHERE \(idIs("?2"))")
        var purged = 0
        for id in ids {
            try record.execute(arguments: [id.hex, org, by.hex])
            guard let payload = try Data.fetchOne(select, arguments: [id.hex, org]) else { continue }
            try update.execute(arguments: [EventEncoding.payloadDigest(payload), id.hex])
            purged += 1
        }
        return purged
    }

    /// The `events.purged` held that name any of `events`' tombstones: a peer sends them along,
    /// so the receiver can check that each tombstone was purged by its own organisation.
    public static func authorisations(for events: [Event], _ db: Database) throws -> [Event] {
        let tombstones = events.filter(\.isPurged)
        guard !tombstones.isEmpty else { return [] }
        let by = try db.cachedStatement(sql: "SELECT by FROM purges WHERE id = ? AND org = ?")
        var ids = Set<String>()
        for t in tombstones { ids.formUnion(try String.fetchAll(by, arguments: [t.id.hex, t.org])) }
        let sending = Set(events.map(\.id.hex))
        let row = try db.cachedStatement(sql: "SELECT \(columns) FROM events WHERE \(idIs("?1"))")
        return try ids.subtracting(sending).sorted().compactMap { id in try Row.fetchOne(row, arguments: [id]).map { try event(from: $0) } }
    }

    /// An `events.purged` and the ids it names (its payload is in clear: anyone can read it).
    public struct Purge: Sendable {
        public let event: Event
        public let ids: [EventID]

        init(event: Event, ids: [EventID]) {
            self.event = event
            self.ids = ids
        }

        /// What this purge names, each with the organisation it may erase.
        public var named: [Purged] { ids.map { Purged(id: $0, org: event.org) } }

        /// The purge `event` is, if it is a well-formed `events.purged` in the public scope.
        public init?(_ event: Event) {
            guard let opened = OpenedEvent(clear: event), let ids = Authority.purgeList(opened.payload) else { return nil }
            self.init(event: event, ids: ids)
        }
    }

    /// Rule P1 (`Protocol/erasure.md` §3), judged on what this database holds and what arrives
    /// with the purge (`carried`: id → organisation): whether it names another organisation's event.
    static func namesForeignEvent(_ purge: Purge, carried: [EventID: String], _ db: Database) throws -> Bool {
        try foreignPurge(among: [purge], carried: carried, held: owners(of: purge.ids, db)) != nil
    }

    /// The organisations of the held events among `ids`.
    static func owners(of ids: [EventID], _ db: Database) throws -> [EventID: String] {
        let org = try db.cachedStatement(sql: "SELECT org FROM events WHERE \(idIs("?1"))")
        var out = [EventID: String]()
        for id in ids { if let owner = try String.fetchOne(org, arguments: [id.hex]) { out[id] = owner } }
        return out
    }

    /// Rule P1 for every backend: the first of `purges` that names an event of another
    /// organisation, known from what arrives with it (`carried`) or what is held (`held`, the
    /// owners of the named ids a backend holds). Carried wins: it is what would be stored.
    public static func foreignPurge(among purges: [Purge], carried: [EventID: String], held: [EventID: String]) -> Purge? {
        purges.first { purge in purge.ids.contains { id in (carried[id] ?? held[id]).map { $0 != purge.event.org } ?? false } }
    }

    /// The purges a batch carries, each judged by P1. Returns them, or the first that breaks P1.
    public static func purges(in batch: [Event], _ db: Database) throws -> (honoured: [Purge], foreign: Event?) {
        let purges = batch.compactMap(Purge.init)
        guard !purges.isEmpty else { return ([], nil) }
        let held = try owners(of: purges.flatMap(\.ids), db)
        if let foreign = foreignPurge(among: purges, carried: carriedOwners(batch), held: held) {
            return (Array(purges.prefix { $0.event.id != foreign.event.id }), foreign.event)
        }
        return (purges, nil)
    }

    /// Each carried event's organisation (the first, should a batch carry an id twice).
    public static func carriedOwners(_ batch: [Event]) -> [EventID: String] {
        Dictionary(batch.map { ($0.id, $0.org) }, uniquingKeysWith: { a, _ in a })
    }
}
