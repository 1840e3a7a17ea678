import Foundation

/// The fold's source of earlier events on a laptop: its store, opened with its keyring (the
/// fold itself reads no store).
struct StoreSource: FoldSource {
    let store: Store
    let keyring: Keyring

    func opened(_ id: EventID) -> OpenedEvent? {
        let found = try? store.events(sql: "SELECT \(EventTable.columns) FROM events WHERE \(EventTable.idIs("?1"))", arguments: [id.hex])
        return found?.first.flatMap(keyring.open)
    }

    func opened(origin: ReplicaID, after seq: UInt64) -> [OpenedEvent] {
        let found = try? store.events(sql: "SELECT \(EventTable.columns) FROM events WHERE origin = ? AND seq > ? ORDER BY seq",
                                      arguments: [origin.rawValue, Int64(clamping: seq)])
        return (found ?? []).compactMap(keyring.open)
    }
}
