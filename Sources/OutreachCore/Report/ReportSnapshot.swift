import Foundation

/// The report snapshot: a `ReportIndex` sealed in the store's cache (DESIGN §6 allows sealed
/// derived state), bound to the store's content when it was made (the vector, the event count
/// and the last row id: an event stored beyond a gap leaves the vector as it was) and to the
/// last store row its state had folded. A report on an unchanged store reads it back; after new
/// events, the state is read with only the contact pages those events may have changed
/// (`StateSnapshot`: a retraction or correction reaches down to what it names, a link changes
/// merged persons, which the index works out on reading), and the columns of those pages alone
/// are made again. Like every cache it is derived data and never plaintext: sealed under the
/// organisation key with the store id and the cache name as associated data.
///
/// Layout (host byte order: a cache never leaves its laptop): a version, the content mark, the
/// row, then the words and people as counted strings, each page's columns as counted arrays, and
/// the small parts (register writes, referrals, concerns, incidents, organisations) as canonical
/// JSON.
extension ReportIndex {
    static let cacheName = "report-snapshot/v3"
    static let formatVersion: UInt32 = 4

    /// Where `load` found the index.
    public enum Source: Sendable, Equatable {
        /// The snapshot, as it was: nothing changed since.
        case snapshot
        /// The snapshot, with the columns of the contact pages that events since may have changed made again.
        case updated(pages: Int)
        /// Made from the whole state (no snapshot, or too much changed since).
        case state
    }

    /// The index of `store`'s events as `keyring` reads them: the snapshot when the store has not
    /// changed since it was made, brought up to date when it has, and kept as the new snapshot.
    public static func load(store: Store, keyring: Keyring) throws -> (index: ReportIndex, source: Source) {
        let aad = Data("fieldlog/cache/\(cacheName)/\(store.info.storeID)".utf8)
        let content = try store.contentMark()
        let now = "\(content.events):\(content.lastRowID) " + (try store.vector().json.canonicalString())
        var kept: (index: ReportIndex, row: Int64)?
        if let blob = try store.cache(cacheName), let plain = try? keyring.localKey.open(blob, aad: aad),
           let (index, at, row) = try? decode(plain) {
            if at == now { return (index, .snapshot) }
            kept = (index, row)
        }
        let read = try StateSnapshot.read(store: store, keyring: keyring, part: kept == nil ? .all : .withoutContacts, touchedSince: kept?.row)
        var index: ReportIndex
        let source: Source
        if var updated = kept?.index, let pages = read.pages {
            updated.update(pages: pages, from: read.fold.state)
            (index, source) = (updated, .updated(pages: pages.count))
        } else {
            (index, source) = (ReportIndex(read.fold.state), .state)
        }
        // Events stored while the state was read would be missed under `now`: the mark is taken again.
        let after = try store.contentMark()
        let mark = after == content ? now : "behind"
        try store.setCache(cacheName, try keyring.localKey.seal(index.encoded(mark: mark, row: read.row), aad: aad))
        return (index, source)
    }

    func encoded(mark: String, row: Int64) -> Data {
        var w = RawWriter()
        w.put(Self.formatVersion)
        w.put(mark)
        w.put(row)
        w.put(words)
        w.put(people)
        for c in pages {
            w.put(c.at); w.put(c.org); w.put(c.person); w.put(c.setting); w.put(c.zone); w.put(c.unidentified)
            w.put(c.needsStart); w.put(c.needs); w.put(c.servicesStart); w.put(c.serviceKind); w.put(c.serviceCount)
        }
        w.put(smallParts.canonicalString())
        return w.data
    }

    static func decode(_ data: Data) throws -> (ReportIndex, mark: String, row: Int64) {
        var r = RawReader(data)
        guard try r.get(UInt32.self) == formatVersion else { throw FieldlogError.malformed("report snapshot of another version") }
        let mark = try r.string()
        let row = try r.get(Int64.self)
        var index = ReportIndex(empty: ())
        index.words = try r.strings()
        index.people = try r.strings()
        for page in index.pages.indices {
            var c = ContactColumns()
            c.at = try r.array(Int64.self)
            c.org = try r.array(UInt32.self)
            c.person = try r.array(UInt32.self)
            c.setting = try r.array(UInt32.self)
            c.zone = try r.array(UInt32.self)
            c.unidentified = try r.array(UInt32.self)
            c.needsStart = try r.array(UInt32.self)
            c.needs = try r.array(UInt32.self)
            c.servicesStart = try r.array(UInt32.self)
            c.serviceKind = try r.array(UInt32.self)
            c.serviceCount = try r.array(UInt32.self)
            let n = c.at.count
            guard [c.org.count, c.person.count, c.setting.count, c.zone.count, c.unidentified.count].allSatisfy({ $0 == n }),
                  c.needsStart.count == n + 1, c.servicesStart.count == n + 1, c.serviceKind.count == c.serviceCount.count,
                  c.needsStart.last.map(Int.init) == c.needs.count, c.servicesStart.last.map(Int.init) == c.serviceKind.count,
                  zip(c.needsStart, c.needsStart.dropFirst()).allSatisfy({ $0 <= $1 }), zip(c.servicesStart, c.servicesStart.dropFirst()).allSatisfy({ $0 <= $1 }),
                  (c.org + c.setting + c.needs + c.serviceKind).allSatisfy({ Int($0) < index.words.count }),
                  c.person.allSatisfy({ $0 == nobody || Int($0) < index.people.count }),
                  c.zone.allSatisfy({ $0 == nobody || Int($0) < index.words.count })
            else { throw FieldlogError.malformed("inconsistent report snapshot") }
            index.pages[page] = c
        }
        try index.readSmallParts(JSONValue.parse(try r.string()))
        guard r.isAtEnd else { throw FieldlogError.malformed("inconsistent report snapshot") }
        index.derive()
        return (index, mark, row)
    }

    /// Register writes, referrals, concerns, incidents and organisations: a few thousand items.
    var smallParts: JSONValue {
        func write(_ w: RegisterWrite) -> JSONValue {
            [
                "id": .string(w.eventID.hex), "origin": .string(w.dot.replica.rawValue), "seq": .int(Int64(w.dot.seq)), "ctx": w.context.json,
                "value": w.value, "reason": w.reason.map { .string($0) } ?? .null, "review": w.review.map { .int($0) } ?? .null,
                "at": .int(w.occurredAt), "by": .string(w.author), "org": .string(w.org),
            ]
        }
        return [
            "registers": .object(registerWrites.mapValues { registers in .object(Dictionary(uniqueKeysWithValues: registers.map { ($0.key.rawValue, .array($0.value.map(write))) })) }),
            "referrals": .array(referrals.map { ["id": .string($0.id.hex), "org": .string($0.org), "destination": .string($0.destination.rawValue),
                                                 "at": .int($0.occurredAt), "outcomes": .array($0.outcomeWrites.map(write))] }),
            "aliases": .object(aliases.mapValues { .string($0) }),
            "concerns": .array(concerns.map { ["org": .string($0.org), "category": .string($0.category.rawValue), "at": .int($0.occurredAt), "consent": .bool($0.withConsent)] }),
            "incidents": .array(incidentFacts.map { ["incident": .string($0.incident.hex), "org": .string($0.org), "kind": .string($0.kind.rawValue),
                                                     "consent": .string($0.consent.rawValue), "at": .int($0.occurredAt)] }),
            "organisations": .array(otherOrganisations.map { .string($0) }),
        ]
    }

    mutating func readSmallParts(_ json: JSONValue) throws {
        let bad = FieldlogError.malformed("damaged report snapshot")
        func write(_ j: JSONValue) throws -> RegisterWrite {
            guard let id = j["id"]?.stringValue.flatMap({ EventID(hex: $0) }), let origin = j["origin"]?.stringValue.flatMap(ReplicaID.init),
                  let seq = j["seq"]?.intValue, let ctx = j["ctx"], let value = j["value"], let at = j["at"]?.intValue,
                  let by = j["by"]?.stringValue, let org = j["org"]?.stringValue else { throw bad }
            return RegisterWrite(eventID: id, dot: Dot(origin, UInt64(seq)), context: try VersionVector(json: ctx), value: value,
                                 reason: j["reason"]?.stringValue, review: j["review"]?.intValue, occurredAt: at, author: by, org: org)
        }
        for (person, registers) in json["registers"]?.objectValue ?? [:] {
            for (name, writes) in registers.objectValue ?? [:] {
                guard let register = Register(rawValue: name), let list = writes.arrayValue else { throw bad }
                registerWrites[person, default: [:]][register] = try list.map(write)
            }
        }
        referrals = try (json["referrals"]?.arrayValue ?? []).map { j in
            guard let id = j["id"]?.stringValue.flatMap({ EventID(hex: $0) }), let org = j["org"]?.stringValue, let d = j["destination"]?.stringValue,
                  let at = j["at"]?.intValue, let outcomes = j["outcomes"]?.arrayValue else { throw bad }
            return ReportReferral(id: id, org: org, destination: Word(d), occurredAt: at, outcomeWrites: try outcomes.map(write))
        }
        aliases = (json["aliases"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        concerns = try (json["concerns"]?.arrayValue ?? []).map { j in
            guard let org = j["org"]?.stringValue, let c = j["category"]?.stringValue, let at = j["at"]?.intValue, let ok = j["consent"]?.boolValue else { throw bad }
            return ReportConcern(org: org, category: Word(c), occurredAt: at, withConsent: ok)
        }
        incidentFacts = try (json["incidents"]?.arrayValue ?? []).map { j in
            guard let id = j["incident"]?.stringValue.flatMap({ EventID(hex: $0) }), let org = j["org"]?.stringValue, let kind = j["kind"]?.stringValue,
                  let consent = j["consent"]?.stringValue.flatMap(ConsentLevel.init(rawValue:)), let at = j["at"]?.intValue else { throw bad }
            return IncidentFact(incident: id, org: org, kind: Word(kind), consent: consent, occurredAt: at)
        }
        otherOrganisations = (json["organisations"]?.arrayValue ?? []).compactMap(\.stringValue)
    }
}

/// Counted arrays of plain numbers copied as memory, and counted strings.
struct RawWriter {
    private(set) var bytes: [UInt8] = []
    var data: Data { Data(bytes) }

    mutating func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func put<T: FixedWidthInteger>(_ a: [T]) {
        put(UInt64(a.count))
        a.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
    mutating func put(_ s: String) {
        put(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }
    mutating func put(_ list: [String]) {
        put(UInt64(list.count))
        for s in list { put(s) }
    }
}

struct RawReader {
    private let bytes: [UInt8]
    private var at = 0
    init(_ data: Data) { bytes = [UInt8](data) }
    var isAtEnd: Bool { at == bytes.count }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= bytes.count - at else { throw FieldlogError.malformed("truncated report snapshot") }
        defer { at += n }
        return at..<at + n
    }

    mutating func get<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let range = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: range.lowerBound, as: T.self) }
    }

    mutating func array<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
        let count = Int(try get(UInt64.self))
        guard count <= (bytes.count - at) / MemoryLayout<T>.size else { throw FieldlogError.malformed("truncated report snapshot") }
        let range = try take(count * MemoryLayout<T>.size)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialised in
            bytes.withUnsafeBytes { raw in
                _ = memcpy(buffer.baseAddress!, raw.baseAddress! + range.lowerBound, range.count)
            }
            initialised = count
        }
    }

    mutating func string() throws -> String {
        let n = Int(try get(UInt64.self))
        guard n <= bytes.count - at else { throw FieldlogError.malformed("truncated report snapshot") }
        return String(decoding: bytes[try take(n)], as: UTF8.self)
    }

    mutating func strings() throws -> [String] {
        let n = Int(try get(UInt64.self))
        guard n <= bytes.count - at else { throw FieldlogError.malformed("truncated report snapshot") }
        return try (0..<n).map { _ in try string() }
    }
}
