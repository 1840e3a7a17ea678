// The crowd (issue 12, item 4): many laptops syncing at once, against a server that has this
// process to itself. Laptops live in worker processes (`fieldlog-bench crowd-worker JOB`), at
// the protocol level: each enrols with its own certified key, then on "go" pushes an evening of
// 20 signed events and pulls its partnership's new events page by page (real HTTP, gzip), as
// `fieldlog sync` would, without storing them; then, on a second "go", a second evening: the
// first is a server just started (cold caches, cold database connections), the second one that
// has been running, as on a real evening. So the figures are the server's, not 2 cores
// shared with hundreds of laptops' SQLite stores (the older in-process crowd, `crowd-inprocess`).
// All laptops start on "go" (a burst: the slowest waits for the whole evening's work), or with
// `--spread S` one by one over S seconds (a steady rate: what the server sustains).
import AsyncHTTPClient
import Foundation
import Logging
import OutreachCore
import PostgresTestSupport
import SyncClient
import SyncServerKit
import SyncServerPostgres

/// One laptop of a worker: what it enrols with and the evenings it pushes (`CrowdBench.evening` events each).
struct CrowdLaptop {
    let token: String
    let device: String
    let replica: ReplicaID
    let certificates: [DeviceCertificate]
    let events: [Event]

    var json: JSONValue {
        ["token": .string(token), "device": .string(device), "replica": .string(replica.rawValue),
         "certificates": .array(certificates.map(\.json)), "events": .array(events.map(\.json))]
    }

    init(token: String, device: String, replica: ReplicaID, certificates: [DeviceCertificate], events: [Event]) {
        (self.token, self.device, self.replica, self.certificates, self.events) = (token, device, replica, certificates, events)
    }

    init(json: JSONValue) throws {
        guard let token = json["token"]?.stringValue, let device = json["device"]?.stringValue,
              let replica = json["replica"]?.stringValue.flatMap(ReplicaID.init) else { throw FieldlogError(.malformed, "a crowd job's laptop is incomplete") }
        self.init(token: token, device: device, replica: replica,
                  certificates: try (json["certificates"]?.arrayValue ?? []).map(DeviceCertificate.init(json:)),
                  events: try (json["events"]?.arrayValue ?? []).map(Event.init(json:)))
    }
}

struct CrowdBench {
    let root: URL
    let postgres: Bool
    /// Each laptop's evening: this many events, and this many evenings, one after the other.
    static let evening = 20, evenings = 2

    /// Scenario (a): `partnerships` of `size` laptops; (b): one of `size`.
    func run(label: String, partnerships: Int, size: Int, workers: Int) async throws {
        var quiet = Logger(label: "bench")
        quiet.logLevel = .error
        let database = postgres ? try await PostgresTestDatabase.create().url : nil
        let directory = root.appendingPathComponent("crowd-\(partnerships)x\(size)")
        func open() async throws -> any PartnershipStorages {
            if let database { try await PostgresPartnerships.open(database, logger: quiet) } else { SQLitePartnerships(root: directory) }
        }
        var all = try await open()
        let host = SyncHost(partnerships: all, main: SyncService(storage: try await all.storage(nil)))

        // Set-up (not measured): partnerships, roots, certified laptops and their signed evenings.
        var laptops = [CrowdLaptop]()
        for p in 0..<partnerships {
            progress("crowd: partnership \(p + 1)/\(partnerships)")
            let name = partnerships == 1 ? nil : "p\(p)"
            if let name { try await all.add(name) }
            let service = try await host.service(forToken: name.map { "fld_\($0).x" })
            try await service.storage.addOrganisation("basis", at: 0)
            let partnershipKey = ScopeKey.generate()
            let rootKey = DeviceKey.generate()
            let rootCert = try DeviceCertificate.root(partnership: "crowd-\(p)", org: "basis", device: "root", replica: .random(), key: rootKey, issuedAt: 0)
            for n in 0..<size {
                let key = DeviceKey.generate(), replica = ReplicaID.random()
                let cert = try DeviceCertificate.issue(partnership: "crowd-\(p)", org: "basis", device: "l\(n)", replica: replica, role: .device,
                                                       key: key.publicKey, issuedAt: 0, by: rootKey)
                var events = [Event]()
                for seq in 1...(CrowdBench.evening * CrowdBench.evenings) {
                    let dot = Dot(replica, UInt64(seq))
                    let aad = EventEncoding.associatedData(dot: dot, org: "basis", scope: .partnership, keyID: partnershipKey.id)
                    events.append(try Event(dot: dot, prev: events.last?.id, org: "basis", scope: .partnership, context: VersionVector([replica: UInt64(seq - 1)]),
                                            recordedAt: 1_770_000_000_000 + Int64(seq), keyID: partnershipKey.id,
                                            sealedPayload: try partnershipKey.seal(Data(repeating: UInt8(seq), count: 180), aad: aad), signer: key))
                }
                laptops.append(CrowdLaptop(token: try await service.issueEnrolment(org: "basis", lifetime: 3_600_000), device: "l\(n)", replica: replica,
                                           certificates: [rootCert, cert], events: events))
            }
        }

        // The server starts on the partnerships it holds, as `SyncServer serve` does (on
        // PostgreSQL its connections are split by them: `PostgresPool`).
        await all.close()
        all = try await open()
        let server = try await EmbeddedServer.start(host: SyncHost(partnerships: all, main: SyncService(storage: try await all.storage(nil))),
                                                    logLevel: .error)

        // Workers enrol their laptops, say "ready", and start together on "go".
        let workerProcesses = try (0..<workers).map { w -> (Process, Pipe, Pipe) in
            let job = root.appendingPathComponent("crowd-job-\(w).json")
            let mine = Array(stride(from: w, to: laptops.count, by: workers))
            // With --spread, laptop n of the whole crowd starts n/count of the way through it.
            let starts = mine.map { JSONValue.int(Int64(options.spread * 1000 * Double($0) / Double(laptops.count))) }
            try JSONValue.object(["server": .string(server.url), "laptops": .array(mine.map { laptops[$0].json }), "startsMs": .array(starts)])
                .canonicalData().write(to: job)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["crowd-worker", job.path]
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            try p.run()
            return (p, input, output)
        }
        for (n, (_, _, output)) in workerProcesses.enumerated() {
            progress("crowd: worker \(n + 1)/\(workers) enrolling")
            guard CrowdBench.line(output) == "ready" else { throw FieldlogError(.malformed, "a crowd worker did not get ready") }
        }
        progress("crowd: \(laptops.count) laptops syncing")
        var profiler: Process?
        report("\(label) [\(postgres ? "PostgreSQL" : "SQLite")]", "")
        if options.spread > 0 { report(String(format: "  laptops starting one by one over %g s", options.spread), "") }
        for evening in 1...Self.evenings {
            // The last evening's: a server that has been running (and PostgreSQL's processes with it).
            if evening == Self.evenings { profiler = try CrowdBench.profile(database: postgres) }
            let serverCPUBefore = CrowdBench.cpuSeconds(), databaseCPUBefore = postgres ? CrowdBench.databaseCPUSeconds() : 0
            for (_, input, _) in workerProcesses { input.fileHandleForWriting.write(Data("go\n".utf8)) }
            var times = [Double](), errors = 0, requests = 0, workerCPU = 0.0
            for (_, _, output) in workerProcesses {
                let result = try JSONValue.parse(Data(CrowdBench.line(output).utf8))
                times += (result["times"]?.arrayValue ?? []).compactMap { $0.intValue.map(Double.init) }  // ms
                errors += Int(result["errors"]?.intValue ?? 0)
                requests += Int(result["requests"]?.intValue ?? 0)
                workerCPU += Double(result["cpuMicros"]?.intValue ?? 0) / 1e6
            }
            let serverCPU = CrowdBench.cpuSeconds() - serverCPUBefore
            let databaseSeconds = postgres ? CrowdBench.databaseCPUSeconds() - databaseCPUBefore : 0
            let databaseCPU = postgres ? String(format: ", PostgreSQL %.2f s", databaseSeconds) : ""
            // Sent all at once, the last answer cannot come before the evening's work (server,
            // laptops, database) is done, every core busy: the soonest the max could be with this
            // much work. Spread over time, there is no such floor.
            let work = (serverCPU + workerCPU + databaseSeconds) / Double(ProcessInfo.processInfo.activeProcessorCount) * 1000
            let floor = options.spread > 0 ? "" : String(format: " (floor %.0f ms)", work)
            times.sort()
            var held = 0
            for name in try await all.names() { held += try await all.storage(name).eventCount() }
            held += try await all.storage(nil).eventCount()
            report(evening == 1 ? "  evening 1 (the server just started)" : "  evening \(evening)",
                   String(format: "%d errors, p50 %.0f ms, p99 %.0f ms, max %.0f ms, %d requests, server holds %d; CPU: server %.2f s, laptops %.2f s%@%@",
                          errors + (laptops.count - times.count),
                          times.isEmpty ? 0 : times[times.count / 2], times.isEmpty ? 0 : times[min(times.count - 1, times.count * 99 / 100)], times.last ?? 0,
                          requests, held, serverCPU, workerCPU, databaseCPU, floor))
        }
        _ = profiler  // it stops by itself
        // After the last answer: Foundation's waitUntilExit spins a run loop on Linux.
        for (p, _, _) in workerProcesses { p.waitUntilExit() }
        await server.stop()
        await all.close()
    }

    /// With `FIELDLOG_BENCH_PERF=FILE`, `perf record -g` of this process (the crowd's server, or
    /// the first sync's server and laptop) for 3 seconds from now, into FILE (`perf report -i FILE`);
    /// with `database`, PostgreSQL's processes on this machine too (`perf report --comm postgres`).
    /// Stacks are walked by frame pointers; `FIELDLOG_BENCH_PERF_GRAPH=dwarf` walks them through
    /// libraries built without (the system's SQLite), at the cost of a much larger file.
    static func profile(database: Bool = false) throws -> Process? {
        let environment = ProcessInfo.processInfo.environment
        guard let file = environment["FIELDLOG_BENCH_PERF"] else { return nil }
        let perf = Process()
        perf.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        perf.arguments = ["perf", "record", "-q", "-F", "999", "--call-graph", environment["FIELDLOG_BENCH_PERF_GRAPH"] ?? "fp",
                          "-p", ([Int(getpid())] + (database ? databaseProcesses().map(\.pid) : [])).map(String.init).joined(separator: ","), "-o", file, "--", "sleep", environment["FIELDLOG_BENCH_PERF_SECONDS"] ?? "3"]
        try perf.run()
        Thread.sleep(forTimeInterval: 0.5)  // perf attaches
        return perf
    }

    /// CPU time (user and system) this process has used so far, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// CPU time (user and system) PostgreSQL's processes on this machine have used so far, in
    /// seconds (each process's `/proc/PID/stat`); 0 where there is no /proc.
    static func databaseCPUSeconds() -> Double {
        seconds(ticks: databaseProcesses().reduce(0) { $0 + $1.ticks })
    }

    /// PostgreSQL's processes on this machine (by name, from `/proc`) and the clock ticks of CPU each has used.
    static func databaseProcesses() -> [(pid: Int, ticks: Int)] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid in
            guard let n = Int(pid), let ticks = cpuTicks(of: pid, named: "postgres") else { return nil }
            return (n, ticks)
        }
    }

    /// The clock ticks of CPU (user and system) process `pid` has used (`/proc/PID/stat`); nil if
    /// there is no such process, or its name does not start with `named`.
    static func cpuTicks(of pid: String, named: String = "") -> Int? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
              stat[stat.index(after: open)..<close].hasPrefix(named) else { return nil }
        // After the name: state is field 3, utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// Clock ticks as seconds.
    static func seconds(ticks: Int) -> Double { Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK))) }

    /// One line a worker wrote.
    static func line(_ pipe: Pipe) -> String {
        var bytes = Data()
        while true {
            let b = pipe.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty || b == Data("\n".utf8) { break }
            bytes += b
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// `fieldlog-bench crowd-worker JOB`: the laptops of one worker process.
enum CrowdWorker {
    static func main(job path: String) async throws -> Never {
        let job = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path)))
        let server = job["server"]?.stringValue ?? ""
        let laptops = try (job["laptops"]?.arrayValue ?? []).map(CrowdLaptop.init(json:))
        let starts = (job["startsMs"]?.arrayValue ?? []).map { UInt64($0.intValue ?? 0) }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: laptops.count),
                                                     decompression: .disabled))
        var bearers = [String]()
        for laptop in laptops {
            bearers.append(try await HTTPTransport.enrol(server: server, token: laptop.token, device: laptop.device, replica: laptop.replica,
                                                         certificates: laptop.certificates, client: client).deviceToken)
        }
        print("ready")
        fflush(nil)
        // What each laptop holds, carried from one evening to the next.
        var held = laptops.map { _ in Held() }
        for evening in 0..<CrowdBench.evenings {
            // Each laptop's first request is made before the clock starts: a real laptop
            // encodes its push on its own machine, not on the server's two cores.
            let firsts = try zip(laptops, held).map { laptop, holding in
                let first = request(laptop, push: Array(laptop.events[evening * CrowdBench.evening ..< (evening + 1) * CrowdBench.evening]), holding: holding)
                return (vector: first.vector, body: try HTTPTransport.gzipped(first.json))
            }
            _ = readLine()
            let cpuBefore = CrowdBench.cpuSeconds()
            let results = await withTaskGroup(of: (n: Int, ms: Int64?, requests: Int, held: Held).self) { group in
                for (n, (laptop, bearer)) in zip(laptops, bearers).enumerated() {
                    let first = firsts[n], before = held[n], start = starts.indices.contains(n) ? starts[n] : 0
                    group.addTask {
                        if start > 0 { try? await Task.sleep(for: .milliseconds(start)) }
                        let r = await sync(laptop, first: first, holding: before, bearer: bearer, server: server, client: client)
                        return (n, r.ms, r.requests, r.held)
                    }
                }
                var out = [(n: Int, ms: Int64?, requests: Int, held: Held)]()
                for await r in group { out.append(r) }
                return out
            }
            for r in results { held[r.n] = r.held }
            let times = results.compactMap(\.ms)
            print(JSONValue.object(["times": .array(times.map { .int($0) }), "errors": .int(Int64(results.count - times.count)),
                                    "requests": .int(Int64(results.map(\.requests).reduce(0, +))),
                                    "cpuMicros": .int(Int64((CrowdBench.cpuSeconds() - cpuBefore) * 1e6))]).canonicalString())
            fflush(nil)
        }
        try? await client.shutdown()
        exit(0)
    }

    /// One laptop's sync: push its evening with the first request, then pull until the server
    /// has nothing more. Returns its time in ms (nil on an error) and its request count. The
    /// answer is unzipped and its members read, but its events are only stepped over, not
    /// parsed: a real laptop parses and checks them on its own machine, not on the server's two
    /// cores (a load generator's work is asking and timing).
    /// Laptops ask for packed pages, as `fieldlog sync` does; `FIELDLOG_BENCH_JSON_PAGES=1`: JSON
    /// pages, gzipped (an older laptop, or the answers measured before packed pages).
    static let packed = ProcessInfo.processInfo.environment["FIELDLOG_BENCH_JSON_PAGES"] == nil

    /// What a laptop holds between syncs: the server's events (as a vector) and the digest of
    /// the certificates it was last sent (a real laptop keeps both; the server sends the
    /// certificates again only when they differ).
    struct Held: Sendable {
        var vector = VersionVector()
        var certDigest: String?
    }

    /// A laptop's request pushing `push` when it holds `held`; its vector is what the laptop
    /// will hold of the server's events once the server has them.
    static func request(_ laptop: CrowdLaptop, push: [Event], holding held: Held) -> SyncRequestV2 {
        var vector = held.vector
        vector[laptop.replica] = push.last?.dot.seq ?? held.vector[laptop.replica]
        return SyncRequestV2(vector: vector, events: push, limit: 5000, certDigest: held.certDigest)
    }

    /// `first`: the vector and gzipped body of the evening's `request(laptop, push: …, holding: held)`.
    static func sync(_ laptop: CrowdLaptop, first: (vector: VersionVector, body: Data), holding held: Held, bearer: String, server: String,
                     client: HTTPClient) async -> (ms: Int64?, requests: Int, held: Held) {
        let start = DispatchTime.now().uptimeNanoseconds
        var now = Held(vector: first.vector, certDigest: held.certDigest)
        var requests = 0
        var sent: Data? = first.body
        do {
            while true {
                let gzipped = try sent ?? HTTPTransport.gzipped(request(laptop, push: [], holding: now).json)
                let body = try await HTTPTransport.postForBytes(server: server, path: "/v1/sync", gzipped: gzipped, bearer: bearer, client: client,
                                                                accept: packed ? PackedPage.mediaType : nil)
                requests += 1
                sent = nil
                let answer = packed ? (try PackedPage.head(of: body).objectValue ?? [:]) : try AnswerSkim.members(of: body, skipping: "events")
                guard let covered = answer["covered"], let more = answer["more"]?.boolValue,
                      answer["events"] == .null || answer["events"]?.arrayValue?.isEmpty == true else {
                    throw FieldlogError(.malformed, "not a sync answer")
                }
                now.certDigest = answer["certDigest"]?.stringValue
                for (origin, seq) in try VersionVector(json: covered).entries where seq > now.vector[origin] { now.vector[origin] = seq }
                if !more { break }
            }
        } catch {
            return (nil, requests, held)
        }
        return (Int64((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000), requests, now)
    }
}

/// The members of a JSON object, one of them stepped over unparsed (its bytes checked to be one
/// well-formed-looking value: brackets balanced outside strings) and given as `null`.
enum AnswerSkim {
    static func members(of data: Data, skipping skipped: String) throws -> [String: JSONValue] {
        let bytes = [UInt8](data)
        var i = 0
        func fail() -> FieldlogError { FieldlogError(.malformed, "not a sync answer") }
        func skipSpace() { while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 } }
        /// Steps over one value, returning where it began.
        func skipValue() throws -> Int {
            let start = i
            var depth = 0, inString = false
            while i < bytes.count {
                let b = bytes[i]
                if inString {
                    if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inString = false; if depth == 0 { i += 1; return start } }
                } else {
                    switch b {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        if depth == 0 { return start }
                        depth -= 1
                        if depth == 0 { i += 1; return start }
                    case UInt8(ascii: ","): if depth == 0 { return start }
                    default: break
                    }
                }
                i += 1
            }
            throw fail()
        }
        var out = [String: JSONValue]()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else { throw fail() }
        i += 1
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail() }
            if bytes[i] == UInt8(ascii: "}") { return out }
            if bytes[i] == UInt8(ascii: ",") { i += 1; skipSpace() }
            let keyStart = try skipValue()
            guard let key = try JSONValue.parse(Data(bytes[keyStart..<i])).stringValue else { throw fail() }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail() }
            i += 1
            skipSpace()
            let valueStart = try skipValue()
            out[key] = key == skipped ? .null : try JSONValue.parse(Data(bytes[valueStart..<i]))
        }
    }
}
