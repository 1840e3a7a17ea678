import Foundation

/// Where the fold reads back an event it was given before, when a later one changes what it
/// means (a retraction, a correction, a revocation).
public protocol FoldSource {
    func opened(_ id: EventID) -> OpenedEvent?
    /// The events of `origin` after `seq` that can be opened.
    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent]
}

/// Events in memory, then (for the rest) another source.
///
/// Most batches are folded without a look back (only a retraction, correction, link or
/// revocation makes one), so the index by id is built at the first look-up, not before: for a
/// whole log it was a dictionary of every opened event, built and freed for nothing.
struct BatchSource<Rest: FoldSource>: FoldSource {
    let events: [OpenedEvent]
    let rest: Rest
    private let index = LazyIndex()

    private final class LazyIndex {
        var positions: [EventID: Int]?
    }

    init(_ events: [OpenedEvent], then rest: Rest) {
        self.events = events
        self.rest = rest
    }

    func opened(_ id: EventID) -> OpenedEvent? {
        if index.positions == nil {
            var positions = [EventID: Int](minimumCapacity: events.count)
            for (n, o) in events.enumerated() where positions[o.event.id] == nil { positions[o.event.id] = n }
            index.positions = positions
        }
        return index.positions![id].map { events[$0] } ?? rest.opened(id)
    }

    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent] {
        var ids = Set<EventID>()
        let here = events.filter { $0.event.dot.replica == origin && $0.event.dot.seq > seq && ids.insert($0.event.id).inserted }
        return here + rest.opened(origin: origin, after: seq).filter { !ids.contains($0.event.id) }
    }
}

extension BatchSource where Rest == NoSource {
    init(_ events: [OpenedEvent]) { self.init(events, then: NoSource()) }
}

/// Nothing more.
struct NoSource: FoldSource {
    func opened(_ id: EventID) -> OpenedEvent? { nil }
    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent] { [] }
}
