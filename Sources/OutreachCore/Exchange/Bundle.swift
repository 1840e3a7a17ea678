import Crypto
import Foundation

/// An offline bundle: the events another device lacks, for a USB stick (`Protocol/bundle.md`).
///
/// `FIELDLOG-BUNDLE 1\n` followed by a gzip stream of one canonical JSON object with a header,
/// the events in their wire form (payloads still sealed), and an HMAC-SHA256 under the
/// partnership key over the header and every event id. Since ids hash their events' contents,
/// the MAC covers everything: one changed byte and the bundle is refused.
public struct Bundle: Sendable {
    public static let magic = Data("FIELDLOG-BUNDLE 1\n".utf8)
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

        var json: JSONValue {
            [
                "format": "fieldlog-bundle", "version": 1, "partnership": .string(partnershipID), "org": .string(org),
                "device": .string(device), "replica": .string(replica.rawValue), "since": since.json, "covered": covered.json,
                "count": .int(Int64(count)), "createdAt": .int(createdAt),
            ]
        }

        init(partnershipID: String, org: String, device: String, replica: ReplicaID, since: VersionVector, covered: VersionVector, count: Int, createdAt: Int64) {
            self.partnershipID = partnershipID
            self.org = org
            self.device = device
            self.replica = replica
            self.since = since
            self.covered = covered
            self.count = count
            self.createdAt = createdAt
        }

        init(json: JSONValue) throws {
            guard json["format"]?.stringValue == "fieldlog-bundle" else { throw FieldlogError.malformed("not a fieldlog bundle") }
            guard json["version"]?.intValue == 1 else {
                throw FieldlogError(.malformed, "this bundle was written by a newer fieldlog (format \(json["version"]?.intValue ?? 0))", hint: "upgrade fieldlog")
            }
            guard let p = json["partnership"]?.stringValue, let org = json["org"]?.stringValue, let device = json["device"]?.stringValue,
                let replica = json["replica"]?.stringValue.flatMap(ReplicaID.init), let since = json["since"], let covered = json["covered"],
                let count = json["count"]?.intValue, let created = json["createdAt"]?.intValue
            else { throw FieldlogError.malformed("the bundle header is incomplete") }
            self.init(partnershipID: p, org: org, device: device, replica: replica, since: try VersionVector(json: since),
                      covered: try VersionVector(json: covered), count: Int(count), createdAt: created)
        }
    }

    public let header: Header
    public let events: [Event]

    /// Collects what a device whose vector is `since` lacks (everything, by default), limited to
    /// what `targetOrg` may hold when given.
    public static func make(from store: Store, keyring: Keyring, since: VersionVector = VersionVector(), targetOrg: String? = nil) throws -> Bundle {
        let covered = try store.vector()
        var events = try store.events(notCoveredBy: since)
        if let targetOrg { events = events.filter { $0.org == targetOrg || $0.scope == .partnership } }
        let header = Header(partnershipID: keyring.partnershipID, org: keyring.org,
                            device: store.info.device, replica: store.info.replica, since: since, covered: covered,
                            count: events.count, createdAt: Clock.nowMillis())
        return Bundle(header: header, events: events)
    }

    static func mac(header: Header, events: [Event], key: ScopeKey) -> String {
        var hmac = HMAC<SHA256>(key: key.key)
        hmac.update(data: Data("fieldlog/bundle/v1".utf8))
        hmac.update(data: header.json.canonicalData())
        for e in events { hmac.update(data: Data(e.id.hex.utf8)) }
        return Hex.encode(hmac.finalize())
    }

    /// The bundle file's bytes.
    public func encoded(keyring: Keyring) throws -> Data {
        let body: JSONValue = [
            "header": header.json, "events": .array(events.map(\.json)),
            "mac": .string(Bundle.mac(header: header, events: events, key: keyring.partnershipKey)),
        ]
        return Bundle.magic + (try Gzip.compress(body.canonicalData()))
    }

    /// Reads and verifies a bundle file: its format, its partnership, its MAC and every event id.
    public static func decode(_ data: Data, keyring: Keyring) throws -> Bundle {
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
        guard events.count == header.count,
            Bundle.mac(header: header, events: events, key: keyring.partnershipKey) == mac
        else {
            throw FieldlogError(.tampered, "the bundle has been altered or was not written for this partnership", hint: "nothing was imported")
        }
        return Bundle(header: header, events: events)
    }

    /// Where these events come from, for the import's vector rules.
    public var batchOrigin: BatchOrigin { BatchOrigin(org: header.org, since: header.since, covered: header.covered) }
}
