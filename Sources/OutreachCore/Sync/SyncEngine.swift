/// Carries one sync exchange to a server and back (HTTP in the client, in-process in tests).
public protocol SyncTransport: Sendable {
    func exchange(_ request: SyncRequestV1) async throws -> SyncResponseV1
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
    public init() {}
}

/// The device side of the anti-entropy exchange (`Protocol/sync-model.md`): send what the
/// server lacks, store what it sends, repeat until neither side has anything new.
///
/// Every page is committed before the next request, and every request carries the whole
/// vector, so a sync cut off at any point is finished by the next one.
public struct SyncEngine: Sendable {
    public let store: Store
    public let keyring: Keyring
    public let transport: any SyncTransport
    public var pushLimit = 2000
    public var pageLimit: Int?

    public init(store: Store, keyring: Keyring, transport: any SyncTransport) {
        self.store = store
        self.keyring = keyring
        self.transport = transport
    }

    public func run(now: @Sendable () -> Int64 = Clock.nowMillis, progress: (@Sendable (SyncSummary) -> Void)? = nil) async throws -> SyncSummary {
        var summary = SyncSummary()
        // What the server held last time: push at once what it lacked then (it may hold more now).
        var known = try store.lastSync()?.vector ?? VersionVector()
        var push = try store.events(notCoveredBy: known, limit: pushLimit)
        while true {
            let mine = try store.vector()
            let response = try await transport.exchange(SyncRequestV1(vector: mine, events: push, limit: pageLimit))
            summary.roundTrips += 1
            summary.sent += response.stored
            let outcome = try store.importEvents(response.events, from: .server(since: mine, covered: response.covered), keyring: keyring)
            summary.received += outcome.stored
            known = response.vector
            try store.rememberSync(serverVector: known, at: now())
            progress?(summary)
            let pending = try store.events(notCoveredBy: known, limit: pushLimit)
            if !response.more {
                if pending.isEmpty { break }
                // Nothing moved: what is left sits beyond a gap the server cannot close yet.
                if response.stored == 0 && outcome.stored == 0 && Set(pending.map(\.id)).isSubset(of: Set(push.map(\.id))) {
                    summary.waiting = pending.count
                    break
                }
            }
            push = pending
        }
        return summary
    }
}
