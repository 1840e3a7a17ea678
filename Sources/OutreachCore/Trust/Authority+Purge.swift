/// What an erasure may name (`Protocol/erasure.md` §3).
extension Authority {
    /// At most this many ids in one `events.purged` (a person's identifying events are a few dozen).
    public static let maxPurge = 10_000

    /// The event types whose payload a purge may erase: those that identify a person, and the
    /// corrections of them (erasure.md §3). Everything counted stays.
    public static let purgeable: Set<EventType> = [.personRegistered, .personProfile, .contactNote]

    /// The ids an `events.purged` names, if it is one and well formed (sorted, distinct, 1 to `maxPurge`).
    public static func purgeList(_ payload: Payload) -> [EventID]? { Body.EventsPurged(payload)?.purge }
}

