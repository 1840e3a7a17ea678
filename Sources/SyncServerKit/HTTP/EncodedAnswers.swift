import Foundation
import NIOConcurrencyHelpers
import NIOCore
import OutreachCore

/// Sync answers written from each event's bytes encoded once and kept, and runs of events
/// compressed once and kept: in a crowd, every laptop of a partnership is sent the same new
/// events, and reading, encoding and gzipping each again for each laptop was most of the
/// server's work (BENCHMARKS.md, the crowd). The storage reads a page from its index first and
/// reads whole only the rows whose bytes are not kept here (`SyncStorage.page(…known:)`).
/// The bytes are exactly `SyncResponseV2.json.canonicalData()` or `PackedPage.encode`, and
/// gzipped they expand to exactly the JSON (property tests hold both).
final class EncodedEvents: Sendable {
    /// How an answer's events are written: canonical JSON (gzipped runs kept too) or packed.
    enum Form: Sendable { case json, packed }

    /// Within one partnership's storage an id names one row for ever (append-only, never
    /// replaced: trust.md, erasure.md), so the partnership, the id and whether it is purged
    /// decide an event's bytes. The same id in two partnerships' storages (one a forgery) is
    /// two keys: they never share bytes.
    struct Key: Hashable, Sendable {
        let partnership: String?
        let id: EventID
        let purged: Bool
        init(_ partnership: String?, _ entry: Page.Entry) { (self.partnership, id, purged) = (partnership, entry.id, entry.purged) }
    }

    private let json = NIOLockedValueBox<[Key: Data]>([:])
    private let packed = NIOLockedValueBox<[Key: Data]>([:])
    private func kept(_ form: Form) -> NIOLockedValueBox<[Key: Data]> { form == .json ? json : packed }
    /// Runs of events as JSON, compressed (`Gzip.Piece`), by the events they hold.
    private let runs = NIOLockedValueBox<(pieces: [[Key]: Gzip.Piece], bytes: Int)>(([:], 0))
    /// At most this many events are kept in each form (about 30 MB); past it they start again.
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
        for form in [Form.json, .packed] { kept(form).withLockedValue { cache in cache = cache.filter { !erased($0.key) } } }
        runs.withLockedValue { runs in
            let kept = runs.pieces.filter { !$0.key.contains(where: erased) }
            runs = (kept, kept.values.reduce(0) { $0 + $1.deflated.count })
        }
    }

    /// Whether any full copy of `id` is kept (for tests).
    func keepsFullCopy(of id: EventID) -> Bool {
        func full(_ key: Key) -> Bool { !key.purged && key.id == id }
        return [Form.json, .packed].contains { kept($0).withLockedValue { $0.keys.contains(where: full) } }
            || runs.withLockedValue { $0.pieces.keys.contains { $0.contains(where: full) } }
    }

    // MARK: Answers

    /// One answer in the making: which of its page's events are kept in its form, looked up
    /// once (one lock) while the storage reads the page, and held here, so that the caches
    /// starting again meanwhile lose nothing.
    final class Lookup: Sendable {
        let encodings: EncodedEvents
        let form: Form
        let partnership: String?
        private let found = NIOLockedValueBox<[Data?]>([])

        init(_ encodings: EncodedEvents, form: Form, partnership: String?) {
            (self.encodings, self.form, self.partnership) = (encodings, form, partnership)
        }

        /// For each of `entries`, whether its bytes are kept (`SyncStorage.page(…known:)`).
        func knows(_ entries: [Page.Entry]) -> [Bool] {
            let hits = encodings.kept(form).withLockedValue { cache in entries.map { cache[Key(partnership, $0)] } }
            found.withLockedValue { $0 = hits }
            return hits.map { $0 != nil }
        }

        /// What `knows` found, for `count` entries (none if it was not asked).
        func hits(count: Int) -> [Data?] {
            let hits = found.withLockedValue { $0 }
            return hits.count == count ? hits : Array(repeating: nil, count: count)
        }
    }

    func lookup(_ form: Form, partnership: String?) -> Lookup { Lookup(self, form: form, partnership: partnership) }

    /// Keeps `events` in `form`, as just stored by `partnership`'s storage exactly as they are
    /// (`SyncService.exchange`'s `accepted`): in a crowd, the laptops syncing at the same moment
    /// are sent them next, and would otherwise each read and encode them before any kept them.
    func keep(_ events: [Event], _ form: Form, partnership: String?) {
        guard !events.isEmpty else { return }
        keep(events.map { Key(partnership, Page.Entry($0)) }, events.map { Self.encode($0, form) }, form)
    }

    /// `event`'s bytes in `form`.
    static func encode(_ event: Event, _ form: Form) -> Data { form == .json ? event.json.canonicalData() : Data(event.packed) }

    /// Keeps `bytes` under `keys` in `form`, all of them (the cache starts again if they would
    /// not fit), but none whose full copy was erased.
    private func keep(_ keys: [Key], _ bytes: [Data], _ form: Form) {
        kept(form).withLockedValue { cache in
            if cache.count + bytes.count > capacity { cache.removeAll(keepingCapacity: true) }
            // Read under the cache's lock: `forget` adds to it before it clears this cache.
            let erased = forgotten.withLockedValue { $0 }
            for (key, bytes) in zip(keys, bytes) where key.purged || !erased.contains(key.id) { cache[key] = bytes }
        }
    }

    /// The answer to `exchange` in `lookup`'s form: the events `lookup` found kept, the others
    /// (the exchange's response holds them, in page order) encoded on every core, and kept
    /// when the answer is a laptop's last page. A page with more after it is a laptop catching
    /// up (a new laptop's first sync): its events are old, few others will be sent them soon,
    /// and keeping them would push out the evening's events that every laptop is about to be
    /// sent (and cost a third of the server's work on a first sync).
    func answer(_ exchange: SyncService.Exchange, _ lookup: Lookup) throws -> EncodedAnswer {
        let entries = exchange.entries, form = lookup.form
        // Tombstones served: whatever full copy of them is kept here goes.
        let tombstones = entries.filter(\.purged).map(\.id)
        if !tombstones.isEmpty { forget(tombstones) }
        var items = lookup.hits(count: entries.count)
        let missing = items.indices.filter { items[$0] == nil }
        let made: [Data]
        if let packed = exchange.packed {
            // Read from their rows straight into their packed bytes (the storage checked each
            // row against its entry as it read it); each begins with its id.
            guard form == .packed, missing.count == packed.count,
                  zip(missing, packed).allSatisfy({ n, bytes in bytes.count >= 32 && bytes.withUnsafeBytes { EventID(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<32])) } == entries[n].id })
            else { throw FieldlogError(.corrupt, "a page's events do not match its index") }
            made = packed
        } else {
            let fetched = exchange.response.events
            guard missing.count == fetched.count, zip(missing, fetched).allSatisfy({ entries[$0] == Page.Entry($1) }) else {
                throw FieldlogError(.corrupt, "a page's events do not match its index")
            }
            made = Parallel.map(count: fetched.count, chunk: 256) { Self.encode(fetched[$0], form) }
        }
        let keys = entries.map { Key(lookup.partnership, $0) }
        if !missing.isEmpty {
            if !exchange.response.more { keep(missing.map { keys[$0] }, made, form) }
            for (n, bytes) in zip(missing, made) { items[n] = bytes }
        }
        let bytes = items.map { $0! }
        var shell = exchange.response
        shell.events = []
        let written = shell.json.canonicalData()
        let marker = Data(#""events":[]"#.utf8)
        // `"events":[]` occurs once: keys are sorted, strings escaped, and no other object of an
        // answer has an `events` member.
        guard form == .json, !entries.isEmpty, let at = written.range(of: marker) else {
            return EncodedAnswer(form: form, head: written, tail: Data(), keys: keys, items: bytes, encodings: self)
        }
        return EncodedAnswer(form: form, head: written[..<at.lowerBound] + Data(#""events":["#.utf8), tail: written[(at.upperBound - 1)...],
                             keys: keys, items: bytes, encodings: self)
    }

    /// The answer `response` (all of its events read whole) in `form`, through the kept bytes
    /// of `partnership` as the server's answers go.
    func answer(_ response: SyncResponseV2, _ form: Form, partnership: String? = nil) throws -> EncodedAnswer {
        let entries = response.events.map(Page.Entry.init)
        let lookup = lookup(form, partnership: partnership)
        let known = lookup.knows(entries)
        var lacking = response
        lacking.events = zip(response.events, known).filter { !$0.1 }.map(\.0)
        return try answer(SyncService.Exchange(response: lacking, entries: entries), lookup)
    }

    /// The compressed run `",e1,e2,…"` of the JSON `items` of `keys` (each preceded by a comma),
    /// compressed once.
    func run(_ keys: ArraySlice<Key>, _ items: ArraySlice<Data>) throws -> Gzip.Piece {
        let key = Array(keys)
        if let hit = runs.withLockedValue({ $0.pieces[key] }) { return hit }
        var raw = Data(capacity: items.reduce(0) { $0 + 1 + $1.count })
        for item in items {
            raw.append(UInt8(ascii: ","))
            raw.append(item)
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
    static func startsRun(_ id: EventID) -> Bool {
        id.firstByte < 8  // hex "0" then "0" to "7"
    }
}

/// One sync answer as its parts: the JSON before the events, each event's bytes in the
/// answer's form, the JSON after.
struct EncodedAnswer {
    let form: EncodedEvents.Form
    let head: Data
    let tail: Data
    let keys: [EncodedEvents.Key]
    let items: [Data]
    let encodings: EncodedEvents

    var isEmpty: Bool { items.isEmpty }

    /// The canonical JSON, whole (a JSON answer).
    var data: Data {
        precondition(form == .json)
        var out = Data(capacity: head.count + tail.count + items.reduce(0) { $0 + 1 + $1.count })
        out.append(head)
        for (n, item) in items.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(item)
        }
        out.append(tail)
        return out
    }

    /// The packed form (`PackedPage`, a packed answer): the JSON without its events, then each event packed.
    var packed: Data {
        precondition(form == .packed)
        return PackedPage.encode(head: head + tail, packed: items)
    }

    /// The packed form written straight into one buffer (the bytes of `packed`).
    var packedBuffer: ByteBuffer {
        precondition(form == .packed)
        let head = head + tail
        var buffer = ByteBufferAllocator().buffer(capacity: PackedPage.size(head: head, packed: items))
        PackedPage.write(head: head, packed: items) { buffer.writeBytes($0) }
        return buffer
    }

    /// The events after the first cut, run by run, as ranges of `keys` (those before it are
    /// compressed with the head).
    var runs: [Range<Int>] {
        var cuts = [Int](), sinceCut = 0
        for n in keys.indices.dropFirst() {
            sinceCut += 1
            if EncodedEvents.startsRun(keys[n].id) || sinceCut >= encodings.longestRun {
                cuts.append(n)
                sinceCut = 0
            }
        }
        return cuts.indices.map { k in cuts[k]..<(k + 1 < cuts.count ? cuts[k + 1] : keys.count) }
    }

    /// The canonical JSON as one gzip member: the head and the events before the first cut
    /// compressed now, each run after it from the kept runs, the tail now.
    func gzipped() throws -> Data {
        precondition(form == .json)
        let runs = self.runs
        var gzip = Gzip.Assembly(capacity: items.count * 450)
        var first = head
        for (n, item) in items[..<(runs.first?.lowerBound ?? items.count)].enumerated() {
            if n > 0 { first.append(UInt8(ascii: ",")) }
            first.append(item)
        }
        try gzip.append(raw: first)
        // Runs not kept yet are compressed on every core (a new laptop's pages hold 40 or more).
        let (encodings, keys, items) = (encodings, keys, items)
        for piece in try Parallel.map(count: runs.count, chunk: 4, { try encodings.run(keys[runs[$0]], items[runs[$0]]) }) { gzip.append(piece) }
        try gzip.append(raw: tail)
        return gzip.finished()
    }
}
