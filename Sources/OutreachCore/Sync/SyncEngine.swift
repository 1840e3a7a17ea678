/// Carries one sync exchange to a server and back (HTTP in the client, in-process in tests).
public protocol SyncTransport: Sendable {
    func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2
}

/// What a sync did.
public struct SyncSummary: Sendable, Equatable {
    /// Events the server stored from this device.
    public var sent = 0
    /// Events this device stored from the server.
    public var received = 0
    public var roundTrips = 0
    /// This device's events the server still lacks because earlier ones are missing everywhere
    /// it looked (they wait for the device that wrote them).
    public var waiting = 0
    /// Events received that broke a rule of `Protocol/trust.md` and were set aside.
    public var setAside = 0
    /// This device's events of origins the server refused (it does not accept their signer):
    /// kept, and offered again at the next sync.
    public var heldBack = 0
    /// Keys granted to this device by what it received (`Protocol/trust.md` §5b).
    public var keysGained = 0
    public init() {}

    /// Two rounds added up (a sync, then the one that carries the keys it rotated or granted).
    mutating func add(_ other: SyncSummary) {
        sent += other.sent; received += other.received; roundTrips += other.roundTrips; setAside += other.setAside
        keysGained += other.keysGained; waiting = other.waiting; heldBack = other.heldBack
    }
}

/// The device side of the anti-entropy exchange (`Protocol/sync-model.md`): send what the
/// server lacks, store what it sends, repeat until neither side has anything new.
///
/// Every page is committed before the next one is stored, and every request carries a vector
/// the device holds (or is about to hold, below), so a sync cut off at any point is finished
/// by the next one.
///
/// While a page is being checked and stored, the request for the next page is already on its
/// way: it carries the device's vector merged with the page's covered vector, which is exactly
/// what the device will hold once the page is stored (`Protocol/sync-model.md`, "pipelining").
/// If storing the page fails, the answer to that request is thrown away unread.
public struct SyncEngine: Sendable {
    public let store: Store
    public let keyring: Keyring
    public let transport: any SyncTransport
    public var pushLimit = 2000
    /// Events per page asked of the server (the protocol's largest by default: fewer round trips).
    public var pageLimit: Int? = SyncRequestV2.maxEvents

    public init(store: Store, keyring: Keyring, transport: any SyncTransport) {
        self.store = store
        self.keyring = keyring
        self.transport = transport
    }

    public func run(now: @Sendable () -> Int64 = WallClock.nowMillis, progress: (@Sendable (SyncSummary) -> Void)? = nil) async throws -> SyncSummary {
        try await store.holdingCheckpoints { try await exchange(now: now, progress: progress) }
    }

    private func exchange(now: @Sendable () -> Int64, progress: (@Sendable (SyncSummary) -> Void)?) async throws -> SyncSummary {
        var summary = SyncSummary()
        var keyring = keyring  // a page may grant keys that open the next pages
        var roster = try store.roster()
        /// Certificates the server showed it lacks, sent once with the next request.
        var serverLacks = [DeviceCertificate]()
        /// Offered once per sync: a certificate the server refuses is not offered again and again.
        var offered = Set<KeyFingerprint>()
        /// Origins whose events the server refused (trust.md §5: nothing blocks a sync).
        var heldBack = Set<ReplicaID>()
        /// A request: the events, the chains of their signers (so the server can check them) and
        /// whatever certificates the server lacked.
        func request(_ vector: VersionVector, _ offered: [Event]) throws -> SyncRequestV2 {
            var events = offered.filter { !heldBack.contains($0.dot.replica) }
            // Within half the server's value bound (the rest for purges and certificates): events
            // with long contexts go over several requests.
            var budget = SyncRequestV2.maxValues / 2
            events = Array(events.prefix { event in
                budget -= 13 + event.context.entries.count
                return budget >= 0
            })
            // A tombstone travels with the purge that names it (Protocol/erasure.md §4).
            events += try store.authorisations(for: events)
            var certs = serverLacks
            for origin in Set(events.map(\.dot.replica)) { certs += roster.chain(of: origin) }
            serverLacks = []
            return SyncRequestV2(vector: vector, events: events, limit: pageLimit, certificates: Array(Set(certs)), certDigest: roster.digest)
        }
        // What the server held last time: push at once what it lacked then (it may hold more now).
        var push = try store.events(notCoveredBy: try store.lastSync()?.vector ?? VersionVector(), limit: pushLimit)
        var asked = try store.vector()
        var inFlight = send(try request(asked, push), roster: roster, keyring: keyring, revoked: try store.revocations())
        do {
            while true {
                let response: SyncResponseV2, prechecked: Prechecked
                do {
                    (response, prechecked) = try await inFlight.value
                } catch let refusal as SyncRefusal where !heldBack.contains(refusal.origin) && heldBack.count < 64 {
                    // The server does not accept one origin's events (e.g. a laptop it has no
                    // root for yet): the same request again without them.
                    heldBack.insert(refusal.origin)
                    inFlight = send(try request(asked, push), roster: roster, keyring: keyring, revoked: try store.revocations())
                    continue
                }
                summary.roundTrips += 1
                summary.sent += response.stored
                let pending = try store.events(notCoveredBy: response.vector, limit: pushLimit).filter { !heldBack.contains($0.dot.replica) }
                if let theirs = response.certificates {
                    // The server's roster differs from ours: take what it has (checked like any
                    // certificate), and send it what it lacks.
                    var merged = roster  // current: reloaded after every page that brought certificates
                    merged.admit(theirs, pinning: .firstSight)
                    let known = Set(theirs.map(\.fingerprint))
                    serverLacks = merged.certificates.filter { !known.contains($0.fingerprint) && !offered.contains($0.fingerprint) }
                    offered.formUnion(serverLacks.map(\.fingerprint))
                }
                var next: VersionVector?
                if response.more {
                    // Ask for the next page now; this page is stored while the answer travels.
                    next = asked.merged(with: response.covered)
                    inFlight = send(try request(next!, pending), roster: roster, keyring: keyring, revoked: try store.revocations())
                }
                let outcome = try store.importEvents(response.events, certificates: response.certificates ?? [],
                                                     from: .server(since: asked, covered: response.covered), keyring: keyring,
                                                     prechecked: prechecked)
                if response.certificates != nil { roster = try store.roster() }
                if let changed = outcome.keyring { keyring = changed }
                summary.keysGained += outcome.keysGained
                summary.received += outcome.stored
                summary.setAside += outcome.setAsideCount
                try store.rememberSync(serverVector: response.vector, at: now())
                progress?(summary)
                if next == nil {
                    if pending.isEmpty && serverLacks.isEmpty { break }
                    // Nothing moved: what is left sits beyond a gap the server cannot close yet.
                    if response.stored == 0 && outcome.stored == 0 && Set(pending.map(\.id)).isSubset(of: Set(push.map(\.id))) {
                        summary.waiting = pending.count
                        break
                    }
                    next = try store.vector()
                    inFlight = send(try request(next!, pending), roster: roster, keyring: keyring, revoked: try store.revocations())
                }
                asked = next!
                push = pending
            }
        } catch let refusal as SyncRefusal {
            inFlight.cancel()
            throw FieldlogError(.io, "the sync server refused: \(refusal.message)", hint: "nothing was lost; fieldlog check lists what this laptop holds")
        } catch {
            inFlight.cancel()
            throw error
        }
        if !heldBack.isEmpty, let server = try store.lastSync()?.vector {
            summary.heldBack = try store.events(notCoveredBy: server).filter { heldBack.contains($0.dot.replica) }.count
        }
        return summary
    }

    /// Sends `request`; once the answer is in, checks its events on `roster`, `keyring` and
    /// `revoked` (what the device holds as the request leaves), while the page before it is
    /// still being stored.
    private func send(_ request: SyncRequestV2, roster: Roster, keyring: Keyring, revoked: [ReplicaID: UInt64]) -> Task<(SyncResponseV2, Prechecked), any Error> {
        let transport = transport
        return Task {
            let response = try await transport.exchange(request)
            return (response, Prechecked(response.events, certificates: response.certificates ?? [], roster: roster, keyring: keyring, revoked: revoked))
        }
    }
}
