import Foundation
import NIOConcurrencyHelpers
import OutreachCore

/// Sync answers written with each event's JSON encoded once and kept, and runs of events
/// compressed once and kept: in a crowd, every laptop of a partnership is sent the same new
/// events, and encoding and gzipping each again for each laptop was most of the server's work
/// (BENCHMARKS.md, the crowd). The bytes are exactly `SyncResponseV2.json.canonicalData()`,
/// and gzipped they expand to exactly that (property tests hold both).
final class EncodedEvents: Sendable {
    /// An event's id does not cover its signature: two copies under one id (in two partnerships'
    /// storages, one of them forged) must not share bytes, so the signature is part of the key.
    private struct Key: Hashable {
        let id: EventID, purged: Bool, signature: Data
        init(_ event: Event) { (id, purged, signature) = (event.id, event.isPurged, event.signature) }
    }
    private let cache = NIOLockedValueBox<[Key: Data]>([:])
    /// Each event packed (`PackedPage`), kept the same way.
    private let packedCache = NIOLockedValueBox<[Key: [UInt8]]>([:])
    /// Runs of events, compressed (`Gzip.Piece`), by the events they hold.
    private let runs = NIOLockedValueBox<(pieces: [[Key]: Gzip.Piece], bytes: Int)>(([:], 0))
    /// At most this many events are kept (about 30 MB); past it the cache starts again.
    let capacity: Int
    /// At most this many compressed bytes of runs are kept; past it they start again.
    let runCapacity: Int
    /// A run is cut after this many events if none of them starts one.
    let longestRun: Int

    init(capacity: Int = 50_000, runCapacity: Int = 24 << 20, longestRun: Int = 128) {
        (self.capacity, self.runCapacity, self.longestRun) = (capacity, runCapacity, longestRun)
    }

    /// How many compressed runs are kept.
    var runsKept: Int { runs.withLockedValue { $0.pieces.count } }

    // MARK: Forgetting what a purge erased (Protocol/erasure.md §4)

    /// Events seen purged: the bytes of their full copies are dropped and never kept again here.
    private let forgotten = NIOLockedValueBox<Set<EventID>>([])

    /// Whether the bytes of `key` may be kept (checked under each cache's own lock).
    private func mayKeep(_ key: Key) -> Bool { key.purged || !forgotten.withLockedValue { $0.contains(key.id) } }

    /// Drops every kept byte of the full copies of `ids` (their JSON, their packed form, every
    /// compressed run that holds one), and keeps none again: called when this server purges them
    /// or serves their tombstones, so that a purged payload does not linger in its memory.
    func forget(_ ids: [EventID]) {
        let fresh = Set(forgotten.withLockedValue { f in ids.filter { f.insert($0).inserted } })
        guard !fresh.isEmpty else { return }
        func erased(_ key: Key) -> Bool { !key.purged && fresh.contains(key.id) }
        cache.withLockedValue { cache in cache = cache.filter { !erased($0.key) } }
        packedCache.withLockedValue { cache in cache = cache.filter { !erased($0.key) } }
        runs.withLockedValue { runs in
            let kept = runs.pieces.filter { !$0.key.contains(where: erased) }
            runs = (kept, kept.values.reduce(0) { $0 + $1.deflated.count })
        }
    }

    /// Whether any full copy of `id` is kept (for tests).
    func keepsFullCopy(of id: EventID) -> Bool {
        func full(_ key: Key) -> Bool { !key.purged && key.id == id }
        return cache.withLockedValue { $0.keys.contains(where: full) } || packedCache.withLockedValue { $0.keys.contains(where: full) }
            || runs.withLockedValue { $0.pieces.keys.contains { $0.contains(where: full) } }
    }

    /// The canonical JSON of `event` (a purged event's differs from its full copy's).
    func bytes(of event: Event) -> Data {
        let key = Key(event)
        if let hit = cache.withLockedValue({ $0[key] }) { return hit }
        let encoded = event.json.canonicalData()
        cache.withLockedValue { cache in
            guard mayKeep(key) else { return }
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = encoded
        }
        return encoded
    }

    /// `events` packed (a purged event's bytes differ from its full copy's), each packed once:
    /// one look into the kept bytes for the whole answer, then what was missing packed on every
    /// core and kept.
    func packed(_ events: [Event]) -> [[UInt8]] {
        let keys = events.map(Key.init)
        var out = packedCache.withLockedValue { cache in keys.map { cache[$0] } }
        let missing = out.indices.filter { out[$0] == nil }
        guard !missing.isEmpty else { return out.map { $0! } }
        let made = Parallel.map(count: missing.count, chunk: 256) { events[missing[$0]].packed }
        packedCache.withLockedValue { cache in
            if cache.count + made.count > capacity { cache.removeAll(keepingCapacity: true) }
            for (n, bytes) in zip(missing, made) where mayKeep(keys[n]) { cache[keys[n]] = bytes }
        }
        for (n, bytes) in zip(missing, made) { out[n] = bytes }
        return out.map { $0! }
    }

    /// `response` as canonical JSON: written without its events, whose array is then filled in
    /// from the kept encodings (`"events":[]` occurs once: keys are sorted, strings escaped, and
    /// no other object of an answer has an `events` member).
    func answer(_ response: SyncResponseV2) -> EncodedAnswer {
        // Tombstones served: whatever full copy of them is kept here goes.
        let tombstones = response.events.filter(\.isPurged).map(\.id)
        if !tombstones.isEmpty { forget(tombstones) }
        var shell = response
        shell.events = []
        let written = shell.json.canonicalData()
        let marker = Data(#""events":[]"#.utf8)
        guard !response.events.isEmpty, let at = written.range(of: marker) else { return EncodedAnswer(head: written, events: [], tail: Data(), encodings: self) }
        return EncodedAnswer(head: written[..<at.lowerBound] + Data(#""events":["#.utf8), events: response.events,
                             tail: written[(at.upperBound - 1)...], encodings: self)
    }

    /// The compressed run `",e1,e2,…"` of `events` (each preceded by a comma), compressed once.
    func run(_ events: ArraySlice<Event>) throws -> Gzip.Piece {
        let key = events.map(Key.init)
        if let hit = runs.withLockedValue({ $0.pieces[key] }) { return hit }
        var raw = Data()
        for event in events {
            raw.append(UInt8(ascii: ","))
            raw.append(bytes(of: event))
        }
        let piece = try Gzip.Piece(raw)
        runs.withLockedValue { runs in
            guard key.allSatisfy(mayKeep) else { return }
            if runs.bytes + piece.deflated.count > runCapacity { runs = ([:], 0) }
            runs.pieces[key] = piece
            runs.bytes += piece.deflated.count
        }
        return piece
    }

    /// Where an answer's events are cut into runs: before an event whose id starts with five
    /// zero bits (one in 32), or after `longestRun` events. The cuts depend only on the events
    /// themselves, so two answers holding the same events in the same order (every laptop of a
    /// partnership after an evening, a new laptop's pages) cut them into the same runs, and each
    /// run is compressed once for all of them.
    static func startsRun(_ event: Event) -> Bool {
        let hex = event.id.hex.utf8
        guard let first = hex.first, let second = hex.dropFirst().first else { return false }
        return first == UInt8(ascii: "0") && second < UInt8(ascii: "8")
    }
}

/// One sync answer as its parts: the JSON before the events, the events, the JSON after.
struct EncodedAnswer {
    let head: Data
    let events: [Event]
    let tail: Data
    let encodings: EncodedEvents

    /// The canonical JSON, whole.
    var data: Data {
        var out = Data(capacity: head.count + tail.count + events.count * 700)
        out.append(head)
        for (n, event) in events.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(encodings.bytes(of: event))
        }
        out.append(tail)
        return out
    }

    /// The packed form (`PackedPage`): the JSON without its events, then each event packed.
    var packed: Data { PackedPage.encode(head: head + tail, packed: encodings.packed(events)) }

    /// The events after the first cut, run by run (those before it are compressed with the head).
    var runs: [ArraySlice<Event>] {
        var cuts = [Int](), sinceCut = 0
        for n in events.indices.dropFirst() {
            sinceCut += 1
            if EncodedEvents.startsRun(events[n]) || sinceCut >= encodings.longestRun {
                cuts.append(n)
                sinceCut = 0
            }
        }
        return cuts.indices.map { k in events[cuts[k]..<(k + 1 < cuts.count ? cuts[k + 1] : events.count)] }
    }

    /// The canonical JSON as one gzip member: the head and the events before the first cut
    /// compressed now, each run after it from the kept runs, the tail now.
    func gzipped() throws -> Data {
        let runs = self.runs
        var gzip = Gzip.Assembly(capacity: events.count * 450)
        var first = head
        for (n, event) in events[..<(runs.first?.startIndex ?? events.count)].enumerated() {
            if n > 0 { first.append(UInt8(ascii: ",")) }
            first.append(encodings.bytes(of: event))
        }
        try gzip.append(raw: first)
        // Runs not kept yet are compressed on every core (a new laptop's pages hold 40 or more).
        let encodings = encodings
        for piece in try Parallel.map(count: runs.count, chunk: 4, { try encodings.run(runs[$0]) }) { gzip.append(piece) }
        try gzip.append(raw: tail)
        return gzip.finished()
    }
}
