import Foundation

/// What the log says about keys (`Protocol/trust.md` §5b): each device's agreement key and the
/// keys it said it held, every key notice, and every revocation with its dot. Folded like
/// everything else; read by `KeyPlan` to decide what to rotate and whom to grant.
public struct KeyFacts: Sendable, Equatable {
    /// A device's own `device.keyed`: its agreement key and the key ids it held then.
    public struct Announcement: Sendable, Equatable {
        public let agreementKey: Data
        public var holds: Set<String>
        /// The seq of its latest announcement (whose agreement key counts).
        public let seq: UInt64
    }

    /// A `key.rotated` or `key.granted` event.
    public struct Notice: Sendable, Equatable {
        public let id: EventID
        public let isRotation: Bool
        public let scope: Scope
        /// The organisation whose key it is ("" for the partnership's).
        public let org: String
        public let epoch: Int64
        public let keyID: String
        public let recipients: Set<ReplicaID>
        public let dot: Dot
        public let context: VersionVector

        /// Whether the event at `dot` was in this notice's causal past when it was written.
        public func follows(_ dot: Dot) -> Bool { self.dot == dot || context[dot.replica] >= dot.seq }
    }

    /// A `device.revoked` event: who wrote it (its organisation) and whom it revokes.
    public struct RevocationNotice: Sendable, Equatable {
        public let dot: Dot
        public let org: String
        public let replica: ReplicaID
    }

    public internal(set) var devices: [ReplicaID: Announcement] = [:]
    public internal(set) var notices: [EventID: Notice] = [:]
    public internal(set) var revocations: [EventID: RevocationNotice] = [:]

    mutating func add(_ o: OpenedEvent) {
        let e = o.event
        switch o.payload.eventType {
        case .deviceKeyed:
            // Only a device's own announcement counts: the event's origin is the device.
            guard let b = Body.DeviceKeyed(o.payload) else { return }
            let key = b.agreementKey, holds = Set(b.holds)
            if let old = devices[e.dot.replica], old.seq > e.dot.seq {
                devices[e.dot.replica]?.holds.formUnion(holds)
            } else {
                devices[e.dot.replica] = Announcement(agreementKey: key, holds: holds.union(devices[e.dot.replica]?.holds ?? []), seq: e.dot.seq)
            }
        case .keyRotated, .keyGranted:
            guard let n = KeyNotice(o) else { return }
            notices[e.id] = Notice(id: e.id, isRotation: n.isRotation, scope: n.label.scope, org: n.label.org, epoch: n.label.epoch,
                                   keyID: n.label.keyID, recipients: Set(n.grants.map(\.replica)), dot: e.dot, context: e.context)
        case .deviceRevoked:
            guard let r = Authority.Revocation(o.payload) else { return }
            revocations[e.id] = RevocationNotice(dot: e.dot, org: e.org, replica: r.replica)
        default: return
        }
    }

    func encode(_ w: inout SnapshotWriter) {
        w.list(devices) { w, d in
            w.word(d.key.rawValue); w.word(d.value.agreementKey.base64EncodedString()); w.words(d.value.holds.sorted()); w.int(Int64(d.value.seq))
        }
        w.list(notices.values) { w, n in
            w.id(n.id); w.bool(n.isRotation); w.word(n.scope.rawValue); w.word(n.org); w.int(n.epoch); w.word(n.keyID)
            w.words(n.recipients.map(\.rawValue).sorted()); w.dot(n.dot); w.vector(n.context)
        }
        w.list(revocations) { w, r in w.id(r.key); w.dot(r.value.dot); w.word(r.value.org); w.word(r.value.replica.rawValue) }
    }

    init() {}

    init(reading r: inout SnapshotReader) throws {
        let bad = FieldlogError.malformed("damaged state snapshot")
        for (replica, a) in try r.list({ r -> (ReplicaID, Announcement) in
            guard let replica = ReplicaID(try r.word()), let key = Data(base64Encoded: try r.word()) else { throw bad }
            return (replica, Announcement(agreementKey: key, holds: Set(try r.words()), seq: UInt64(clamping: try r.int())))
        }) { devices[replica] = a }
        for n in try r.list({ r -> Notice in
            let id = try r.id(), rotation = try r.bool(), scope = Scope(try r.word()), org = try r.word(), epoch = try r.int(), keyID = try r.word()
            let recipients = try r.words().map { try ReplicaID($0) ?? { throw bad }() }
            return Notice(id: id, isRotation: rotation, scope: scope, org: org, epoch: epoch, keyID: keyID, recipients: Set(recipients),
                          dot: try r.dot(), context: try r.vector())
        }) { notices[n.id] = n }
        for (id, x) in try r.list({ r -> (EventID, RevocationNotice) in
            (try r.id(), RevocationNotice(dot: try r.dot(), org: try r.word(), replica: try ReplicaID(try r.word()) ?? { throw bad }()))
        }) { revocations[id] = x }
    }
}
