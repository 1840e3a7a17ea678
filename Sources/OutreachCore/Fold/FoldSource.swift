import Foundation

/// Where the fold reads back an event it was given before, when a later one changes what it
/// means (a retraction, a correction, a revocation).
public protocol FoldSource {
    func opened(_ id: EventID) -> OpenedEvent?
    /// The events of `origin` after `seq` that can be opened.
    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent]
}

/// Events in memory, then (for the rest) another source.
struct BatchSource<Rest: FoldSource>: FoldSource {
    let byID: [EventID: OpenedEvent]
    let rest: Rest

    init(_ events: [OpenedEvent], then rest: Rest) {
        byID = Dictionary(events.map { ($0.event.id, $0) }, uniquingKeysWith: { a, _ in a })
        self.rest = rest
    }

    func opened(_ id: EventID) -> OpenedEvent? { byID[id] ?? rest.opened(id) }

    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent] {
        let here = byID.values.filter { $0.event.dot.replica == origin && $0.event.dot.seq > seq }
        let ids = Set(here.map(\.event.id))
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
