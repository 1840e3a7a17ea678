import Foundation

/// The packed form of a sync answer (`Protocol/http.md`, "Packed pages"), for laptops that ask
/// for it with `Accept: application/x-fieldlog-page`: the answer's JSON without its events, then
/// each event packed (`Event.packed`). Sealed payloads are random bytes, so the packed page is
/// about the size of the gzipped JSON one, and neither side deflates, inflates or parses JSON
/// per event.
///
///     "fieldlog-page/1\n"           16 bytes
///     head length, head             u32, the answer's canonical JSON with "events":[]
///     event count                   u32, at most SyncRequestV2.maxEvents + the purges sent along
///     per event: length, bytes      u32, Event.packed
public enum PackedPage {
    public static let mediaType = "application/x-fieldlog-page"
    static let magic = Array("fieldlog-page/1\n".utf8)
    /// Events in one packed page: a full page, and the purges that authorise its tombstones.
    static let maxEvents = 2 * SyncRequestV2.maxEvents

    /// Whether `data` is a packed page (a JSON answer begins with `{`).
    public static func isPacked(_ data: Data) -> Bool { data.starts(with: magic) }

    /// The packed answer: `head` is its canonical JSON with `"events":[]`, and `events` its events.
    public static func encode(head: Data, events: [Event]) -> Data {
        encode(head: head, packed: Parallel.map(count: events.count, chunk: 256) { Data(events[$0].packed) })
    }

    /// The packed answer from its events already packed (a server keeps them: every laptop of a
    /// partnership is sent the same new events).
    public static func encode(head: Data, packed: [Data]) -> Data {
        var out = Data(capacity: size(head: head, packed: packed))
        write(head: head, packed: packed) { out.append(contentsOf: $0) }
        return out
    }

    /// How many bytes `encode(head:packed:)` writes.
    public static func size(head: Data, packed: [Data]) -> Int { magic.count + 8 + head.count + packed.reduce(0) { $0 + 4 + $1.count } }

    /// Writes the packed answer piece by piece through `write`, in order (a server writes it
    /// straight into its response buffer): the magic, the head with its length, the number of
    /// events, then each event with its length (lengths as 4 bytes, most significant first).
    public static func write(head: Data, packed: [Data], _ write: (UnsafeRawBufferPointer) -> Void) {
        func length(_ n: Int) { withUnsafeBytes(of: UInt32(n).bigEndian, write) }
        magic.withUnsafeBytes(write)
        length(head.count)
        head.withUnsafeBytes(write)
        length(packed.count)
        for p in packed {
            length(p.count)
            p.withUnsafeBytes(write)
        }
    }

    /// Reads a packed answer, strictly: the head as a JSON answer with no events, then every
    /// event (read on every core, each id checked), and nothing after the last.
    public static func decode(_ data: Data, maxValues: Int = SyncRequestV2.maxValues) throws -> SyncResponseV2 {
        var r = ByteReader(data)
        var answer = try SyncResponseV2(json: try head(&r, maxValues: maxValues))
        answer.events = try events(&r)
        return answer
    }

    /// `decode` in two steps: the answer without its events at once, and a reader of its events.
    public static func decodeInSteps(_ data: Data, maxValues: Int = SyncRequestV2.maxValues) throws -> SteppedResponse {
        var r = ByteReader(data)
        let answer = try SyncResponseV2(json: try head(&r, maxValues: maxValues))
        let rest = r
        return SteppedResponse(head: answer) {
            var r = rest
            return try events(&r)
        }
    }

    /// The events after the head, and nothing after them.
    private static func events(_ r: inout ByteReader) throws -> [Event] {
        let count = Int(try r.uint32())
        guard count <= maxEvents, count * 4 <= r.remaining else { throw SyncWireError.malformed("a packed page holds at most \(maxEvents) events") }
        var records = [ByteReader]()
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try r.record()) }
        guard r.isAtEnd else { throw SyncWireError.malformed("the packed page has bytes after its last event") }
        let read = records
        return try Parallel.map(count: count, chunk: 256) { n in try SyncWireError.event { try Event(packed: read[n]) } }
    }

    /// The head of a packed answer (its JSON without events), its events not read: for a load
    /// generator, which times the server and leaves the events to real laptops.
    public static func head(of data: Data) throws -> JSONValue {
        var r = ByteReader(data)
        return try head(&r, maxValues: SyncRequestV2.maxValues)
    }

    private static func head(_ r: inout ByteReader, maxValues: Int) throws -> JSONValue {
        guard (try? r.rawBytes(magic.count)).map(Array.init) == magic else { throw SyncWireError.malformed("not a packed sync page") }
        let bytes = try r.blob()
        let head: JSONValue
        do { head = try JSONValue.parse(bytes, maxValues: maxValues) } catch { throw SyncWireError.malformed("the packed page's head is not JSON") }
        guard head["events"]?.arrayValue?.isEmpty == true else { throw SyncWireError.malformed("the packed page's head holds events") }
        return head
    }
}
