import Foundation

// MARK: Amendments, erasure and trust

extension Body {
    /// `event.retracted` (the target's scope): its target stops counting everywhere.
    public struct EventRetracted: EventBody {
        public static let type = EventType.eventRetracted
        public var target: EventID
        public var reason: Word<RetractReason>?

        public init(target: EventID, reason: Word<RetractReason>?) { (self.target, self.reason) = (target, reason) }
        public init?(_ f: PayloadFields) {
            guard let target = f.eventID("target") else { return nil }
            self.init(target: target, reason: f.word("reason"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("target", target); w.set("reason", reason)
            return w.fields
        }
    }

    /// `event.corrected` (the target's scope): fields laid over its target (`at` included).
    public struct EventCorrected: EventBody {
        public static let type = EventType.eventCorrected
        public var target: EventID
        /// The replacement fields, as the target's own body names them.
        public var replacing: [String: JSONValue]
        public var reason: String?

        public init(target: EventID, replacing: [String: JSONValue], reason: String?) { (self.target, self.replacing, self.reason) = (target, replacing, reason) }
        /// A correction whose `fields` is not an object replaces nothing.
        public init?(_ f: PayloadFields) {
            guard let target = f.eventID("target") else { return nil }
            self.init(target: target, replacing: f["fields"]?.objectValue ?? [:], reason: f.string("reason"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("target", target); w["fields"] = .object(replacing); w.set("reason", reason)
            return w.fields
        }
    }

    /// `events.purged` (public, in clear, no author): ids whose payloads every replica erases.
    public struct EventsPurged: EventBody {
        public static let type = EventType.eventsPurged
        public var purge: [EventID]

        public init(purge: [EventID]) { self.purge = purge }
        /// Nil unless 1 to `Authority.maxPurge` distinct event ids.
        public init?(_ f: PayloadFields) {
            guard let items = f["purge"]?.arrayValue, (1...Authority.maxPurge).contains(items.count) else { return nil }
            let ids = items.compactMap { $0.stringValue.flatMap(EventID.init(hex:)) }
            guard ids.count == items.count, Set(ids).count == ids.count else { return nil }
            self.init(purge: ids)
        }
        public var fields: [String: JSONValue] { ["purge": .array(purge.map { .string($0.hex) })] }
    }

    /// `device.revoked` (partnership): a laptop's events after `upTo` no longer count (`Protocol/trust.md` §5a).
    public struct DeviceRevoked: EventBody {
        public static let type = EventType.deviceRevoked
        public var replica: ReplicaID
        /// Its name, for people reading the log.
        public var device: String?
        public var upTo: UInt64
        public var reason: String?

        public init(replica: ReplicaID, device: String?, upTo: UInt64, reason: String?) { (self.replica, self.device, self.upTo, self.reason) = (replica, device, upTo, reason) }
        public init?(_ f: PayloadFields) {
            guard let replica = f.string("replica").flatMap(ReplicaID.init), let upTo = f.int("upTo"), upTo >= 0 else { return nil }
            self.init(replica: replica, device: f.string("device"), upTo: UInt64(upTo), reason: f.string("reason"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("replica", replica.rawValue); w.set("device", device); w.set("upTo", Int64(upTo)); w.set("reason", reason)
            return w.fields
        }
    }

    /// `device.keyed` (partnership): the writing device's agreement key and the key ids it holds (`Protocol/trust.md` §5b).
    public struct DeviceKeyed: EventBody {
        public static let type = EventType.deviceKeyed
        /// Its X25519 public key (32 bytes).
        public var agreementKey: Data
        public var holds: [String]

        public init(agreementKey: Data, holds: [String]) { (self.agreementKey, self.holds) = (agreementKey, holds) }
        public init?(_ f: PayloadFields) {
            guard let key = f.key32("agreementKey") else { return nil }
            self.init(agreementKey: key, holds: f.strings("holds"))
        }
        public var fields: [String: JSONValue] {
            var w = FieldsWriter()
            w.set("agreementKey", agreementKey.base64EncodedString()); w.set("holds", strings: holds)
            return w.fields
        }
    }
}

extension Payload {
    /// The event a retraction or a correction names; nil for any other type.
    public var amendedTarget: EventID? {
        switch eventType {
        case .eventRetracted: Body.EventRetracted(self)?.target
        case .eventCorrected: Body.EventCorrected(self)?.target
        default: nil
        }
    }
}
