import Foundation

/// A compact writer for the state snapshot: every repeated string (organisations, settings,
/// authors, zones, person ids) is written once in a table and referred to by number; event ids
/// are 64 bytes with no length. Host byte order is not used: the snapshot may move with a backup.
struct SnapshotWriter {
    private var body = ByteWriter(capacity: 1 << 20)
    private var table = [String: UInt32]()
    private var words = [String]()

    /// The table, then the body.
    var data: Data {
        var head = ByteWriter(capacity: 16 * words.count + 16)
        head.uint32(UInt32(words.count))
        for w in words { head.string(w) }
        return head.data + body.data
    }

    mutating func word(_ s: String) {
        if let i = table[s] { return body.uint32(i) }
        let i = UInt32(words.count)
        table[s] = i
        words.append(s)
        body.uint32(i)
    }

    mutating func word(_ s: String?) {
        if let s { word(s) } else { body.uint32(.max) }
    }

    mutating func count(_ n: Int) { body.uint32(UInt32(n)) }
    mutating func version(_ v: UInt32) { body.uint32(v) }
    mutating func int(_ v: Int64) { body.uint64(UInt64(bitPattern: v)) }
    mutating func int(_ v: Int64?) { bool(v != nil); if let v { int(v) } }
    mutating func bool(_ b: Bool) { body.uint32(b ? 1 : 0) }
    mutating func text(_ s: String) { body.string(s) }
    mutating func id(_ e: EventID) { body.rawHex(e) }
    mutating func id(_ e: EventID?) { bool(e != nil); if let e { id(e) } }

    mutating func dot(_ d: Dot) { word(d.replica.rawValue); int(Int64(d.seq)) }

    mutating func vector(_ v: VersionVector) {
        count(v.entries.count)
        for (r, s) in v.entries.sorted(by: { $0.key < $1.key }) { word(r.rawValue); int(Int64(s)) }
    }

    mutating func write(_ w: RegisterWrite) {
        id(w.eventID); dot(w.dot); vector(w.context); text(w.value.canonicalString())
        word(w.reason); int(w.review); int(w.occurredAt); word(w.author); word(w.org)
    }

    mutating func words(_ list: [String]) { count(list.count); for s in list { word(s) } }
    mutating func word<V>(_ w: Word<V>) { word(w.rawValue) }
    mutating func words<V>(_ list: [Word<V>]) { count(list.count); for w in list { word(w) } }

    mutating func list<T>(_ items: some Collection<T>, _ each: (inout SnapshotWriter, T) -> Void) {
        count(items.count)
        for item in items { each(&self, item) }
    }
}

struct SnapshotReader {
    private var body: ByteReader
    private var table: [String] = []

    init(_ data: Data) throws {
        body = ByteReader(data)
        let n = Int(try body.uint32())
        guard n <= data.count else { throw FieldlogError.malformed("damaged state snapshot") }
        table.reserveCapacity(n)
        for _ in 0..<n { table.append(try body.string()) }
    }

    var isAtEnd: Bool { body.isAtEnd }

    mutating func word() throws -> String { table[try wordIndex()] }

    /// A vocabulary word (`WordMemo` parses each table entry once instead).
    mutating func word<V>() throws -> Word<V> { Word(try word()) }

    /// The table entry the next word is.
    mutating func wordIndex() throws -> Int {
        let i = Int(try body.uint32())
        guard i < table.count else { throw FieldlogError.malformed("damaged state snapshot") }
        return i
    }

    var tableCount: Int { table.count }
    func tableWord(_ i: Int) -> String { table[i] }

    mutating func optionalWord() throws -> String? {
        let i = try body.uint32()
        if i == .max { return nil }
        guard Int(i) < table.count else { throw FieldlogError.malformed("damaged state snapshot") }
        return table[Int(i)]
    }

    /// (A version is not a count: it is not bounded by the bytes left.)
    mutating func version() throws -> UInt32 { try body.uint32() }

    mutating func count() throws -> Int {
        let n = Int(try body.uint32())
        guard n <= body.remaining else { throw FieldlogError.malformed("damaged state snapshot") }
        return n
    }

    mutating func int() throws -> Int64 { Int64(bitPattern: try body.uint64()) }
    mutating func optionalInt() throws -> Int64? { try bool() ? try int() : nil }
    mutating func bool() throws -> Bool { try body.uint32() != 0 }
    mutating func text() throws -> String { try body.string() }

    /// (The snapshot is sealed and authenticated: its ids are the ones this laptop wrote in it.)
    mutating func id() throws -> EventID {
        guard let id = try body.hexID() else { throw FieldlogError.malformed("damaged state snapshot") }
        return id
    }

    mutating func optionalID() throws -> EventID? { try bool() ? try id() : nil }

    mutating func dot() throws -> Dot {
        guard let r = ReplicaID(try word()), case let s = try int(), s >= 1 else { throw FieldlogError.malformed("damaged state snapshot") }
        return Dot(r, UInt64(s))
    }

    mutating func vector() throws -> VersionVector {
        var entries = [ReplicaID: UInt64]()
        for _ in 0..<(try count()) {
            guard let r = ReplicaID(try word()) else { throw FieldlogError.malformed("damaged state snapshot") }
            entries[r] = UInt64(clamping: try int())
        }
        return VersionVector(entries)
    }

    mutating func write() throws -> RegisterWrite {
        RegisterWrite(eventID: try id(), dot: try dot(), context: try vector(), value: try JSONValue.parse(try text()),
                      reason: try optionalWord(), review: try optionalInt(), occurredAt: try int(), author: try word(), org: try word())
    }

    mutating func words() throws -> [String] { try (0..<(try count())).map { _ in try word() } }

    mutating func list<T>(_ each: (inout SnapshotReader) throws -> T) throws -> [T] {
        let n = try count()
        var out = [T]()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try each(&self)) }
        return out
    }
}

/// Vocabulary words of one snapshot, each table entry parsed once: a page names a few settings,
/// needs and services thousands of times, and parsing a word costs ~65 ns.
struct WordMemo<V: Vocabulary> {
    private var parsed: [Word<V>?] = []

    mutating func read(_ r: inout SnapshotReader) throws -> Word<V> {
        let i = try r.wordIndex()
        if parsed.isEmpty { parsed = Array(repeating: nil, count: r.tableCount) }
        if let w = parsed[i] { return w }
        let w = Word<V>(r.tableWord(i))
        parsed[i] = w
        return w
    }

    mutating func list(_ r: inout SnapshotReader) throws -> [Word<V>] {
        try (0..<(try r.count())).map { _ in try read(&r) }
    }
}
