// Benchmarks for the offline field log. Not tests: they print figures (see BENCHMARKS.md).
//
//   swift build -c release && .build/release/fieldlog-bench [options]
import Foundation
import GRDB
import OutreachCore

// A worker process of the crowd benchmark (Crowd.swift), started by the benchmark itself.
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "crowd-worker" { try await CrowdWorker.main(job: CommandLine.arguments[2]) }

SQLiteProcess.prepare()  // before any database is opened, as the programs it measures do
let quick = options.quick
let root = FileManager.default.temporaryDirectory.appendingPathComponent("fieldlog-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
/// `--keep` alone keeps every store; `--keep DIR` keeps only the reads store, in DIR.
let keep = options.keep && options.keepDir == nil
let only = options.only
/// Whether a section runs: all of them but `reads`, `erase` (they spawn processes) and `keys` unless `--only` names one.
func section(_ names: String...) -> Bool { only.map(names.contains) ?? !(names.contains("reads") || names.contains("erase") || names.contains("keys")) }

/// Removes the benchmark's stores (unless --keep) and exits.
func finish() -> Never {
    if keep { print("kept \(root.path)") } else { try? FileManager.default.removeItem(at: root) }
    exit(0)
}
let interactive = isatty(STDOUT_FILENO) != 0

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func progress(_ text: String) {
    guard interactive else { return }
    print("\r\u{1B}[K" + text, terminator: "")
    fflush(nil)
}

func report(_ label: String, _ value: String) {
    progress("")
    print(label.padding(toLength: 52, withPad: " ", startingAt: 0) + value)
}

let passphrase = "benchmark passphrase"
let partnership = BenchPartnership()
let keyring = partnership.someKeyring
let services: [Service: Int] = [.condoms: 10, .lube: 2]

/// A store of `count` events: 2% registrations, the rest contacts with those people.
/// Seconds spent inside `Store.append` by the last `makeStore` (payload building excluded).
nonisolated(unsafe) var appendSeconds = 0.0

func makeStore(_ name: String, count: Int, at directory: URL? = nil) throws -> (FieldLog, [String], masterKey: Data) {
    appendSeconds = 0
    let (store, keyring, master) = try partnership.create(directory ?? root.appendingPathComponent(name), device: name, passphrase: passphrase)
    let log = FieldLog(store: store, keyring: keyring, author: name)
    var people = [String]()
    var written = 0
    let t0: Int64 = 1_760_000_000_000
    // The partnership's zones, so `contact add --zone` checks against the list as in the field.
    try store.append((0..<9).map { Draft(Payload(Body.ZoneDefined(zone: "Z\($0)", label: nil), at: t0, author: name)) }, keyring: keyring)
    while written < count {
        var drafts = [Draft]()
        for i in 0..<min(10_000, count - written) {
            let n = written + i
            if n % 50 == 0 || people.isEmpty {
                let id = Hex.random(bytes: 16)
                people.append(id)
                let registered = Body.PersonRegistered(person: id, name: "Person \(n)", descriptor: "a descriptor of some length", note: nil, key: nil)
                drafts.append(Draft(Payload(registered, at: t0 + Int64(n) * 60_000, author: name)))
            } else {
                let contact = Body.ContactLogged(person: people[n % people.count], setting: .known(.van), zone: "Z\(n % 9)", workers: [name],
                                                 services: [.known(.condoms): 10, .known(.lube): 2], needs: [.known(.housing)])
                drafts.append(Draft(Payload(contact, at: t0 + Int64(n) * 60_000, author: name)))
            }
        }
        appendSeconds += try seconds { try store.append(drafts, keyring: keyring) }
        written += drafts.count
        progress("\(name): \(written)/\(count) events")
    }
    return (log, people, master.withUnsafeBytes { Data($0) })
}

nonisolated(unsafe) var lastFolded = FieldState()

func foldTime(_ log: FieldLog) throws -> (read: Double, open: Double, fold: Double, people: Int) {
    var events = [Event]()
    let read = try seconds { events = try log.store.allEvents() }
    var opened = [OpenedEvent?]()
    let held = events
    let open = seconds { opened = Parallel.map(count: held.count) { log.keyring.open(held[$0]) } }
    var state = FieldState()
    let fold = seconds { state = Fold.fold(opened.compactMap { $0 }) }
    lastFolded = state
    return (read, open, fold, state.people.count)
}

/// The coordinators' report over the last folded state: one month, and a 12-month trend. The
/// whole `fieldlog report` is the fold plus this; with the sealed snapshot (`ReportIndex.load`)
/// an unchanged store skips the fold.
func reportTimes(_ f: (read: Double, open: Double, fold: Double, people: Int), log: FieldLog, events: String) throws {
    let state = lastFolded
    let last = state.contacts.values.map(\.occurredAt).max() ?? 0
    let month = String(LondonTime().format(last).prefix(7))
    var monthly: PartnershipReport?
    var index: ReportIndex?
    let indexing = seconds { index = ReportIndex(state) }
    let one = try indexing + seconds { monthly = PartnershipReport(index: index!, period: try .month(month)) }
    let periods = try ReportPeriod.months(12, endingWith: month)
    let trend = indexing + seconds { _ = periods.map { PartnershipReport(index: index!, period: $0) } }
    let total = f.read + f.open + f.fold
    report("report --month over \(events), folding (fold + counts)", String(format: "%5.2f s (%.2f + %.3f; %d contacts in %@)", total + one, total, one,
                                                                            monthly?.merged.contacts ?? 0, month))
    report("report --months 12 over \(events), folding", String(format: "%5.2f s (%.2f + %.3f)", total + trend, total, trend))
    // The snapshot: the first report writes it (a fold), the next ones read it.
    let cold = try seconds { _ = try log.reportIndex() }
    var warmIndex: ReportIndex?
    var source = ReportIndex.Source.state
    let load = try seconds { (warmIndex, source) = try log.reportIndex() }
    let hit = source == .snapshot
    let warm = try seconds { _ = PartnershipReport(index: warmIndex!, period: try .month(month)) }
    let warmTrend = seconds { _ = periods.map { PartnershipReport(index: warmIndex!, period: $0) } }
    report("report --month over \(events), from the snapshot", String(format: "%5.3f s (read and open %.3f + counts %.3f)%@; writing it: %.2f s",
                                                                      load + warm, load, warm, hit ? "" : " NOT USED", cold))
    report("report --months 12 over \(events), from the snapshot", String(format: "%5.3f s (%.3f + %.3f)", load + warmTrend, load, warmTrend))
    // An evening's 200 contacts arrive (a morning sync): folded into the snapshot, not a full fold.
    let people = Array(state.people.keys.prefix(50))
    let drafts = (0..<200).map { n in
        Draft(Payload(Body.ContactLogged(person: people[n % people.count], setting: .known(.van), zone: "Z4", services: [.known(.condoms): 10],
                                         needs: [.known(.housing)]), at: last + Int64(n) * 1000, author: "van"))
    }
    try log.store.append(drafts, keyring: log.keyring)
    var after = ReportIndex.Source.state
    let updated = try seconds {
        let (index, source) = try log.reportIndex()
        after = source
        _ = PartnershipReport(index: index, period: try .month(month))
    }
    report("report --month over \(events) after 200 new contacts", String(format: "%5.3f s (%@)", updated, "\(after)"))
}

func describe(_ f: (read: Double, open: Double, fold: Double, people: Int)) -> String {
    String(format: "%5.2f s (read %.2f, open %.2f, fold %.2f)", f.read + f.open + f.fold, f.read, f.open, f.fold)
}

// MARK: 0. Where an append's time goes (--micro)

if options.micro {
    let n = 100_000
    let payload = Payload(type: .contactLogged, occurredAt: 1_760_000_000_000, author: "b1", fields: [
        "person": .string(Hex.random(bytes: 16)), "setting": "van", "zone": "Z3", "services": ["condoms": 10, "lube": 2],
        "needs": ["housing"], "welfare": false, "workers": ["b1"]])
    let replica = ReplicaID.random()
    var ctx = VersionVector()
    ctx[replica] = 5
    var plain = Data()
    report("payload canonical JSON", String(format: "%6.2f µs", seconds { for _ in 0..<n { plain = payload.json.canonicalData() } } / Double(n) * 1e6))
    var box = Data()
    let aad = EventEncoding.associatedData(dot: Dot(replica, 6), org: "basis", scope: .partnership, keyID: keyring.partnershipKey.id)
    report("seal (ChaChaPoly)", String(format: "%6.2f µs", try seconds { for _ in 0..<n { box = try keyring.partnershipKey.seal(plain, aad: aad) } } / Double(n) * 1e6))
    var event: Event?
    report("event id (encode + SHA-256)", String(format: "%6.2f µs", seconds { for i in 0..<n {
        event = Event(dot: Dot(replica, UInt64(i + 1)), org: "basis", scope: .partnership, context: ctx, recordedAt: 1, keyID: "k", sealedPayload: box,
                      signature: Data(count: 64)) } } / Double(n) * 1e6))
    report("sign an event id (Ed25519)", String(format: "%6.2f µs", try seconds { for _ in 0..<n {
        _ = try keyring.deviceKey.sign(Authority.signedMessage(event!.id)) } } / Double(n) * 1e6))
    let signature = try keyring.deviceKey.sign(Authority.signedMessage(event!.id))
    let checker = SignatureChecker(publicKey: keyring.deviceKey.publicKey)!
    report("verify an event signature (Ed25519)", String(format: "%6.2f µs", seconds { for _ in 0..<n {
        _ = checker.isValid(signature, for: Authority.signedMessage(event!.id)) } } / Double(n) * 1e6))
    var text = ""
    report("context as canonical JSON", String(format: "%6.2f µs", seconds { for _ in 0..<n { text = ctx.json.canonicalString() } } / Double(n) * 1e6))
    report("context parse", String(format: "%6.2f µs", try seconds { for _ in 0..<n { ctx = try VersionVector(json: JSONValue.parse(text)) } } / Double(n) * 1e6))
    report("open + parse payload", String(format: "%6.2f µs", try seconds { for _ in 0..<n {
        _ = try Payload(json: JSONValue.parse(try keyring.partnershipKey.open(box, aad: aad))) } } / Double(n) * 1e6))
    _ = event
    if options.fold {
        let (log, _, _) = try makeStore("foldmicro", count: 100_000)
        let f = try foldTime(log)
        report("fold 100k events", describe(f))
        finish()
    }
    let (store, microKeyring, _) = try partnership.create(root.appendingPathComponent("micro"), device: "m", passphrase: passphrase)
    let drafts = (0..<10_000).map { _ in Draft(.partnership, payload) }
    let cpu0 = clock()
    let wall = try seconds { for _ in 0..<10 { try store.append(drafts, keyring: microKeyring) } }
    let cpu = Double(clock() - cpu0) / Double(CLOCKS_PER_SEC)
    report("Store.append, 10 × 10k prebuilt drafts", String(format: "%6.2f µs/event wall, %.2f µs CPU", wall / Double(n) * 1e6, cpu / Double(n) * 1e6))
    finish()
}

// MARK: 1. Append rate beside raw SQLite inserts (same row shape, same machine, same run)

func rawInsertRate(rows: Int) throws -> Double {
    let db = try DatabaseQueue(path: root.appendingPathComponent("raw.sqlite").path)
    try db.write { try $0.execute(sql: "CREATE TABLE t (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, origin TEXT NOT NULL, seq INTEGER NOT NULL, org TEXT NOT NULL, scope TEXT NOT NULL, ctx TEXT NOT NULL, recorded_at INTEGER NOT NULL, key_id TEXT NOT NULL, payload BLOB NOT NULL, sig BLOB NOT NULL, prev TEXT, UNIQUE(origin, seq))") }
    let payload = Data(repeating: 7, count: 220)
    let ids = (0..<rows).map { _ in Hex.random(bytes: 32) }
    let signature = Data(repeating: 9, count: 64)
    let t = try seconds {
        try db.write { db in
            let s = try db.makeStatement(sql: "INSERT INTO t(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
            for i in 0..<rows {
                try s.execute(arguments: [ids[i], "0123456789abcdef", i + 1, "basis", "partnership", "{\"0123456789abcdef\":\(i)}", 1_760_000_000_000, "0011223344556677", payload,
                                          signature, i == 0 ? nil : ids[i - 1]])
            }
        }
    }
    return Double(rows) / t
}

let appendRows = 100_000
if section("append", "fold") {
let raw = try rawInsertRate(rows: appendRows)
report("raw SQLite insert (prepared statement, 1 txn)", String(format: "%8.0f rows/s", raw))
let appendStore = try makeStore("append", count: appendRows).0
let appendRate = Double(appendRows) / appendSeconds
report("event append (seal + hash + sign + insert, 10k/txn)", String(format: "%8.0f events/s  (%.0f%% of raw)", appendRate, appendRate / raw * 100))
let all = try appendStore.store.allEvents()
let (importStore, importKeyring, _) = try partnership.create(root.appendingPathComponent("import"), device: "imp", passphrase: passphrase)
let importTime = try seconds {
    _ = try importStore.importEvents(all, certificates: try appendStore.store.roster().certificates, from: .carried("bench"), keyring: importKeyring)
}
report("event import (verify signature + seal, insert, 1 txn)", String(format: "%8.0f events/s  (%.0f%% of raw)", Double(all.count) / importTime, Double(all.count) / importTime / raw * 100))

// MARK: 2. Fold time

let f100k = try foldTime(appendStore)
report("fold 100k events", describe(f100k))
try reportTimes(f100k, log: appendStore, events: "100k")
}

// MARK: 3. `fieldlog contact add` wall time, whole process, 100k events held

let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fieldlog")
if !section("contact") {
} else if FileManager.default.isExecutableFile(atPath: binary.path) {
    // Only the CLI touches the store on a laptop: build it, then let this process's connection go.
    let (storePath, storeID, people, master) = try { () throws -> (String, String, [String], Data) in
        let (log, people, master) = try makeStore("van", count: 100_000)
        return (log.store.directory.path, log.store.info.storeID, people, master)
    }()
    let runtime = root.appendingPathComponent("run")
    try ShiftSession(environment: ["XDG_RUNTIME_DIR": runtime.path]).save(
        storeID: storeID, masterKey: .init(data: master), expiresAt: WallClock.nowMillis() + 3_600_000)
    let ref = String(people[people.count / 2].prefix(8))
    func contactAdd() throws -> Double {
        spawnCLI(binary, ["contact", "add", ref, "--setting", "van", "--zone", "Z3", "--service", "condoms=10,lube=2", "--need", "housing"],
                 environment: ["FIELDLOG_STORE=\(storePath)", "XDG_RUNTIME_DIR=\(runtime.path)", "PATH=/usr/bin:/bin"])
    }
    let first = try contactAdd()  // builds the sealed person index
    var times = [Double]()
    for i in 0..<30 {
        progress("contact add \(i + 1)/30")
        times.append(try contactAdd())
    }
    times.sort()
    report("contact add, 100k events (first run, builds index)", String(format: "%6.1f ms", first * 1000))
    report("contact add, 100k events (median / p90 of 30)", String(format: "%6.1f ms / %.1f ms", times[15] * 1000, times[27] * 1000))
    if keep { print("FIELDLOG_STORE=\(storePath) XDG_RUNTIME_DIR=\(runtime.path) ref \(ref)") }
} else {
    report("contact add", "skipped: build the client first (swift build -c release)")
}

// MARK: 3b. Reads on a store of any size (--only reads [--events N] [--keep DIR])

if section("reads") {
    guard FileManager.default.isExecutableFile(atPath: binary.path) else { fatalError("build the client first (swift build -c release)") }
    let directory = options.keepDir.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent("reads")
    let (log, people, master) = try makeStore("reads", count: options.events, at: directory)
    let last = Int64(1_760_000_000_000) + Int64(options.events) * 60_000
    let runtime = root.appendingPathComponent("run")
    try ShiftSession(environment: ["XDG_RUNTIME_DIR": runtime.path]).save(
        storeID: log.store.info.storeID, masterKey: .init(data: master), expiresAt: WallClock.nowMillis() + 3_600_000)
    let bench = ReadsBench(binary: binary, log: log, people: people,
                           environment: ["FIELDLOG_STORE=\(directory.path)", "XDG_RUNTIME_DIR=\(runtime.path)", "PATH=/usr/bin:/bin"],
                           month: String(LondonTime().format(last).prefix(7)))
    try bench.run(label: "\(options.events) events", report: report)
    if options.keepDir != nil {
        print("store kept; try commands on it with:")
        print("  export FIELDLOG_STORE=\(directory.path)")
        print("  export FIELDLOG_PASSPHRASE='\(passphrase)'")
    }
}

// MARK: 3c. Erasing one person (--only erase [--events N])

if section("erase") {
    guard FileManager.default.isExecutableFile(atPath: binary.path) else { fatalError("build the client first (swift build -c release)") }
    let directory = root.appendingPathComponent("erase")
    let (log, people, master) = try makeStore("erase", count: options.events, at: directory)
    let runtime = root.appendingPathComponent("run")
    try ShiftSession(environment: ["XDG_RUNTIME_DIR": runtime.path]).save(
        storeID: log.store.info.storeID, masterKey: .init(data: master), expiresAt: WallClock.nowMillis() + 3_600_000)
    let environment = ["FIELDLOG_STORE=\(directory.path)", "XDG_RUNTIME_DIR=\(runtime.path)", "PATH=/usr/bin:/bin"]
    _ = spawnCLI(binary, ["people"], environment: environment)  // the first fold, apart
    // Five people, each erased as a worker would (whole process), then the next command, which
    // builds the sealed state again without her (the erasure dropped it).
    var erase = [Double](), next = [Double]()
    for k in 0..<5 {
        let ref = String(people[people.count / 7 * (k + 1)].prefix(8))
        erase.append(spawnCLI(binary, ["person", "erase", ref, "--reason", "bench", "--yes"], environment: environment))
        next.append(spawnCLI(binary, ["people"], environment: environment))
    }
    let bytes = (try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.fileSizeKey]))
        .reduce(0) { $0 + ((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
    report("person erase, \(options.events) events (median / max of 5)", String(format: "%6.0f ms / %.0f ms", erase.sorted()[2] * 1000, erase.max()! * 1000))
    report("the next command after an erasure (median / max of 5)", String(format: "%6.0f ms / %.0f ms", next.sorted()[2] * 1000, next.max()! * 1000))
    report("store after 5 erasures", String(format: "%.1f MB", Double(bytes) / 1e6))
}

// MARK: 3d. Key rotation (--only keys [--events N]): what rotating costs, what every command pays
// to load a keyring with granted keys, and what key upkeep adds to every sync.

if section("keys") {
    let (log, _, master) = try makeStore("keys", count: options.events)
    try log.announceKeys()
    func median(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
        var times = [Double]()
        for _ in 0..<n { times.append(try seconds(body)) }
        return times.sorted()[n / 2]
    }
    let load0 = try median(21) { _ = try log.store.keyring(masterKey: .init(data: master)) }
    var rotate = [Double]()
    for _ in 0..<20 { rotate.append(try seconds { _ = try log.reloaded().rotateKeys(reason: "bench") }) }
    let load20 = try median(21) { _ = try log.store.keyring(masterKey: .init(data: master)) }
    let now = try log.reloaded()
    _ = try now.keyPlan()  // the state snapshot brought up to date, apart
    let plan = try median(11) { _ = try now.keyPlan() }
    report("keys rotate, \(options.events) events (median / max of 20)", String(format: "%6.1f ms / %.1f ms", rotate.sorted()[10] * 1000, rotate.max()! * 1000))
    report("keyring load, no grants / 40 granted keys", String(format: "%6.2f ms / %.2f ms", load0 * 1000, load20 * 1000))
    report("key upkeep's plan at a sync (state read included)", String(format: "%6.1f ms", plan * 1000))
}

// MARK: 4. Sync over HTTP (--sync, or the full run)

if options.sync && section("sync", "first-sync", "evening", "crowd") {
    let parts: Set<String> = only.map { $0 == "sync" ? [] : [$0] } ?? []
    var bench = SyncBench(root: root, partnership: partnership, passphrase: passphrase, postgres: options.postgres)
    if only == "first-sync" { bench.firstSyncEvents = options.events }
    try await bench.run(quick: quick, parts: parts, makeStore: { try makeStore($0, count: $1) })
}

// MARK: 5. Fold at 1M

if !quick && section("million") {
    let (big, _, _) = try makeStore("million", count: 1_000_000)
    let f1m = try foldTime(big)
    report("fold 1M events (\(f1m.people) people)", describe(f1m))
    try reportTimes(f1m, log: big, events: "1M")
}
progress("")
finish()
