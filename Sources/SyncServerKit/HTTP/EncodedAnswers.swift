import Foundation
import NIOConcurrencyHelpers
import OutreachCore

/// Sync answers written with each event's JSON encoded once and kept: in a crowd, every laptop
/// of a partnership is sent the same new events, and encoding each again for each laptop was
/// most of the server's work (BENCHMARKS.md, the crowd). The bytes are exactly
/// `SyncResponseV2.json.canonicalData()` (a property test holds them equal).
final class EncodedEvents: Sendable {
    private struct Key: Hashable { let id: EventID; let purged: Bool }
    private let cache = NIOLockedValueBox<[Key: Data]>([:])
    /// At most this many events are kept (about 30 MB); past it the cache starts again.
    let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    /// The canonical JSON of `event` (a purged event's differs from its full copy's).
    func bytes(of event: Event) -> Data {
        let key = Key(id: event.id, purged: event.isPurged)
        if let hit = cache.withLockedValue({ $0[key] }) { return hit }
        let encoded = event.json.canonicalData()
        cache.withLockedValue { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = encoded
        }
        return encoded
    }

    /// `response` as canonical JSON: written without its events, whose array is then filled in
    /// from the kept encodings (`"events":[]` occurs once: keys are sorted, strings escaped, and
    /// no other object of an answer has an `events` member).
    func answer(_ response: SyncResponseV2) -> Data {
        var shell = response
        shell.events = []
        let written = shell.json.canonicalData()
        let marker = Data(#""events":[]"#.utf8)
        guard !response.events.isEmpty, let at = written.range(of: marker) else { return written }
        var out = Data(capacity: written.count + response.events.count * 700)
        out.append(written[..<at.lowerBound])
        out.append(contentsOf: Array(#""events":["#.utf8))
        for (n, event) in response.events.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(bytes(of: event))
        }
        out.append(UInt8(ascii: "]"))
        out.append(written[at.upperBound...])
        return out
    }
}
