import Foundation
import OutreachCore

/// An enrolled laptop, as the server knows it: never its keys, only a hash of its token.
public struct Device: Sendable, Equatable {
    public let id: String
    public let org: String
    public let name: String
    public let replica: ReplicaID
    public let enrolledAt: Int64
    public var lastSyncAt: Int64?
    public var revokedAt: Int64?
    /// Once revoked: the last of its events the server accepted; later ones are refused.
    public var revokedAfter: UInt64?
    /// When its token stops working (nil: never). Each rotation moves it on by `tokenLifetime`.
    public var tokenExpiresAt: Int64?
    /// How long a token of this device lives, if an administrator set a limit.
    public var tokenLifetime: Int64?

    public init(id: String, org: String, name: String, replica: ReplicaID, enrolledAt: Int64, lastSyncAt: Int64? = nil, revokedAt: Int64? = nil,
                revokedAfter: UInt64? = nil, tokenExpiresAt: Int64? = nil, tokenLifetime: Int64? = nil) {
        (self.id, self.org, self.name, self.replica, self.enrolledAt) = (id, org, name, replica, enrolledAt)
        (self.lastSyncAt, self.revokedAt, self.revokedAfter, self.tokenExpiresAt, self.tokenLifetime) = (lastSyncAt, revokedAt, revokedAfter, tokenExpiresAt, tokenLifetime)
    }
}

/// What storing a push did.
public enum PushOutcome: Sendable, Equatable {
    case stored(new: Int, alreadyHad: Int)
    /// A dot already held with a different id: a forged or forked replica. Nothing was stored.
    case rejected(Dot)
    /// A purge that names another organisation's event, or an event that arrived purged with no
    /// purge of its own organisation naming it (`Protocol/erasure.md` §3). Nothing was stored.
    case refused(Dot, Authority.Rule)
}

/// What storing a push did, and the rows it inserted, each as stored (an event named by a purge
/// is stored purged): the server keeps the bytes of what it accepted for the laptops it will
/// send them to (issue 12).
public struct Stored: Sendable, Equatable {
    public let outcome: PushOutcome
    public let inserted: [Page.Entry]
    public init(_ outcome: PushOutcome, inserted: [Page.Entry] = []) { (self.outcome, self.inserted) = (outcome, inserted) }
}

/// A page of events for one device (`Protocol/sync-model.md`).
public struct Page: Sendable, Equatable {
    /// One event of a page, as the storage's index knows it. Within one storage an id names
    /// one row for ever (append-only, never replaced), so an id and whether it is purged
    /// decide the bytes it is sent as: a server that kept them need not read the row again.
    public struct Entry: Hashable, Sendable {
        public let id: EventID
        public let dot: Dot
        public let purged: Bool
        public init(id: EventID, dot: Dot, purged: Bool) { (self.id, self.dot, self.purged) = (id, dot, purged) }
        public init(_ event: Event) { self.init(id: event.id, dot: event.dot, purged: event.isPurged) }

        /// An entry from a stored row's columns, each checked (every backend reads its index here).
        public init(id: String, origin: ReplicaID, seq: Int64, purged: Bool) throws {
            guard let id = EventID(hex: id), seq >= 1 else { throw FieldlogError(.corrupt, "an event row has a bad id or seq") }
            self.init(id: id, dot: Dot(origin, UInt64(seq)), purged: purged)
        }

        public init(id: String, origin: String, seq: Int64, purged: Bool) throws {
            guard let origin = ReplicaID(origin) else { throw FieldlogError(.corrupt, "an event row has a bad origin") }
            try self.init(id: id, origin: origin, seq: seq, purged: purged)
        }
    }

    /// Which of `entries` the caller lacks, by its `known` (one answer per entry, in order).
    public static func lacking(_ entries: [Entry], known: ([Entry]) -> [Bool]) throws -> [Bool] {
        let kept = known(entries)
        guard kept.count == entries.count else { throw FieldlogError(.corrupt, "a page's caller answered for another page") }
        return kept.map { !$0 }
    }

    /// A page of at most `limit` entries from `rows`, the entitled events of the `wanted` origins
    /// (in order, each up to its top) with one more where the page is cut, and its covered
    /// vector C (sync-model.md): origins before the first event left out up to their top, its
    /// own up to the seq before it. Every backend's page is cut here.
    public static func cut(_ rows: [Entry], wanted: [(key: ReplicaID, value: UInt64)], limit: Int) -> (entries: [Entry], covered: VersionVector, more: Bool) {
        var covered = VersionVector()
        guard rows.count > limit else {
            for (origin, top) in wanted { covered[origin] = top }
            return (rows, covered, false)
        }
        let cut = rows[limit].dot
        for (origin, top) in wanted {
            if origin == cut.replica { covered[origin] = cut.seq - 1; break }
            covered[origin] = top
        }
        return (Array(rows.prefix(limit)), covered, true)
    }

    /// The server vector S.
    public let vector: VersionVector
    /// The covered vector C.
    public let covered: VersionVector
    /// Every event of the page, in the order it is sent.
    public let entries: [Entry]
    /// The page's events the caller did not already know (`known`), in the order of `entries`:
    /// all of them unless the caller keeps some. Empty when they were asked for `.packed`.
    public let events: [Event]
    /// The same events each as `Event.packed`'s bytes, when they were asked for `.packed`
    /// (read from their rows with no `Event` built: a new laptop's pages); else empty.
    public let packed: [Data]
    public let more: Bool

    /// How a page's events are read: whole (`events`), or as the packed bytes a laptop reading
    /// packed pages is sent (`packed`).
    public enum Rows: Sendable { case events, packed }

    public init(vector: VersionVector, covered: VersionVector, entries: [Entry], events: [Event], packed: [Data] = [], more: Bool) {
        (self.vector, self.covered, self.entries, self.events, self.packed, self.more) = (vector, covered, entries, events, packed, more)
    }

    public init(vector: VersionVector, covered: VersionVector, events: [Event], more: Bool) {
        self.init(vector: vector, covered: covered, entries: events.map(Entry.init), events: events, more: more)
    }
}

/// The server's storage: one interface, so SQLite and PostgreSQL can both stand behind it, and
/// one test suite (`SyncStorageSuite`) that every backend must pass.
public protocol SyncStorage: Sendable {
    /// `sqlite` or `postgresql`, as `/v1/health` names it.
    var backend: String { get }
    /// Throws unless the database answers within `timeout` (`/v1/health`).
    func ping(within timeout: Duration) async throws

    // Organisations and devices
    func addOrganisation(_ name: String, at time: Int64) async throws
    func organisations() async throws -> [String]
    /// Records an enrolment token's hash, single-use, until `expiresAt`.
    func addEnrolment(tokenHash: String, org: String, expiresAt: Int64) async throws
    /// The organisation an enrolment token is for, if it is known, unused and unexpired at `time`.
    func enrolmentOrg(tokenHash: String, at time: Int64) async throws -> String?
    /// Uses an enrolment token (once) to enrol a device, storing its token's hash and, in the
    /// same transaction, the trust it brings (certificates and pins the service accepted).
    func enrol(tokenHash: String, device: String, replica: ReplicaID, deviceID: String, deviceTokenHash: String, trust: TrustRecord,
               at time: Int64) async throws -> Device
    /// The device whose token (or pending next token, which then becomes its token) this is.
    func device(tokenHash: String) async throws -> Device?
    /// `device(tokenHash:)` and `standing()` in one read (one statement on PostgreSQL): what a
    /// sync reads before it looks at the push (issue 12's crowd: one read an exchange, not two).
    func admission(tokenHash: String) async throws -> Admission?
    func devices() async throws -> [Device]
    /// Revokes a device: its token stops, and its events after what the server holds of it now
    /// are refused from anyone (trust.md §5a).
    func revoke(deviceID: String, at time: Int64) async throws -> Bool
    func markSynced(deviceID: String, at time: Int64) async throws
    /// Sets the device's next token (its hash) and when that one will expire: the current token
    /// keeps working until the new one is first used (`device(tokenHash:)` then makes it the
    /// token), so a laptop that loses the answer is not locked out. Replaces any pending one.
    func setNextToken(deviceID: String, tokenHash: String, expiresAt: Int64?) async throws
    /// Sets how long the device's tokens live (nil: no limit), and its current token's expiry
    /// from `time` (`SyncServer admin expire`).
    func setTokenLifetime(deviceID: String, lifetime: Int64?, at time: Int64) async throws

    // Trust (`Protocol/trust.md` §3)
    /// The partnership, pinned roots and accepted certificates, as stored.
    func trust() async throws -> TrustRecord
    /// Keeps certificates (and pins) the service accepted; pins and the partnership never change.
    func addTrust(_ record: TrustRecord) async throws

    // Events
    /// Stores a push in one transaction, idempotently, and says which rows it inserted, as
    /// stored; refuses all of it on a forked dot. Runs the purges the batch carries (and stores
    /// purged what an honoured purge names): the one exception to append-only
    /// (`Protocol/erasure.md`). With `marking`, the device's last sync is written in the same
    /// transaction (one commit, not two); a refused push writes nothing.
    func store(_ events: [Event], marking: SyncMark?) async throws -> Stored
    /// The server vector S.
    func vector() async throws -> VersionVector
    /// Up to `limit` events `org`'s devices are entitled to and `after` does not cover.
    /// The page read from the index alone, and the rows of only the entries not `known` read
    /// whole, all in one read transaction: a server that keeps the bytes of what it sent reads
    /// only what it lacks (issue 12). `known` is called once with every entry, in page order,
    /// and says for each whether the caller keeps it (`Page.lacking`). `rows` says whether
    /// they are read as events or straight into their packed bytes.
    func page(for org: String, after: VersionVector, limit: Int, rows: Page.Rows, known: @escaping @Sendable ([Page.Entry]) -> [Bool]) async throws -> Page
    func eventCount() async throws -> Int

    /// Holds every organisation with a laptop until one of its laptops has synced (erasure.md §5):
    /// what was erased since a backup is purged again before any new laptop can join or pull.
    func holdAfterRestore(at time: Int64) async throws
    /// The revoked replicas and the organisations a restore holds, in one read: what every
    /// exchange checks before it stores a push (one read a request, not two; issue 12's crowd).
    func standing() async throws -> Standing
    /// Lifts the hold on `org` (or every organisation when nil).
    func releaseRestoreHold(org: String?) async throws
    /// Stops serving the stored events whose id starts with `idPrefix` (kept, never served
    /// again); returns their ids. Refuses a prefix that matches more than one event.
    func quarantine(idPrefix: String, at time: Int64) async throws -> [String]
}

/// What an exchange checks before it stores a push (`SyncStorage.standing()`).
public struct Standing: Sendable, Equatable {
    /// Revoked devices' replicas and the last seq of theirs the server accepted.
    public var revoked: [ReplicaID: UInt64]
    /// The organisations a restore holds.
    public var held: Set<String>
    public init(revoked: [ReplicaID: UInt64], held: Set<String>) { (self.revoked, self.held) = (revoked, held) }
}

/// A device, and the standing of the partnership its exchange is checked against.
public struct Admission: Sendable, Equatable {
    public let device: Device
    public let standing: Standing
    public init(device: Device, standing: Standing) { (self.device, self.standing) = (device, standing) }
}

/// A device's last sync, to be written with a push (`SyncStorage.store(_:marking:)`).
public struct SyncMark: Sendable, Equatable {
    public let deviceID: String
    public let at: Int64
    public init(deviceID: String, at: Int64) { (self.deviceID, self.at) = (deviceID, at) }
}

extension SyncStorage {
    /// Revoked devices' replicas and the last seq of theirs the server accepted.
    public func revokedReplicas() async throws -> [ReplicaID: UInt64] { try await standing().revoked }
    /// The organisations a restore holds (erasure.md §5): none normally.
    public func restoreHold() async throws -> Set<String> { try await standing().held }
    /// `admission(tokenHash:)` when no device holds the token as its current one: the pending
    /// next token's first use (`device(tokenHash:)` makes it the token), then the standing.
    public func admissionByNextToken(tokenHash: String) async throws -> Admission? {
        guard let device = try await device(tokenHash: tokenHash) else { return nil }
        return Admission(device: device, standing: try await standing())
    }
    /// Stores a push (all or nothing), marking no device.
    public func store(_ events: [Event]) async throws -> Stored { try await store(events, marking: nil) }

    /// Stores a push (all or nothing).
    public func push(_ events: [Event]) async throws -> PushOutcome { try await store(events).outcome }

    /// The page with every event read whole.
    public func page(for org: String, after: VersionVector, limit: Int, rows: Page.Rows = .events) async throws -> Page {
        try await page(for: org, after: after, limit: limit, rows: rows, known: { Array(repeating: false, count: $0.count) })
    }

    /// The page with the events not `known` read whole.
    public func page(for org: String, after: VersionVector, limit: Int, known: @escaping @Sendable ([Page.Entry]) -> [Bool]) async throws -> Page {
        try await page(for: org, after: after, limit: limit, rows: .events, known: known)
    }
}

/// What a server knows about who may sign: its partnership, one pinned root per organisation,
/// and the certificates it accepted (trust.md §3).
public struct TrustRecord: Sendable, Equatable {
    public var partnership: String?
    public var pins: [String: KeyFingerprint]
    public var certificates: [DeviceCertificate]

    public init(partnership: String? = nil, pins: [String: KeyFingerprint] = [:], certificates: [DeviceCertificate] = []) {
        self.partnership = partnership
        self.pins = pins
        self.certificates = certificates
    }

    public static let empty = TrustRecord()
}

/// Why the server refused something; `SyncService` and the HTTP layer map these to statuses.
public struct ServerError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case unauthorised, badToken = "bad-token", notEntitled = "not-entitled", forkedDot = "forked-dot"
        case replicaTaken = "replica-taken", unknownOrganisation = "unknown-organisation", exists
        case badScope = "bad-scope", unknownSigner = "unknown-signer", wrongOrg = "wrong-org", badSignature = "bad-signature"
        case notCertified = "not-certified", ambiguous, notFound = "not-found", revoked
        case badPurge = "bad-purge", foreignPurge = "foreign-purge", unauthorisedPurge = "unauthorised-purge"
        /// Restored from a backup: no new laptop joins or pulls until each organisation's laptops
        /// have brought back what the backup lacks, purges first (erasure.md §5).
        case restored
        /// The device token's lifetime passed (`SyncServer admin expire`): the laptop did not sync
        /// (and so rotate its token) in time.
        case tokenExpired = "token-expired"
    }
    public let kind: Kind
    public let message: String
    /// The event a refusal is about, when it is about one (the client then holds back its origin).
    public let event: Dot?
    public init(_ kind: Kind, _ message: String, event: Dot? = nil) {
        self.kind = kind
        self.message = message
        self.event = event
    }
    public var description: String { message }
}
