import Foundation

/// The report snapshot: a `ReportIndex` sealed in the store's cache (DESIGN §6 allows sealed
/// derived state), bound to the store's content when it was made (the vector and the last row
/// id: an event stored beyond a gap leaves the vector as it was) and to the
/// last store row its state had folded. A report on an unchanged store reads it back; after new
/// events, the state is read with only the contact pages those events may have changed
/// (`StateSnapshot`: a retraction or correction reaches down to what it names, a link changes
/// merged persons, which the index works out on reading), and the columns of those pages alone
/// are made again. Like every cache it is derived data and never plaintext: each part sealed
/// under the device's local key with the store id and its cache name as associated data.
///
/// Layout (host byte order: a cache never leaves its laptop). The head (`report-snapshot/v4`):
/// a version, the content mark, the row, the words and people as counted strings; for each
/// contact page the row it was last written at, the segments it has and its first contacts
/// (`PageFirsts`); then the small parts (register writes, referrals, concerns, incidents,
/// organisations) as canonical JSON. Each segment (`report-snapshot/v4/PAGE/SEGMENT`, 2^31 ms
/// of one page's contacts): the row its page was written at, then the columns as counted arrays.
/// A report reads the head and the segments its periods touch; after a change, only the pages it
/// reaches are written again, whole.
extension ReportIndex {
    static let cacheName = "report-snapshot/v4"
    static let formatVersion: UInt32 = 5
    /// Caches of earlier layouts, deleted when this one is written.
    static let earlierCaches = ["report-snapshot/v3"]
    static func segmentName(_ page: Int, _ segment: Int64) -> String { "\(cacheName)/\(page)/\(segment)" }

    /// Where `load` found the index.
    public enum Source: Sendable, Equatable {
        /// The snapshot, as it was: nothing changed since.
        case snapshot
        /// The snapshot, with the columns of the contact pages that events since may have changed made again.
        case updated(pages: Int)
        /// Made from the whole state (no snapshot, or too much changed since).
        case state
    }

    /// The head of the snapshot: everything but the segments' columns, and which segments each
    /// page has, written at which row.
    struct Head {
        var index: ReportIndex
        var mark: String
        var row: Int64
        var pageRows: [Int64]
        var pageSegments: [[Int64]]
    }

    /// The index of `store`'s events as `keyring` reads them, holding the contacts of `periods`
    /// (nil: all of them): the snapshot when the store has not changed since it was made,
    /// brought up to date when it has, and kept as the new snapshot.
    public static func load(store: Store, keyring: Keyring, covering periods: [ReportPeriod]? = nil) throws -> (index: ReportIndex, source: Source) {
        let generation = try store.cacheGeneration()  // before anything is read (`Store.cacheGeneration`)
        let content = try store.contentMark()
        let now = "\(content) " + (try store.vector().json.canonicalString())
        let wanted = periods.map { Set($0.flatMap { Array(segments($0)) }) }
        var kept: Head?
        if let head = try? readHead(store: store, keyring: keyring) {
            if head.mark == now, var index = try? head.loading(wanted, except: [], store: store, keyring: keyring) {
                index.derive()
                return (index, .snapshot)
            }
            kept = head
        }
        let read = try StateSnapshot.read(store: store, keyring: keyring, part: kept == nil ? .all : .withoutContacts, touchedSince: kept?.row)
        var index: ReportIndex
        let source: Source
        var pageRows = [Int64](repeating: read.row, count: Fold.contactPages + 1)
        var pageSegments = [[Int64]](repeating: [], count: Fold.contactPages + 1)
        var changed = Set(0...Fold.contactPages)
        // Only the pages an event after the kept index may have changed (the state read may hold
        // more: those a retraction before it touched, which the kept index already has).
        if let kept, let pages = read.touched ?? read.pages, var updated = try? kept.loading(wanted, except: pages, store: store, keyring: keyring) {
            updated.update(pages: pages, from: read.fold.state)
            (index, source, changed) = (updated, .updated(pages: pages.count), pages)
            (pageRows, pageSegments) = (kept.pageRows, kept.pageSegments)
        } else {
            (index, source) = (ReportIndex(read.fold.state), .state)
        }
        // Events stored while the state was read would be missed under `now`: the mark is taken again.
        let mark = try store.contentMark() == content ? now : "behind"
        var entries = [(name: String, value: Data)]()
        for page in changed.sorted() {
            pageRows[page] = read.row
            let runs = index.pages[page].bySegment()
            pageSegments[page] = runs.map(\.segment)
            for run in runs {
                var w = RawWriter()
                w.put(read.row)
                run.columns.encode(into: &w)
                entries.append((segmentName(page, run.segment), try seal(w.data, segmentName(page, run.segment), store: store, keyring: keyring)))
            }
        }
        let head = Head(index: index, mark: mark, row: read.row, pageRows: pageRows, pageSegments: pageSegments)
        entries.append((cacheName, try seal(head.encoded(), cacheName, store: store, keyring: keyring)))
        try store.replaceCaches(deleting: changed.map { "\(cacheName)/\($0)/" } + earlierCaches, with: entries, unlessPurgedSince: generation)
        return (index, source)
    }

    private static func aad(_ name: String, _ store: Store) -> Data { Data("fieldlog/cache/\(name)/\(store.info.storeID)".utf8) }

    private static func seal(_ data: Data, _ name: String, store: Store, keyring: Keyring) throws -> Data {
        try keyring.localKey.seal(data, aad: aad(name, store))
    }

    private static func open(_ name: String, store: Store, keyring: Keyring) throws -> Data {
        guard let blob = try store.cache(name) else { throw FieldlogError.malformed("no \(name)") }
        return try keyring.localKey.open(blob, aad: aad(name, store))
    }

    static func readHead(store: Store, keyring: Keyring) throws -> Head {
        try Head(decoding: try open(cacheName, store: store, keyring: keyring))
    }
}

extension ReportIndex.Head {
    /// The index with the columns of `wanted` segments (nil: all) of every page but `except`
    /// read in; each segment must be of the row its page was written at.
    func loading(_ wanted: Set<Int64>?, except: Set<Int>, store: Store, keyring: Keyring) throws -> ReportIndex {
        var index = self.index
        for page in index.pages.indices where !except.contains(page) {
            for segment in pageSegments[page] where wanted?.contains(segment) ?? true {
                let name = ReportIndex.segmentName(page, segment)
                var r = RawReader(try ReportIndex.open(name, store: store, keyring: keyring))
                guard try r.get(Int64.self) == pageRows[page] else { throw FieldlogError.malformed("report segment of another moment") }
                index.pages[page].append(try .decode(&r, words: index.words.count, people: index.people.count))
                guard r.isAtEnd else { throw FieldlogError.malformed("inconsistent report snapshot") }
            }
        }
        index.loadedSegments = wanted
        return index
    }

    func encoded() -> Data {
        var w = RawWriter()
        w.put(ReportIndex.formatVersion)
        w.put(mark)
        w.put(row)
        w.put(index.words)
        w.put(index.people)
        for page in index.pages.indices {
            w.put(pageRows[page])
            w.put(pageSegments[page])
            let f = index.firsts[page]
            w.put(f.person); w.put(f.org); w.put(f.at)
        }
        w.put(index.smallParts.canonicalString())
        return w.data
    }

    init(decoding data: Data) throws {
        var r = RawReader(data)
        guard try r.get(UInt32.self) == ReportIndex.formatVersion else { throw FieldlogError.malformed("report snapshot of another version") }
        mark = try r.string()
        row = try r.get(Int64.self)
        index = ReportIndex(empty: ())
        index.words = try r.strings()
        index.people = try r.strings()
        pageRows = []
        pageSegments = []
        for page in index.pages.indices {
            pageRows.append(try r.get(Int64.self))
            pageSegments.append(try r.array(Int64.self))
            var f = ReportIndex.PageFirsts()
            f.person = try r.array(UInt32.self); f.org = try r.array(UInt32.self); f.at = try r.array(Int64.self)
            guard f.person.count == f.org.count, f.at.count == f.org.count,
                  f.person.allSatisfy({ $0 == ReportIndex.nobody || Int($0) < index.people.count }),
                  f.org.allSatisfy({ Int($0) < index.words.count })
            else { throw FieldlogError.malformed("inconsistent report snapshot") }
            index.firsts[page] = f
        }
        try index.readSmallParts(JSONValue.parse(try r.string()))
        guard r.isAtEnd else { throw FieldlogError.malformed("inconsistent report snapshot") }
    }
}

extension ReportIndex {
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
    /// (Read in place: a report snapshot is tens of megabytes at a million events, and every
    /// copy of it costs its page faults.)
    private let bytes: Data
    private var at: Int
    init(_ data: Data) {
        bytes = data
        at = data.startIndex
    }
    var isAtEnd: Bool { at == bytes.endIndex }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= bytes.endIndex - at else { throw FieldlogError.malformed("truncated report snapshot") }
        defer { at += n }
        return at..<at + n
    }

    mutating func get<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let range = try take(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: range.lowerBound - bytes.startIndex, as: T.self) }
    }

    mutating func array<T: FixedWidthInteger>(_: T.Type) throws -> [T] {
        let count = Int(try get(UInt64.self))
        guard count <= (bytes.endIndex - at) / MemoryLayout<T>.size else { throw FieldlogError.malformed("truncated report snapshot") }
        let range = try take(count * MemoryLayout<T>.size)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialised in
            if count > 0 {
                bytes.withUnsafeBytes { raw in
                    _ = memcpy(buffer.baseAddress!, raw.baseAddress! + (range.lowerBound - bytes.startIndex), range.count)
                }
            }
            initialised = count
        }
    }

    mutating func string() throws -> String {
        let n = Int(try get(UInt64.self))
        guard n <= bytes.endIndex - at else { throw FieldlogError.malformed("truncated report snapshot") }
        return String(decoding: bytes[try take(n)], as: UTF8.self)
    }

    mutating func strings() throws -> [String] {
        let n = Int(try get(UInt64.self))
        guard n <= bytes.endIndex - at else { throw FieldlogError.malformed("truncated report snapshot") }
        return try (0..<n).map { _ in try string() }
    }
}
