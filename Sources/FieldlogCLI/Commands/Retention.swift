import ArgumentParser
import Foundation
import OutreachCore

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Your organisation's retention policy: who falls due for erasure, and when.",
        discussion: """
            A person your organisation registered is erased (as by fieldlog person erase, reason "retention") once \
            the policy's time has passed since her last contact, casework or incident. Her counts stay. It runs by \
            itself at the first unlock of a day on a laptop that synced in the last 7 days.
            """,
        subcommands: [RetentionShow.self, RetentionSet.self, RetentionApply.self], defaultSubcommand: RetentionShow.self)
}

struct RetentionShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The policy, and who falls due (by ref) now and soon.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Also list who falls due within this long: 30d, 12w.") var within = "12w"

    func run() throws {
        try guarded {
            let window = try LondonTime.parseDuration(within)
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let (policy, schedule) = log.retentionSchedule(in: lookup.state)
            let now = WallClock.nowMillis()
            let listed = schedule.prefix { $0.dueAt <= now + window }
            let time = lookup.time
            if output.format == .json {
                Output.json([
                    "schema": "fieldlog.retention/1", "org": .string(log.keyring.org), "months": .num(policy.months),
                    "default": .bool(policy.id == nil), "setBy": policy.id == nil ? .null : .string(policy.by),
                    "setAt": policy.id == nil ? .null : .string(time.iso(policy.at)), "people": .num(schedule.count),
                    "due": .array(listed.map { d in
                        ["ref": .string(lookup.ref(lookup.state.people[d.person]!)), "lastActivity": .string(time.iso(d.lastActivity)),
                         "dueAt": .string(time.iso(d.dueAt)), "dueNow": .bool(d.isDue(at: now))]
                    }),
                ])
                return
            }
            Output.line("\(log.keyring.org) erases a person \(policy.text) after her last contact, casework or incident"
                        + (policy.id == nil ? " (the default; fieldlog retention set --after 3y changes it)"
                                            : " (set by \(policy.by) on \(time.format(policy.at)))"))
            let dueNow = listed.prefix { $0.isDue(at: now) }.count
            if listed.isEmpty {
                Output.line("nobody falls due in the next \(within) (\(schedule.count) \(schedule.count == 1 ? "person" : "people") registered)")
                return
            }
            // Refs only: this list may be pasted into a log or an email.
            Output.table(["ref", "last seen", "erased on"], listed.map { d in
                [lookup.ref(lookup.state.people[d.person]!), time.format(d.lastActivity), d.isDue(at: now) ? "due now" : time.format(d.dueAt)]
            })
            if dueNow > 0 {
                Output.line("\(dueNow) due now: fieldlog retention apply erases \(dueNow == 1 ? "her" : "them") (or the first unlock tomorrow)")
            }
        }
    }
}

struct RetentionSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Change the policy for every laptop of your organisation (at their next sync).")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "How long after her last contact, casework or incident: 6y, 3y, 18mo.") var after: String

    func run() throws {
        try guarded {
            let months = try RetentionPolicy.parseMonths(after)
            let log = try Session.unlocked(storeOptions)
            try log.setRetention(months: months, at: WallClock.nowMillis())
            let (policy, schedule) = log.retentionSchedule(in: try log.state(.withoutContacts))
            let due = schedule.prefix { $0.isDue(at: WallClock.nowMillis()) }.count
            Output.line("\(log.keyring.org) now erases a person \(policy.text) after her last contact, casework or incident"
                        + (due > 0 ? "; \(due) fall\(due == 1 ? "s" : "") due now (fieldlog retention lists them)" : ""))
        }
    }
}

struct RetentionApply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply", abstract: "Erase now everyone the policy says is due (reason \"retention\"; counts stay).")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Flag(help: "Do not ask to confirm (for scripts).") var yes = false

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let now = WallClock.nowMillis()
            let (policy, schedule) = log.retentionSchedule(in: try log.state(.withoutContacts))
            let due = schedule.prefix { $0.isDue(at: now) }.count
            if due == 0 {
                if output.format == .json { Output.json(["erased": .num(0), "purged": .num(0)]) } else { Output.line("nobody is due for erasure") }
                return
            }
            let lastSync = try log.store.lastSync()?.at
            if let lastSync, now - lastSync > FieldLog.retentionFreshness {
                Output.note("warning: this laptop last synced \(LondonTime().format(lastSync)): a recent contact recorded elsewhere may not be here yet; sync first")
            }
            guard try Confirm.typed("erase", "Erase \(due) \(due == 1 ? "person" : "people") with nothing for \(policy.text): "
                                    + "what identifies them is purged on every laptop and the server", yes: yes)
            else { return Output.line("not erased") }
            let erased = try log.applyRetention(now: now)
            let purged = erased.map(\.events.count).reduce(0, +)
            if output.format == .json {
                Output.json(["erased": .num(erased.count), "purged": .num(purged)])
            } else {
                Output.line("erased \(erased.count) \(erased.count == 1 ? "person" : "people") (\(purged) events purged here; "
                            + "other laptops and the server purge them at their next sync): fieldlog audit lists them")
            }
        }
    }
}

/// The daily run at the first unlock (`FieldLog.runDailyRetention`), said in a line or not at all.
enum RetentionAtUnlock {
    static func run(log: FieldLog) {
        do {
            switch try log.runDailyRetention(now: WallClock.nowMillis()) {
            case .alreadyRan, .ran([]), .notFresh(_, 0): break
            case .ran(let erased):
                Output.line("retention: erased \(erased.count) \(erased.count == 1 ? "person" : "people") with no contact for the policy's time (fieldlog audit lists them)")
            case .notFresh(let lastSync, let due):
                Output.line("retention: \(due) due but not erased: " + (lastSync == nil ? "this laptop has never synced" : "the last sync was more than 7 days ago")
                            + " (sync, or run fieldlog retention apply)")
            }
        } catch {
            // Retention never stops a shift from starting; it is tried again at the next unlock.
            Output.note("retention did not run: \(error)")
        }
    }
}
