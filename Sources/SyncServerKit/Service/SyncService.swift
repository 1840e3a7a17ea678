import Foundation
import OutreachCore

/// The server's behaviour, apart from HTTP: authenticate, enrol, and run one sync exchange
/// (`Protocol/sync-model.md`), checking every pushed event against the envelope rules of
/// `Protocol/trust.md` §4 (it never holds a key and never opens a payload).
public struct SyncService: Sendable {
    public let storage: any SyncStorage
    /// Which of the server's partnerships this is (nil: its default one); tokens carry it.
    public let partnership: String?
    let now: @Sendable () -> Int64
    let trust: TrustCache

    public init(storage: any SyncStorage, partnership: String? = nil, now: @escaping @Sendable () -> Int64 = WallClock.nowMillis) {
        self.storage = storage
        self.partnership = partnership
        self.now = now
        trust = TrustCache(storage: storage)
    }

    /// The device a bearer token belongs to, unless unknown, revoked or expired.
    public func authenticate(bearer token: String?) async throws -> Device {
        guard let token, !token.isEmpty else { throw Self.noValidToken }
        return try valid(try await storage.device(tokenHash: Tokens.hash(token)))
    }

    /// `authenticate`, and the standing an exchange checks its push against, in one read.
    public func admit(bearer token: String?) async throws -> Admission {
        guard let token, !token.isEmpty, let admission = try await storage.admission(tokenHash: Tokens.hash(token)) else { throw Self.noValidToken }
        _ = try valid(admission.device)
        return admission
    }

    static let noValidToken = ServerError(.unauthorised, "no valid device token")

    /// `device` unless there is none or it is revoked or expired.
    func valid(_ device: Device?) throws -> Device {
        guard let device, device.revokedAt == nil else { throw Self.noValidToken }
        if let expiry = device.tokenExpiresAt, expiry <= now() {
            throw ServerError(.tokenExpired, "this laptop's token expired: it did not sync for too long")
        }
        return device
    }

    /// A new token for `device` (the laptop rotates its own, `POST /v1/token`): the one it used
    /// keeps working until the new one is first used. Returns the token and when it will expire.
    public func rotateToken(for device: Device) async throws -> (token: String, expiresAt: Int64?) {
        let token = Tokens.generate(.device, partnership: self.partnership)
        let expiresAt = device.tokenLifetime.map { now() + $0 }
        try await storage.setNextToken(deviceID: device.id, tokenHash: Tokens.hash(token), expiresAt: expiresAt)
        return (token, expiresAt)
    }

    /// Issues a single-use enrolment token for `org`, valid for `lifetime` ms.
    public func issueEnrolment(org: String, lifetime: Int64) async throws -> String {
        let token = Tokens.generate(.enrolment, partnership: self.partnership)
        try await storage.addEnrolment(tokenHash: Tokens.hash(token), org: org, expiresAt: now() + lifetime)
        return token
    }

    /// Enrols a laptop with an enrolment token and the certificates that make it a device of the
    /// token's organisation (its own and its chain); returns the device and its bearer token
    /// (shown once). The organisation's first enrolment pins its root (trust.md §3).
    public func enrol(token: String, device name: String, replica: ReplicaID, certificates: [DeviceCertificate]) async throws -> (Device, String) {
        let tokenHash = Tokens.hash(token)
        guard let org = try await storage.enrolmentOrg(tokenHash: tokenHash, at: now()) else {
            throw ServerError(.badToken, "the enrolment token is unknown, used or expired")
        }
        try await refuseWhileRestoreHolds()
        // The cached roster, with this laptop's chain admitted on top: certificates already
        // accepted are not verified again at each enrolment.
        let (known, cached) = try await trust.recordAndRoster()
        var roster = cached
        if known.partnership == nil {  // the server's first enrolment names the partnership
            guard let partnership = certificates.first(where: { $0.replica == replica })?.partnership else {
                throw ServerError(.notCertified, "the laptop sent no certificate for its replica \(replica)")
            }
            roster = known.roster(naming: partnership)
        }
        let partnership = roster.partnership
        let before = Set(roster.accepted.keys)
        roster.admit(certificates, pinning: .only(org))
        guard let cert = roster.signer(of: replica), cert.org == org else {
            throw ServerError(.notCertified, "this laptop's certificate does not chain to \(org)'s root on this server: "
                              + "invite it from a laptop of \(org) that is enrolled here")
        }
        let added = TrustRecord(partnership: partnership, pins: roster.pins, certificates: roster.accepted.values.filter { !before.contains($0.fingerprint) })
        let bearer = Tokens.generate(.device, partnership: self.partnership)
        let device = try await storage.enrol(tokenHash: tokenHash, device: name, replica: replica, deviceID: Hex.random(bytes: 6),
                                             deviceTokenHash: Tokens.hash(bearer), trust: added, at: now())
        await trust.admitted(added, pinning: .only(org))
        return (device, bearer)
    }

    /// Adds certificates and pins directly (an administrator's import, benchmarks' set-up); the
    /// cached roster is rebuilt on next use.
    public func addTrust(_ record: TrustRecord) async throws {
        try await storage.addTrust(record)
        await trust.invalidate()
    }

    /// One exchange: take the certificates, check and store what the device sent, answer with a
    /// page of what it lacks (and the server's certificates when the device's differ).
    public func sync(_ request: SyncRequestV2, from device: Device) async throws -> SyncResponseV2 {
        try await exchange(request, from: device).response
    }

    /// An exchange's answer, and every event of its page as the index named it: the answer holds
    /// only the events not `known` to the caller (the HTTP layer keeps the bytes of what it sent).
    public struct Exchange: Sendable {
        public let response: SyncResponseV2
        public let entries: [Page.Entry]
        /// The events not `known`, packed (`Event.packed`), when they were asked for so; then
        /// `response` holds none.
        public let packed: [Data]?

        public init(response: SyncResponseV2, entries: [Page.Entry], packed: [Data]? = nil) {
            (self.response, self.entries, self.packed) = (response, entries, packed)
        }
    }

    /// `sync`, reading whole only the page's events that are not `known` (as events, or
    /// straight into their packed bytes with `rows: .packed`); `accepted` is given the pushed
    /// events stored exactly as they came (new rows, not purged) once they are committed,
    /// before the page is read.
    /// `standing`: as read with the device (`admit(bearer:)`), or nil to read it here.
    public func exchange(_ request: SyncRequestV2, from device: Device, standing: Standing? = nil, rows: Page.Rows = .events,
                         accepted: @Sendable ([Event]) -> Void = { _ in },
                         known: @escaping @Sendable ([Page.Entry]) -> [Bool] = { Array(repeating: false, count: $0.count) }) async throws -> Exchange {
        var (roster, published) = try await trust.current()
        if !request.certificates.isEmpty {
            let admitted = roster.admit(request.certificates, pinning: .never)
            if !admitted.accepted.isEmpty {
                try await storage.addTrust(TrustRecord(partnership: roster.partnership, certificates: admitted.accepted))
                await trust.admitted(TrustRecord(partnership: roster.partnership, certificates: admitted.accepted), pinning: .never)
                published = TrustCache.Published(roster)
            }
        }
        let standing = if let standing { standing } else { try await storage.standing() }
        do {
            try check(request.events, from: device, roster: roster, revoked: standing.revoked)
        } catch let e as ServerError where e.kind == .unknownSigner {
            // Another instance may have accepted the certificate since this one cached its roster.
            (roster, published) = try await trust.refresh()
            try check(request.events, from: device, roster: roster, revoked: standing.revoked)
        }
        let stored: Int, had: Int
        let time = now()
        let held = standing.held
        // The last sync goes with the push, in its commit, when there is one; never for a laptop
        // a restore refuses below (a mark would let it pull on its next try).
        let mark = (device.lastSyncAt.map { time - $0 >= Self.lastSyncResolution } ?? true) && (held.isEmpty || device.lastSyncAt != nil)
        let result = try await storage.store(request.events, marking: mark ? SyncMark(deviceID: device.id, at: time) : nil)
        switch result.outcome {
        case .stored(let n, let h):
            (stored, had) = (n, h)
            // The first copy of each id is the one inserted.
            var full = Set(result.inserted.filter { !$0.purged }.map(\.id))
            if !full.isEmpty { accepted(request.events.filter { !$0.isPurged && full.remove($0.id) != nil }) }
        case .rejected(let dot): throw ServerError(.forkedDot, "event \(dot) differs from the one the server holds")
        case .refused(let dot, let rule):
            throw ServerError(rule == .foreignPurge ? .foreignPurge : .unauthorisedPurge, "event \(dot) is refused: \(rule)", event: dot)
        }
        if !held.isEmpty {
            // After a restore, a laptop that never synced here must not pull what the backup
            // holds of people erased since; a laptop of a held organisation lifts the hold once
            // the server holds everything it holds (its purges among them).
            if device.lastSyncAt == nil { try await refuseWhileRestoreHolds() }
            if held.contains(device.org), try await storage.vector().covers(request.vector) {
                try await storage.releaseRestoreHold(org: device.org)
            }
        }
        let page = try await storage.page(for: device.org, after: request.vector, limit: request.limit ?? SyncRequestV2.defaultLimit, rows: rows, known: known)
        if mark && request.events.isEmpty { try await storage.markSynced(deviceID: device.id, at: time) }  // no push carried it
        let response = SyncResponseV2(vector: page.vector, covered: page.covered, events: page.events, more: page.more, stored: stored, alreadyHad: had,
                                      certificates: request.certDigest == published.digest ? nil : published.certificates, certDigest: published.digest)
        return Exchange(response: response, entries: page.entries, packed: rows == .packed ? page.packed : nil)
    }

    /// A device's last sync is written when it is this much older than now (ms), not at every
    /// exchange: a laptop's first sync pages through many requests, and each write is a disk
    /// flush (issue 12: no per-request write a crowd of laptops would queue behind).
    public static let lastSyncResolution: Int64 = 60_000

    /// Refuses while a restore holds any organisation (erasure.md §5).
    func refuseWhileRestoreHolds() async throws {
        let held = try await storage.restoreHold().sorted()
        guard !held.isEmpty else { return }
        throw ServerError(.restored, "this server was restored from a backup: a laptop of \(held.joined(separator: " and ")) must sync "
                          + "before a new laptop can join or receive (or an administrator runs SyncServer admin release)")
    }

    /// The envelope rules (trust.md §4, E3-E7; one signature per run of an origin's chained
    /// events): the first event that breaks one refuses the whole request, naming the rule and the event.
    func check(_ events: [Event], from device: Device, roster: Roster, revoked: [ReplicaID: UInt64]) throws {
        guard !events.isEmpty else { return }
        if let late = events.first(where: { Authority.isRevoked($0.dot, cuts: revoked) }) {
            throw ServerError(.revoked, "event \(late.dot) is refused: \(Authority.Rule.revoked)", event: late.dot)
        }
        let verdicts = Authority.checkEnvelopes(events, roster: roster)
        for (event, verdict) in zip(events, verdicts) {
            if event.scope == .org && event.org != device.org {
                throw ServerError(.notEntitled, "event \(event.dot) belongs to \(event.org) only")
            }
            // The one payload a server reads: a purge, in clear (erasure.md §2).
            if event.scope == .public, EventTable.Purge(event) == nil {
                throw ServerError(.badPurge, "event \(event.dot) is refused: a public event must be a well-formed events.purged", event: event.dot)
            }
            guard let rule = verdict else { continue }
            let kind: ServerError.Kind = switch rule {
            case .badScope: .badScope
            case .unknownSigner: .unknownSigner
            case .wrongOrg: .wrongOrg
            default: .badSignature
            }
            throw ServerError(kind, "event \(event.dot) is refused: \(rule)", event: event.dot)
        }
    }
}
