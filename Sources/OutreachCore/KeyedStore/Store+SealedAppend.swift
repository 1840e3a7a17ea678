import Foundation

extension Store {
    /// Seals, signs and appends this device's new events in one transaction, committed before it
    /// returns: the sealer fills the slot the store fixes (`append(_:)`), and what the events
    /// change besides the log (a revocation, a key granted to this device, an erasure) is worked
    /// out here, above the store, and stored with them.
    @discardableResult
    public func append(_ drafts: [Draft], keyring: Keyring, recordedAt: Int64 = WallClock.nowMillis()) throws -> [Event] {
        guard keyring.org == info.org else { throw FieldlogError(.notPermitted, "this keyring is \(keyring.org)'s, the store \(info.org)'s") }
        let sealer = Sealer(keyring)
        // This device's own erasures, judged by the rule that needs keys (P2) before the
        // transaction: what they name is held and cannot change but by a purge, which only
        // makes it unreadable (then taken on trust either way).
        for draft in drafts {
            if let ids = Authority.purgeList(draft.payload), let rule = try identifyingRule(ids, carried: [:], sealer: sealer) {
                throw FieldlogError(.notPermitted, "this purge would break a rule: \(rule)")
            }
        }
        return try append { slot in
            let events = try sealer.seal(drafts, into: slot, recordedAt: recordedAt)
            var sealed = SealedAppend(events: events)
            sealed.revocations = drafts.compactMap { Authority.Revocation($0.payload) }
            let notices = zip(drafts, events).compactMap { KeyNotice(OpenedEvent(event: $1, payload: $0.payload)) }
            if !notices.isEmpty {
                var held = keyring
                sealed.grants = Self.grantsToMe(notices, keyring: &held, replica: slot.replica)
            }
            sealed.purges = zip(drafts, events).compactMap { draft, event in
                Authority.purgeList(draft.payload).map { EventTable.Purge(event: event, ids: $0) }
            }
            return sealed
        }
    }

    /// Rule P2 (`Protocol/erasure.md` §3), the purge rule that needs keys: where this device can
    /// read them, a purge names only events that identify a person (or corrections of them).
    /// Judged on what arrives with it (`carried`) and what is held. Nil when it is honoured.
    func identifyingRule(_ ids: [EventID], carried: [EventID: Event], sealer: Sealer) throws -> Authority.Rule? {
        let held = try events(ids: ids.filter { carried[$0] == nil })
        let looked = Set(ids)
        func find(_ id: EventID) throws -> Event? {
            if let e = carried[id] ?? held[id] { return e }
            return looked.contains(id) ? nil : try events(ids: [id])[id]
        }
        for id in ids {
            guard let target = try find(id), let opened = sealer.open(target), let type = opened.payload.eventType else { continue }
            if Authority.purgeable.contains(type) { continue }
            if type == .eventCorrected, let amended = opened.payload.amendedTarget, let original = try find(amended) {
                // A correction is purged with the event it corrects; if that cannot be read here, it is taken on trust.
                guard let o = sealer.open(original), let t = o.payload.eventType else { continue }
                if Authority.purgeable.contains(t) { continue }
            }
            return .notIdentifying
        }
        return nil
    }
}
