/// Carries one sync exchange to a server and back (HTTP in the client, in-process in tests).
public protocol SyncTransport: Sendable {
    func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2
    /// The answer in two steps: everything but its events as soon as it is in, then its events
    /// (read when asked: a sync asks for the next page before it reads this one's events).
    func exchangeInSteps(_ request: SyncRequestV2) async throws -> SteppedResponse
}

/// An answer whose events are read apart from the rest (`SyncTransport.exchangeInSteps`).
public struct SteppedResponse: Sendable {
    /// The answer without its events.
    public let head: SyncResponseV2
    /// Reads the events (strictly: each id checked, as the whole answer would be read).
    public let events: @Sendable () async throws -> [Event]

    public init(head: SyncResponseV2, events: @escaping @Sendable () async throws -> [Event]) {
        self.head = head
        self.events = events
    }

    /// An answer read whole, in two steps that are already done.
    public init(whole response: SyncResponseV2) {
        var head = response
        head.events = []
        self.init(head: head) { response.events }
    }

    /// The whole answer: the head with its events read.
    public func whole() async throws -> SyncResponseV2 {
        var response = head
        response.events = try await events()
        return response
    }
}

extension SyncTransport {
    /// Both steps at once, for transports that read the whole answer anyway.
    public func exchangeInSteps(_ request: SyncRequestV2) async throws -> SteppedResponse {
        SteppedResponse(whole: try await exchange(request))
    }
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
        let chain = PageChain()
        defer { chain.stop() }
        /// Fetches an answer: a request that carries no events also asks, as soon as the answer's
        /// head is in, for the page after it (`fetch`).
        func fetch(_ request: SyncRequestV2, asked: VersionVector, index: Int) throws -> Task<Fetched, any Error> {
            self.fetch(request, asked: asked, index: index, chain: chain, checking: (roster, keyring, try store.revocations()))
        }
        var index = 1
        var inFlight = try fetch(try request(asked, push), asked: asked, index: index)
        do {
            while true {
                let fetched: Fetched
                do {
                    fetched = try await inFlight.value
                } catch let refusal as SyncRefusal where !heldBack.contains(refusal.origin) && heldBack.count < 64 {
                    // The server does not accept one origin's events (e.g. a laptop it has no
                    // root for yet): the same request again without them.
                    heldBack.insert(refusal.origin)
                    inFlight = try fetch(try request(asked, push), asked: asked, index: index)
                    continue
                }
                chain.took(index)
                let (response, prechecked) = (fetched.response, fetched.prechecked)
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
                /// What the request in flight carries of this device's events.
                var carried = [Event]()
                if let (ahead, vector) = fetched.next {
                    // Asked for already, as soon as this answer's head was in (carrying nothing).
                    (inFlight, next) = (ahead, vector)
                } else if response.more {
                    // Ask for the next page now; this page is stored while the answer travels.
                    next = asked.merged(with: response.covered)
                    inFlight = try fetch(try request(next!, pending), asked: next!, index: index + 1)
                    carried = pending
                }
                // The page, and what the server held, in one commit.
                let origin = BatchOrigin.server(since: asked, covered: response.covered, server: (response.vector, now()))
                let outcome = try store.importEvents(response.events, certificates: response.certificates ?? [], from: origin,
                                                     keyring: keyring, prechecked: prechecked)
                if response.certificates != nil { roster = try store.roster() }
                if let changed = outcome.keyring { keyring = changed }
                summary.keysGained += outcome.keysGained
                summary.received += outcome.stored
                summary.setAside += outcome.setAsideCount
                progress?(summary)
                if next == nil {
                    if pending.isEmpty && serverLacks.isEmpty { break }
                    // Nothing moved: what is left sits beyond a gap the server cannot close yet.
                    if response.stored == 0 && outcome.stored == 0 && Set(pending.map(\.id)).isSubset(of: Set(push.map(\.id))) {
                        summary.waiting = pending.count
                        break
                    }
                    next = try store.vector()
                    inFlight = try fetch(try request(next!, pending), asked: next!, index: index + 1)
                    carried = pending
                }
                asked = next!
                push = carried
                index += 1
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

    /// A page fetched, read and checked ahead of its import; `next`: the request for the page
    /// after it, sent as soon as this one's head was in, and the vector it carries.
    struct Fetched: Sendable {
        let response: SyncResponseV2
        let prechecked: Prechecked
        let next: (Task<Fetched, any Error>, VersionVector)?
    }

    /// Sends `request` (answer number `index` of this sync). Once the answer's head is in, and
    /// if `request` carries none of this device's events and the answer brings no certificates,
    /// asks for the next page at once (with the vector the device holds once this page is
    /// stored: `Protocol/sync-model.md`, "pipelining"), no earlier than the sync has taken the
    /// page before this one (`chain`): at most two pages wait while one is stored. Then reads
    /// this answer's events and checks them on `checking` (roster, keys and revocations held as
    /// the request leaves).
    private func fetch(_ request: SyncRequestV2, asked: VersionVector, index: Int, chain: PageChain,
                       checking: (Roster, Keyring, [ReplicaID: UInt64])) -> Task<Fetched, any Error> {
        let transport = transport
        let pageLimit = pageLimit
        return Task {
            let stepped = try await transport.exchangeInSteps(request)
            let response = stepped.head
            var next: (Task<Fetched, any Error>, VersionVector)?
            if response.more && request.events.isEmpty && response.certificates == nil {
                let vector = asked.merged(with: response.covered)
                let ahead = SyncRequestV2(vector: vector, events: [], limit: pageLimit, certificates: [], certDigest: request.certDigest)
                next = (Task {
                    guard await chain.waitUntilTaken(index - 1) else { throw CancellationError() }
                    return try await fetch(ahead, asked: vector, index: index + 1, chain: chain, checking: checking).value
                }, vector)
            }
            let whole = try await stepped.whole()
            let prechecked = Prechecked(whole.events, certificates: whole.certificates ?? [], roster: checking.0, keyring: checking.1,
                                        revoked: checking.2)
            return Fetched(response: whole, prechecked: prechecked, next: next)
        }
    }
}
