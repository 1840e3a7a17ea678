// Sync benchmarks: a real server (Hummingbird, SQLite) on 127.0.0.1, real HTTP, gzip.
import AsyncHTTPClient
import Foundation
import OutreachCore
import SyncClient
import SyncServerKit

/// Counts what crosses the wire for one transport (bodies as sent: gzipped requests,
/// responses as the server sent them).
final class CountingTransport: SyncTransport, @unchecked Sendable {
    let inner: HTTPTransport
    private let lock = NSLock()
    private(set) var requestBytes = 0
    private(set) var responseBytes = 0
    private(set) var exchanges = 0

    init(_ inner: HTTPTransport) { self.inner = inner }

    func exchange(_ request: SyncRequestV1) async throws -> SyncResponseV1 {
        let sent = try Gzip.compress(request.json.canonicalData()).count
        let response = try await inner.exchange(request)
        let body = response.json.canonicalData()
        // The server gzips only bodies over 512 bytes.
        let received = body.count > 512 ? try Gzip.compress(body).count : body.count
        lock.withLock {
            requestBytes += sent
            responseBytes += received
            exchanges += 1
        }
        return response
    }
}

struct SyncBench {
    let root: URL
    let keyring: Keyring
    let passphrase: String

    /// A server with both organisations, in its own directory.
    func server(_ name: String) async throws -> EmbeddedServer {
        let service = SyncService(storage: try SQLiteSyncStorage(directory: root.appendingPathComponent(name)))
        try await service.storage.addOrganisation("basis", at: 0)
        try await service.storage.addOrganisation("joanna", at: 0)
        return try await EmbeddedServer.start(service: service)
    }

    /// Enrols `store` and returns an engine that syncs it over HTTP.
    func enrolled(_ store: Store, on server: EmbeddedServer, client: HTTPClient = HTTPTransport.client) async throws -> (SyncEngine, CountingTransport) {
        let token = try await server.service.issueEnrolment(org: store.info.org, lifetime: 3_600_000)
        let (_, bearer) = try await server.service.enrol(token: token, device: store.info.device, replica: store.info.replica)
        let transport = CountingTransport(HTTPTransport(server: server.url, token: bearer, client: client))
        return (SyncEngine(store: store, keyring: keyring, transport: transport), transport)
    }

    func newStore(_ name: String) throws -> Store {
        try Store.create(at: root.appendingPathComponent(name), org: "basis", device: name, keyring: keyring, passphrase: passphrase).0
    }

    /// Puts a laptop's whole log on the server directly (set-up, not measured).
    func fill(_ server: EmbeddedServer, from store: Store) async throws {
        let events = try store.allEvents()
        for start in stride(from: 0, to: events.count, by: 5000) {
            _ = try await server.service.storage.push(Array(events[start..<min(events.count, start + 5000)]))
        }
    }

    func evening(_ log: FieldLog, people: [String], count: Int, at: Int64) throws {
        let drafts = (0..<count).map { n in
            Draft(.partnership, Payload(type: .contactLogged, occurredAt: at + Int64(n), author: "van", fields: [
                "person": .string(people[n % people.count]), "setting": "van", "zone": "Z4", "services": ["condoms": 10], "needs": ["housing"],
            ]))
        }
        try log.store.append(drafts, keyring: keyring)
    }

    func run(quick: Bool, makeStore: (String, Int) throws -> (FieldLog, [String], masterKey: Data)) async throws {
        // 1. A new laptop's first sync of 100k events, then a sync with nothing new.
        let (source, _, _) = try makeStore("sync-source", 100_000)
        let big = try await server("server-100k")
        try await fill(big, from: source.store)
        let fresh = try newStore("sync-new-laptop")
        let (engine, counter) = try await enrolled(fresh, on: big)
        var summary = SyncSummary()
        let first = try await seconds { summary = try await engine.run() }
        report("first sync, new laptop, 100k events", String(format: "%6.2f s (%d round trips, %.1f MB in)", first, summary.roundTrips, Double(counter.responseBytes) / 1e6))
        let before = (counter.requestBytes, counter.responseBytes, counter.exchanges)
        let quiet = try await seconds { summary = try await engine.run() }
        report("sync with nothing new (100k held)", String(format: "%6.1f ms, %d round trip, %d B out, %d B in", quiet * 1000, counter.exchanges - before.2,
                                                           counter.requestBytes - before.0, counter.responseBytes - before.1))
        await big.stop()

        // 2. An evening's 200 events against servers of growing size.
        for size in quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000] {
            let (log, people, _) = try makeStore("evening-\(size)", size)
            let server = try await server("server-evening-\(size)")
            try await fill(server, from: log.store)
            let (engine, _) = try await enrolled(log.store, on: server)
            _ = try await engine.run()  // up to date before the evening
            try evening(log, people: people, count: 200, at: 1_770_000_000_000)
            let t = try await seconds { summary = try await engine.run() }
            report("evening sync, 200 events, server holds \(size / 1000)k", String(format: "%6.1f ms (%d round trips, sent %d)", t * 1000, summary.roundTrips, summary.sent))
            await server.stop()
        }

        // 3. Many laptops at once: each pushes 20 events and receives everyone else's.
        let laptops = quick ? 50 : 200
        let crowd = try await server("server-crowd")
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: laptops),
                                                     decompression: .disabled))
        var engines = [SyncEngine]()
        for n in 0..<laptops {
            progress("crowd: laptop \(n + 1)/\(laptops)")
            let store = try newStore("crowd-\(n)")
            let log = FieldLog(store: store, keyring: keyring, author: "crowd")
            let (p, _) = try log.registerPerson(name: "P\(n)", at: 1_770_000_000_000)
            try evening(log, people: [p], count: 19, at: 1_770_000_000_000)
            engines.append(try await enrolled(store, on: crowd, client: client).0)
        }
        let results = await withTaskGroup(of: (Double, Bool).self) { group in
            for engine in engines {
                group.addTask {
                    var ok = true
                    let t = await seconds { do { _ = try await engine.run() } catch { ok = false } }
                    return (t, ok)
                }
            }
            var all = [(Double, Bool)]()
            for await r in group { all.append(r) }
            return all
        }
        let times = results.map(\.0).sorted()
        let failed = results.filter { !$0.1 }.count
        report("\(laptops) laptops syncing at once", String(format: "%d errors, p50 %.0f ms, p99 %.0f ms, server holds %d", failed,
                                                             times[times.count / 2] * 1000, times[min(times.count - 1, times.count * 99 / 100)] * 1000,
                                                             try await crowd.service.storage.eventCount()))
        try await client.shutdown()
        await crowd.stop()
    }
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
