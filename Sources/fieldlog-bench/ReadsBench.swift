import Foundation
import OutreachCore

/// Runs the `fieldlog` binary as a user would (whole process, posix_spawn: on Linux Foundation's
/// Process spends ~50 ms closing descriptors before exec), output to /dev/null. Seconds taken.
func spawnCLI(_ binary: URL, _ arguments: [String], environment: [String]) -> Double {
    let argv = [binary.path] + arguments
    let cArgs = argv.map { strdup($0) } + [nil]
    let cEnv = environment.map { strdup($0) } + [nil]
    defer { (cArgs + cEnv).forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    defer { posix_spawn_file_actions_destroy(&actions) }
    var status: Int32 = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var pid: pid_t = 0
    guard posix_spawn(&pid, binary.path, &actions, nil, cArgs, cEnv) == 0 else { fatalError("cannot run \(binary.path)") }
    waitpid(pid, &status, 0)
    let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    guard status == 0 else { fatalError("fieldlog \(arguments.joined(separator: " ")) failed with status \(status)") }
    return t
}

/// `--only reads`: the whole-process time of the commands a worker reads with, on a store of
/// `events` events, then again right after a retraction, a correction and a link.
struct ReadsBench {
    let binary: URL
    let log: FieldLog
    let people: [String]
    let environment: [String]
    let month: String

    /// Runs per median: fewer on a store of a million events, where each run takes seconds.
    var runs: Int { people.count > 4_000 ? 3 : 7 }

    func median(_ arguments: [String]) -> Double {
        let times = (0..<runs).map { _ in spawnCLI(binary, arguments, environment: environment) }.sorted()
        return times[runs / 2]
    }

    var commands: [(String, [String])] {
        let ref = String(people[people.count / 2].prefix(8))
        return [
            ("people", ["people"]), ("person show", ["person", "show", ref]), ("log", ["log"]), ("alerts", ["alerts"]),
            ("tasking", ["tasking"]), ("conflicts", ["conflicts"]), ("report --month", ["report", "--month", month]),
            ("contact add", ["contact", "add", ref, "--setting", "van", "--zone", "Z3", "--service", "condoms=10"]),
            // What the shell runs at <Tab> (issue 13: under 50 ms at 100k): the names starting "Person 12".
            ("complete a name", ["---completion", "person", "show", "--", "positional@0", "3", "2", "fieldlog", "person", "show", "Person 12"]),
        ]
    }

    func run(label: String, report: (String, String) -> Void) throws {
        // The first command after building folds everything once (and says so); time it apart.
        let first = spawnCLI(binary, ["people"], environment: environment)
        report("first command after building (\(label))", String(format: "%6.0f ms", first * 1000))
        try line("as built", report: report)
        let all = try log.store.allEvents()
        func event(_ type: EventType, _ skip: Int) -> Event {
            all.filter { log.keyring.open($0)?.payload.eventType == type }.dropFirst(skip).first!
        }
        try log.retract(event(.contactLogged, 5), reason: .error, at: WallClock.nowMillis(), state: FieldState())
        try line("after a retraction", report: report)
        try log.correct(event(.contactLogged, 9), fields: ["setting": "foot"], reason: "typo", at: WallClock.nowMillis(), state: FieldState())
        try line("after a correction", report: report)
        try log.link(people[3], people[4], at: WallClock.nowMillis())
        try line("after a link", report: report)
    }

    func line(_ when: String, report: (String, String) -> Void) throws {
        let figures = commands.map { name, arguments in
            // The first run after a change folds it in; the median is of the runs that follow.
            let after = spawnCLI(binary, arguments, environment: environment)
            return String(format: "%@ %.0f/%.0f", name, after * 1000, median(arguments) * 1000)
        }
        report("reads, ms (first/median of \(runs)), \(when)", figures.joined(separator: ", "))
    }
}
