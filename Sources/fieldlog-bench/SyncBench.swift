// Sync benchmarks: a real server (Hummingbird; SQLite, or PostgreSQL with --postgres) on
// 127.0.0.1, real HTTP, gzip.
import AsyncHTTPClient
import Foundation
import Logging
import OutreachCore
import PostgresTestSupport
import SyncClient
import SyncServerKit
import SyncServerPostgres

struct SyncBench {
    let root: URL
    let partnership: BenchPartnership
    let passphrase: String
    /// The server's storage on PostgreSQL (a new database per server, on FIELDLOG_TEST_DATABASE_URL's).
    let postgres: Bool
    /// How many events the first sync carries (`--only first-sync --events N`).
    var firstSyncEvents = 100_000

    /// The backend, as the figures name it.
    var on: String { postgres ? " [PostgreSQL]" : " [SQLite]" }

    /// A server with both organisations, in its own directory (or database).
    func server(_ name: String) async throws -> EmbeddedServer { try await serverAndPlace(name).0 }

    /// A server, and where its storage is as `SyncServer serve` options (another process may serve it).
    func serverAndPlace(_ name: String) async throws -> (EmbeddedServer, [String]) {
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        let storage: any SyncStorage, place: [String]
        if postgres {
            let database = try await PostgresTestDatabase.create()
            (storage, place) = (try await PostgresSyncStorage.open(database.url, logger: quiet), ["--database-url", database.urlText])
        } else {
            let directory = root.appendingPathComponent(name)
            (storage, place) = (try SQLiteSyncStorage(directory: directory), ["--data-dir", directory.path])
        }
        let service = SyncService(storage: storage)
        try await service.storage.addOrganisation("basis", at: 0)
        try await service.storage.addOrganisation("joanna", at: 0)
        return (try await EmbeddedServer.start(service: service), place)
    }

    /// Enrols `store` and returns an engine that syncs it over HTTP.
    func enrolled(_ store: Store, on server: EmbeddedServer, client: HTTPClient = HTTPTransport.client) async throws -> (SyncEngine, WireMeter) {
        engine(store, url: server.url, bearer: try await enrol(store, on: server), client: client)
    }

    /// Enrols `store` with `server`'s service; its bearer token.
    func enrol(_ store: Store, on server: EmbeddedServer) async throws -> String {
        let token = try await server.service.issueEnrolment(org: store.info.org, lifetime: 3_600_000)
        return try await server.service.enrol(token: token, device: store.info.device, replica: store.info.replica,
                                              certificates: try store.roster().certificates).1
    }

    /// An engine that syncs `store` over HTTP with the server at `url`.
    func engine(_ store: Store, url: String, bearer: String, client: HTTPClient = HTTPTransport.client) -> (SyncEngine, WireMeter) {
        let meter = WireMeter()
        let transport = HTTPTransport(server: url, token: bearer, client: client, meter: meter)
        return (SyncEngine(store: store, keyring: partnership.keyring(for: store), transport: transport), meter)
    }

    func newStore(_ name: String) throws -> Store {
        try partnership.create(root.appendingPathComponent(name), device: name, passphrase: passphrase).0
    }

    /// Puts a laptop's whole log on the server directly (set-up, not measured), a page at a time.
    func fill(_ server: EmbeddedServer, from store: Store) async throws {
        let roster = try store.roster()
        try await server.service.addTrust(TrustRecord(partnership: roster.partnership, pins: roster.pins, certificates: roster.certificates))
        var pushed = VersionVector()
        while true {
            let page = try store.events(notCoveredBy: pushed, limit: 5000)
            guard !page.isEmpty else { break }
            _ = try await server.service.storage.push(page)
            for e in page { pushed[e.dot.replica] = max(pushed[e.dot.replica], e.dot.seq) }
        }
    }

    func evening(_ log: FieldLog, people: [String], count: Int, at: Int64) throws {
        let drafts = (0..<count).map { n in
            Draft(Payload(Body.ContactLogged(person: people[n % people.count], setting: .known(.van), zone: "Z4", services: [.known(.condoms): 10],
                                             needs: [.known(.housing)]), at: at + Int64(n), author: "van"))
        }
        try log.store.append(drafts, keyring: log.keyring)
    }

    /// `parts` empty: all of them.
    func run(quick: Bool, parts: Set<String>, makeStore: (String, Int) throws -> (FieldLog, [String], masterKey: Data)) async throws {
        if parts.isEmpty || parts.contains("first-sync") { try await firstSync(makeStore: makeStore) }
        if parts.isEmpty || parts.contains("evening") { try await evenings(quick: quick, makeStore: makeStore) }
        if parts.isEmpty || parts.contains("crowd") {
            // Issue 12's scenarios: (a) 50 partnerships of 10 laptops, (b) one of 200.
            let crowd = CrowdBench(root: root, postgres: postgres)
            let scenario = options.scenario
            if scenario != "b" {
                try await crowd.run(label: quick ? "(a) 100 laptops in 10 partnerships of 10" : "(a) 500 laptops in 50 partnerships of 10",
                                partnerships: quick ? 10 : 50, size: 10, workers: 4)
            }
            if scenario != "a" {
                try await crowd.run(label: quick ? "(b) 50 laptops in one partnership" : "(b) 200 laptops in one partnership",
                                partnerships: 1, size: quick ? 50 : 200, workers: 4)
            }
        }
    }

    /// A new laptop's first sync of 100k events (or `firstSyncEvents`), then a sync with nothing
    /// new. The server runs in its own process (`SyncServer serve`, built next to this one) on
    /// the storage filled here, so its peak memory is its own; without that binary it runs in
    /// this process, and the peak is that of the server and the laptop together.
    func firstSync(makeStore: (String, Int) throws -> (FieldLog, [String], masterKey: Data)) async throws {
        let count = firstSyncEvents, label = count % 1_000_000 == 0 ? "\(count / 1_000_000)M" : "\(count / 1000)k"
        let (source, _, _) = try makeStore("sync-source", count)
        let (big, place) = try await serverAndPlace("server-\(label)")
        try await fill(big, from: source.store)
        let fresh = try newStore("sync-new-laptop")
        let bearer = try await enrol(fresh, on: big)
        let child = try ServerProcess.start(place, log: root.appendingPathComponent("server-\(label).log"))
        defer { child?.stop() }
        let (engine, counter) = engine(fresh, url: child?.url ?? big.url, bearer: bearer)
        let serverCPUBefore = child?.cpuSeconds() ?? 0
        var summary = SyncSummary()
        let profiler = try CrowdBench.profile()  // FIELDLOG_BENCH_PERF: the first 3 s of it (this process)
        let rssBefore = PeakMemory.reset()
        let cpuBefore = CrowdBench.cpuSeconds(), databaseBefore = postgres ? CrowdBench.databaseCPUSeconds() : 0
        let first = try await seconds { summary = try await engine.run() }
        let cpu = CrowdBench.cpuSeconds() - cpuBefore
        _ = profiler
        if let child {
            // PostgreSQL's own processes share the two cores too.
            let database = postgres ? String(format: ", %.2f s PostgreSQL", CrowdBench.databaseCPUSeconds() - databaseBefore) : ""
            report("first sync, new laptop, \(label) events" + on, String(format: "%6.2f s (%d round trips, %.1f MB in; CPU %.2f s laptop, %.2f s server", first,
                                                                             summary.roundTrips, Double(counter.received) / 1e6, cpu,
                                                                             child.cpuSeconds() - serverCPUBefore) + database + ")")
            report("the server process's peak memory (all its life)", String(format: "%4d MB", child.peakMemory() >> 20))
        } else {
            report("first sync, new laptop, \(label) events" + on, String(format: "%6.2f s (%d round trips, %.1f MB in; CPU %.2f s, server and laptop)", first,
                                                                             summary.roundTrips, Double(counter.received) / 1e6, cpu))
            report("peak memory during it (server and laptop in one process)", String(format: "%4d MB (%d MB held before it)", PeakMemory.peak() >> 20, rssBefore >> 20))
        }
        let before = (counter.sent, counter.received, counter.exchanges)
        let quiet = try await seconds { summary = try await engine.run() }
        report("sync with nothing new (\(label) held)" + on, String(format: "%6.1f ms, %d round trip, %d B out, %d B in", quiet * 1000, counter.exchanges - before.2,
                                                           counter.sent - before.0, counter.received - before.1))
        try await importSteps(of: source.store)  // after: its stores of 100k events are no part of the sync's
        await big.stop()
    }

    /// A first sync's work on the laptop, step by step on pages of 5,000 (the sync's own steps,
    /// without the network, the server or any overlap): reading the packed pages, checking them
    /// (`Prechecked`, on every core), storing them. CPU seconds (this process's, both cores)
    /// vary less on a shared machine than the first sync's wall time, so a change to one step
    /// shows here first.
    func importSteps(of source: Store) async throws {
        let all = try source.allEvents().sorted { ($0.dot.replica, $0.dot.seq) < ($1.dot.replica, $1.dot.seq) }  // as a server pages them
        let head = SyncResponseV2(vector: VersionVector(), covered: VersionVector(), events: [], more: true, stored: 0, alreadyHad: 0).json.canonicalData()
        let pages = stride(from: 0, to: all.count, by: 5000).map { PackedPage.encode(head: head, events: Array(all[$0..<min($0 + 5000, all.count)])) }
        let certificates = try source.roster().certificates
        // `--steps N`: the steps N times on new laptops, the least CPU of each reported (a step
        // made cheaper shows in the minimum long before it shows in a mean on this machine).
        let rounds = options.steps
        var (decode, check, store) = (Double.infinity, Double.infinity, Double.infinity)
        for round in 1...rounds {
            let laptop = try newStore("steps-laptop-\(round)")
            let keyring = partnership.keyring(for: laptop)
            _ = try laptop.importEvents([], certificates: certificates, from: .carried("bench"), keyring: keyring)
            var before = CrowdBench.cpuSeconds()
            func cpu() -> Double {
                defer { before = CrowdBench.cpuSeconds() }
                return CrowdBench.cpuSeconds() - before
            }
            var read = [[Event]]()
            for page in pages { read.append(try await PackedPage.decodeInSteps(page).events()) }
            decode = min(decode, cpu())
            let (roster, revoked) = (try laptop.roster(), try laptop.revocations())
            let checked = read.map { Prechecked($0, certificates: [], roster: roster, keyring: keyring, revoked: revoked) }
            check = min(check, cpu())
            try await laptop.holdingCheckpoints {
                for (events, prechecked) in zip(read, checked) {
                    _ = try laptop.importEvents(events, from: .carried("bench"), keyring: keyring, prechecked: prechecked)
                }
            }
            store = min(store, cpu())
        }
        report("a first sync's laptop steps, \(all.count / 1000)k events", String(format: "CPU %.2f s reading pages, %.2f s checking, %.2f s storing", decode, check, store)
                                                                         + (rounds > 1 ? " (least of \(rounds))" : ""))
    }

    /// An evening's 200 events against servers of growing size.
    func evenings(quick: Bool, makeStore: (String, Int) throws -> (FieldLog, [String], masterKey: Data)) async throws {
        var summary = SyncSummary()
        for size in quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000] {
            let (log, people, _) = try makeStore("evening-\(size)", size)
            let server = try await server("server-evening-\(size)")
            try await fill(server, from: log.store)
            let (engine, _) = try await enrolled(log.store, on: server)
            _ = try await engine.run()  // up to date before the evening
            try evening(log, people: people, count: 200, at: 1_770_000_000_000)
            let t = try await seconds { summary = try await engine.run() }
            report("evening sync, 200 events, server holds \(size / 1000)k" + on, String(format: "%6.1f ms (%d round trips, sent %d)", t * 1000, summary.roundTrips, summary.sent))
            await server.stop()
        }
    }
}

/// This process's peak resident memory (Linux: VmHWM), and its reset.
enum PeakMemory {
    /// A memory field of `/proc/PROCESS/status` (this process's, or another's by pid), in bytes.
    static func status(_ field: String, process: String = "self") -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// The peak since the last reset, in bytes.
    static func peak() -> Int { status("VmHWM:") }

    /// Gives freed memory back to the system, then starts the peak again from what is held now
    /// (returned, in bytes).
    static func reset() -> Int {
        // glibc's malloc_trim (not in the Glibc module): freed heap back to the system.
        if let trim = dlsym(nil, "malloc_trim") {  // nil: RTLD_DEFAULT
            _ = unsafeBitCast(trim, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        return status("VmRSS:")
    }
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try await body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// `SyncServer serve` in its own process (the binary built next to this one), on a storage
/// this process filled: its memory and CPU are its own.
final class ServerProcess {
    let process: Process
    let url: String

    private init(process: Process, url: String) {
        self.process = process
        self.url = url
    }

    /// Starts the server on `place` (`--data-dir DIR` or `--database-url URL`) on a free port;
    /// nil if there is no `SyncServer` binary next to this one.
    static func start(_ place: [String], log: URL) throws -> ServerProcess? {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("SyncServer")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            progress("no SyncServer next to fieldlog-bench: the first sync's server runs in this process")
            return nil
        }
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = binary
        p.arguments = ["serve"] + place + ["--host", "127.0.0.1", "--port", "0"]
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        for _ in 0..<600 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let match = text.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                return ServerProcess(process: p, url: "http://127.0.0.1:\(text[match].split(separator: ":").last!)")
            }
            if !p.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        p.terminate()
        throw FieldlogError(.io, "SyncServer serve did not start: see \(log.path)")
    }

    /// The most memory the process has held (VmHWM), in bytes.
    func peakMemory() -> Int { PeakMemory.status("VmHWM:", process: "\(process.processIdentifier)") }

    /// CPU time (user and system) the process has used so far, in seconds.
    func cpuSeconds() -> Double { CrowdBench.cpuTicks(of: "\(process.processIdentifier)").map(CrowdBench.seconds(ticks:)) ?? 0 }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}
