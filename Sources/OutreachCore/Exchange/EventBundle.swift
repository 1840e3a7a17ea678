import Crypto
import Foundation

/// An offline bundle: the events another device lacks, for a USB stick (`Protocol/bundle.md`).
///
/// `FIELDLOG-BUNDLE 1\n` followed by a gzip stream of one canonical JSON object with a header,
/// the events in their wire form (payloads still sealed), and an HMAC-SHA256 under the
/// partnership key over the header and every event id. Since ids hash their events' contents,
/// the MAC covers everything: one changed byte and the bundle is refused.
public struct EventBundle: Sendable {
    public static let magic = Data("FIELDLOG-BUNDLE 2\n".utf8)
    static let formatVersion: Int64 = 2
    public static let maxExpandedSize = 2 << 30

    public struct Header: Sendable, Equatable {
        public let partnershipID: String
        public let org: String
        public let device: String
        public let replica: ReplicaID
        public let since: VersionVector
        public let covered: VersionVector
        public let count: Int
        public let createdAt: Int64
        /// The writer's roster: the certificates that sign the events (trust.md §2).
        public let certificates: [DeviceCertificate]

        var json: JSONValue {
            [
                "format": "fieldlog-bundle", "version": .int(EventBundle.formatVersion), "partnership": .string(partnershipID), "org": .string(org),
                "device": .string(device), "replica": .string(replica.rawValue), "since": since.json, "covered": covered.json,
                "count": .int(Int64(count)), "createdAt": .int(createdAt), "certificates": .array(certificates.map(\.json)),
            ]
        }

        init(partnershipID: String, org: String, device: String, replica: ReplicaID, since: VersionVector, covered: VersionVector, count: Int,
             createdAt: Int64, certificates: [DeviceCertificate]) {
            self.partnershipID = partnershipID
            self.org = org
            self.device = device
            self.replica = replica
            self.since = since
            self.covered = covered
            self.count = count
            self.createdAt = createdAt
            self.certificates = certificates
        }

        init(json: JSONValue) throws {
            guard json["format"]?.stringValue == "fieldlog-bundle" else { throw FieldlogError.malformed("not a fieldlog bundle") }
            let version = json["version"]?.intValue ?? 0
            guard version == EventBundle.formatVersion else {
                throw version < EventBundle.formatVersion
                    ? FieldlogError(.malformed, "this bundle was written by fieldlog 0.1, before events were signed", hint: "export it again with an up-to-date fieldlog")
                    : FieldlogError(.malformed, "this bundle was written by a newer fieldlog (format \(version))", hint: "upgrade fieldlog")
            }
            guard let p = json["partnership"]?.stringValue, let org = json["org"]?.stringValue, let device = json["device"]?.stringValue,
                let replica = json["replica"]?.stringValue.flatMap(ReplicaID.init), let since = json["since"], let covered = json["covered"],
                let count = json["count"]?.intValue, let created = json["createdAt"]?.intValue, let certs = json["certificates"]?.arrayValue
            else { throw FieldlogError.malformed("the bundle header is incomplete") }
            self.init(partnershipID: p, org: org, device: device, replica: replica, since: try VersionVector(json: since),
                      covered: try VersionVector(json: covered), count: Int(count), createdAt: created,
                      certificates: try certs.map(DeviceCertificate.init(json:)))
        }
    }

    public let header: Header
    public let events: [Event]

    /// Collects what a device whose vector is `since` lacks (everything, by default), limited to
    /// what `targetOrg` may hold when given.
    public static func make(from store: Store, keyring: Keyring, since: VersionVector = VersionVector(), targetOrg: String? = nil) throws -> EventBundle {
        let covered = try store.vector()
        var events = try store.events(notCoveredBy: since)
        if let targetOrg { events = events.filter { Keyring.entitles(org: targetOrg, eventOrg: $0.org, scope: $0.scope) } }
        events += try store.authorisations(for: events)  // tombstones travel with their purges (erasure.md §4)
        let header = Header(partnershipID: keyring.partnershipID, org: keyring.org,
                            device: store.info.device, replica: store.info.replica, since: since, covered: covered,
                            count: events.count, createdAt: WallClock.nowMillis(), certificates: try store.roster().certificates)
        return EventBundle(header: header, events: events)
    }

    /// What the MAC covers: the domain, the header's canonical JSON, every event id in order.
    static func macInput(header: Header, events: [Event]) -> Data {
        var input = Data("fieldlog/bundle/v1".utf8)
        input.append(header.json.canonicalData())
        for e in events { input.append(Data(e.id.hex.utf8)) }
        return input
    }

    static func mac(header: Header, events: [Event], key: ScopeKey) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: macInput(header: header, events: events), using: key.key))
    }

    /// The bundle file's bytes (the MAC under the writer's current partnership key).
    public func encoded(keyring: Keyring) throws -> Data {
        let body: JSONValue = [
            "header": header.json, "events": .array(events.map(\.json)),
            "mac": .string(EventBundle.mac(header: header, events: events, key: keyring.partnershipKey)),
        ]
        return EventBundle.magic + (try Gzip.compress(body.canonicalData()))
    }

    /// Reads and verifies a bundle file: its format, its partnership, its MAC and every event id.
    public static func decode(_ data: Data, keyring: Keyring) throws -> EventBundle {
        if data.starts(with: Data("FIELDLOG-BUNDLE 1\n".utf8)) {
            throw FieldlogError(.malformed, "this bundle was written by fieldlog 0.1, before events were signed", hint: "export it again with an up-to-date fieldlog")
        }
        guard data.starts(with: magic) else {
            throw FieldlogError(.malformed, "this file is not a fieldlog bundle", hint: "check you picked the .bundle file that fieldlog export wrote")
        }
        let body: JSONValue
        do {
            body = try JSONValue.parse(try Gzip.decompress(data.dropFirst(magic.count), maxSize: maxExpandedSize))
        } catch {
            throw FieldlogError(.tampered, "the bundle is damaged (\(error))", hint: "copy it again from the other laptop; nothing was imported")
        }
        guard let headerJSON = body["header"], let list = body["events"]?.arrayValue, let mac = body["mac"]?.stringValue else {
            throw FieldlogError(.tampered, "the bundle is incomplete", hint: "copy it again from the other laptop; nothing was imported")
        }
        let header = try Header(json: headerJSON)
        guard header.partnershipID == keyring.partnershipID else {
            throw FieldlogError(.foreignBundle, "this bundle comes from another partnership", hint: "only bundles from your own partnership's laptops can be imported; nothing was imported")
        }
        let events: [Event]
        do { events = try list.map(Event.init(json:)) } catch {
            throw FieldlogError(.tampered, "the bundle has been altered: \(error)", hint: "nothing was imported")
        }
        // Under the writer's partnership key of its day: any epoch this laptop holds, or one the
        // bundle itself grants this laptop (trust.md §5b). A revoked laptop is granted none, so a
        // bundle written after its revocation does not open for it.
        let input = EventBundle.macInput(header: header, events: events)
        let tag = Hex.decode(mac) ?? []
        func verifies(_ k: Keyring) -> Bool {
            k.partnershipKeys.contains { HMAC<SHA256>.isValidAuthenticationCode(tag, authenticating: input, using: $0.key.key) }
        }
        var held = keyring
        var valid = events.count == header.count && verifies(held)
        var gained = events.count == header.count
        while !valid && gained {
            gained = false
            for e in events where held.isEntitled(org: e.org, scope: e.scope) {
                guard let o = held.open(e), let notice = KeyNotice(o), let key = notice.key(for: held) else { continue }
                if held.add(key) { gained = true }
            }
            valid = gained && verifies(held)
        }
        guard valid else {
            let unknownKeys = events.contains { e in
                e.scope != .public && !e.isPurged && held.isEntitled(org: e.org, scope: e.scope) && held.key(id: e.keyID) == nil
            }
            if unknownKeys {
                throw FieldlogError(.notPermitted, "this bundle is sealed under keys this laptop was not given",
                                    hint: "nothing was imported; a revoked laptop is never given new keys. Otherwise: sync first, or send a bundle the other way first (that laptop then gives this one the keys)")
            }
            throw FieldlogError(.tampered, "the bundle has been altered or was not written for this partnership", hint: "nothing was imported")
        }
        return EventBundle(header: header, events: events)
    }

    /// Where these events come from: a bundle vouches only for the events it carries (trust.md §6).
    public var batchOrigin: BatchOrigin { .carried("bundle from \(header.device) (\(header.org))") }

    /// Imports the bundle's certificates and events into `store`.
    public func importInto(_ store: Store, keyring: Keyring) throws -> ImportOutcome {
        try store.importEvents(events, certificates: header.certificates, from: batchOrigin, keyring: keyring)
    }
}
