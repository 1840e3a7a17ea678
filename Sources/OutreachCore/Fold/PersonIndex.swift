import Foundation

/// Just enough of the fold to resolve a person's ref quickly: every person id this device knows,
/// with the working name for its own organisation's people.
///
/// Kept as a sealed cache in the store (under the organisation key, bound to the store id) and
/// topped up from the events that arrived after it, so logging a contact does not fold the
/// whole log. The cache is derived data: losing it costs one full pass, nothing else.
public struct PersonIndex: Sendable {
    static let cacheName = "person-index/v3"
    /// Rewrite the cache once this many events are past it.
    static let refreshAfter = 256

    public private(set) var people: [String: (org: String, name: String?)] = [:]
    /// The partnership's zones (`zone.defined`), by name, with their labels.
    public private(set) var zones: [String: String] = [:]
    private var registrations: [String: String] = [:]  // registration event id → person
    private var retired = Set<String>()                 // people whose registration was retracted
    private var lastRowID: Int64 = 0

    public init() {}

    /// Loads the cache and applies newer events; refreshes the cache when it is far behind.
    public static func load(log: FieldLog) throws -> PersonIndex {
        var index = PersonIndex()
        let aad = Data("fieldlog/cache/\(cacheName)/\(log.store.info.storeID)".utf8)
        if let blob = try log.store.cache(cacheName), let plain = try? log.keyring.orgKey.open(blob, aad: aad),
            let restored = try? PersonIndex(encoded: plain) {
            index = restored
        }
        let newer = try log.store.events(afterRowID: index.lastRowID)
        for (rowID, event) in newer {
            if let opened = log.keyring.open(event) { index.apply(opened) }
            index.lastRowID = rowID
        }
        if newer.count >= refreshAfter {
            try log.store.setCache(cacheName, try log.keyring.orgKey.seal(index.encoded(), aad: aad))
        }
        return index
    }

    mutating func apply(_ o: OpenedEvent) {
        let p = o.payload
        switch p.eventType {
        case .personRegistered:
            guard let id = p.string("person") else { return }
            people[id] = (o.event.org, p.string("name"))
            registrations[o.event.id.hex] = id
        case .eventRetracted:
            if let target = p.string("target"), let id = registrations[target] { retired.insert(id) }
        case .zoneDefined:
            if let zone = p.string("zone") { zones[zone] = p.string("label") ?? zones[zone] ?? "" }
        case .personsLinked:
            for key in ["a", "b"] { if let id = p.string(key), people[id] == nil { people[id] = (o.event.org, nil) } }
        default:
            if let id = p.string("person"), people[id] == nil { people[id] = (o.event.org, nil) }
        }
    }

    /// The person id a ref or working name names.
    public func resolve(_ ref: String) throws -> String {
        let live = people.filter { !retired.contains($0.key) }
        return try Refs.resolvePerson(ref, ids: Array(live.keys), names: live.compactMapValues(\.name))
    }

    /// What a shell may complete `prefix` to: refs of everyone, and the working names of this
    /// laptop's own organisation's people, that start with it (sorted).
    public func completions(_ prefix: String) -> [String] {
        let live = people.filter { !retired.contains($0.key) }
        let refs = Refs(live.keys, lasting: 4)
        let p = prefix.lowercased()
        let names = live.values.compactMap(\.name).filter { $0.lowercased().hasPrefix(p) }
        let ids = live.keys.filter { $0.hasPrefix(p) }.map { refs.short($0) }
        return Array(Set(names + (p.isEmpty ? [] : ids))).sorted()
    }

    /// The zone as the partnership spells it. Until the partnership lists any zone, any name is
    /// taken as typed; after, only a listed one (with "did you mean"), so Z3 and z3 and Z33 stay
    /// apart in every report only when they really are different places.
    public func zone(_ typed: String) throws -> String {
        let name = typed.trimmingCharacters(in: .whitespaces)
        guard !zones.isEmpty else { return name }
        if let known = zones.keys.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) { return known }
        let guess = Suggest.phrase(name, among: Array(zones.keys)).map { ": \($0)" } ?? ""
        throw FieldlogError.badInput("unknown zone \"\(typed)\"\(guess)", hint: "the zones are: \(zones.keys.sorted().joined(separator: ", ")) (fieldlog zones)")
    }

    /// "Rose (7f3a)" or "joanna 7f3a".
    public func label(_ id: String) -> String {
        let ref = Refs(people.keys, lasting: 4).short(id)
        guard let entry = people[id] else { return ref }
        return entry.name.map { "\($0) (\(ref))" } ?? "\(entry.org) \(ref)"
    }

    /// A compact length-prefixed encoding (`ByteWriter`): decoding JSON cost a van laptop more
    /// than the rest of `contact add` together.
    func encoded() -> Data {
        var w = ByteWriter(capacity: 64 * people.count + 96 * registrations.count)
        w.uint64(UInt64(bitPattern: lastRowID))
        w.uint32(UInt32(people.count))
        for (id, entry) in people {
            w.string(id)
            w.string(entry.org)
            w.string(entry.name.map { "+" + $0 } ?? "-")
        }
        w.uint32(UInt32(registrations.count))
        for (event, person) in registrations {
            w.string(event)
            w.string(person)
        }
        w.uint32(UInt32(retired.count))
        for id in retired { w.string(id) }
        w.uint32(UInt32(zones.count))
        for (zone, label) in zones { w.string(zone); w.string(label) }
        return w.data
    }

    init(encoded data: Data) throws {
        var r = ByteReader(data)
        lastRowID = Int64(bitPattern: try r.uint64())
        for _ in 0..<(try r.uint32()) {
            let id = try r.string(), org = try r.string(), name = try r.string()
            people[id] = (org, name.hasPrefix("+") ? String(name.dropFirst()) : nil)
        }
        for _ in 0..<(try r.uint32()) {
            let event = try r.string()
            registrations[event] = try r.string()
        }
        for _ in 0..<(try r.uint32()) { retired.insert(try r.string()) }
        for _ in 0..<(try r.uint32()) { let zone = try r.string(); zones[zone] = try r.string() }
        guard r.isAtEnd else { throw FieldlogError.malformed("trailing bytes in the person index") }
    }
}
