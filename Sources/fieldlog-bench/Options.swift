// The benchmark's command line, read once: an unknown or malformed option stops it before it
// starts, and every section reads what it was given from `options`.
import Foundation

let usage = """
    usage: fieldlog-bench [--quick] [--no-sync] [--only SECTION] [--events N] [--keep [DIR]] [--micro [--fold]] [--postgres] [--scenario a|b] [--spread S] [--steps N]

      --quick         stop at 100k events (no 1M fold; crowds of 100 and 50 laptops)
      --no-sync       leave out the sync benchmarks
      --only SECTION  one of: append, fold, contact, reads, erase, keys, sync, first-sync, evening, crowd, million
      --events N      how many events the reads store holds, or the first sync carries (default 100000)
      --keep [DIR]    keep the stores; with --only reads, build the store in DIR and print how to use it
      --micro         where an append's time goes (--fold: and a 100k fold)
      --postgres      the sync benchmarks' server on PostgreSQL (run under Scripts/with-postgres;
                      FIELDLOG_PG_FSYNC=on for figures that count the disk)
      --scenario a|b  with --only crowd: just one of the two crowds
      --spread S      with --only crowd: the laptops start one after another, evenly over S
                      seconds, instead of all at once (each one timed from its own start)
      --steps N       with first-sync: the laptop's steps N times, the least CPU of each printed
    """

let sections: Set<String> = ["append", "fold", "contact", "reads", "erase", "keys", "sync", "first-sync", "evening", "crowd", "million"]

/// The options given.
struct BenchOptions: Sendable {
    var quick = false, sync = true, micro = false, fold = false, postgres = false, keep = false
    var only: String?
    var events = 100_000
    var keepDir: String?
    /// With `--only crowd`: one of the two crowds, `a` or `b` (nil: both).
    var scenario: String?
    /// With `--only crowd`: the seconds over which the laptops' starts are spread (0: all at once).
    var spread = 0.0
    /// With first-sync: how many times the laptop's steps run.
    var steps = 1

    /// Reads `arguments` (the program's, without its name); exits with the usage on a bad one.
    init(_ arguments: [String]) {
        var args = arguments
        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("fieldlog-bench: \(message)\n\n\(usage)\n".utf8))
            exit(2)
        }
        while !args.isEmpty {
            let a = args.removeFirst()
            switch a {
            case "--quick": quick = true
            case "--no-sync": sync = false
            case "--micro": micro = true
            case "--fold": fold = true
            case "--postgres": postgres = true
            case "--help", "-h": print(usage); exit(0)
            case "--only":
                guard let s = args.first, sections.contains(s) else { fail("--only needs one of: \(sections.sorted().joined(separator: ", "))") }
                only = args.removeFirst()
            case "--events":
                guard let n = args.first.flatMap(Int.init), n >= 1_000 else { fail("--events needs a number of at least 1000") }
                args.removeFirst()
                events = n
            case "--scenario":
                guard let s = args.first, ["a", "b"].contains(s) else { fail("--scenario needs a or b") }
                scenario = args.removeFirst()
            case "--spread":
                guard let n = args.first.flatMap(Double.init), (0...600).contains(n) else { fail("--spread needs a number of seconds from 0 to 600") }
                args.removeFirst()
                spread = n
            case "--steps":
                guard let n = args.first.flatMap(Int.init), (1...50).contains(n) else { fail("--steps needs a number from 1 to 50") }
                args.removeFirst()
                steps = n
            case "--keep":
                keep = true
                if let d = args.first, !d.hasPrefix("--") { keepDir = args.removeFirst() }
            default: fail("unknown option \(a)")
            }
        }
    }
}

let options = BenchOptions(Array(CommandLine.arguments.dropFirst()))
