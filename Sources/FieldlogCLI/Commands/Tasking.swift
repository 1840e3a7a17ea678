import ArgumentParser
import Foundation
import OutreachCore

struct TaskingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasking", abstract: "The priority group for the weekly tasking meeting, and its actions.",
        subcommands: [TaskingList.self, TaskingAdd.self, TaskingDone.self], defaultSubcommand: TaskingList.self)
}

struct TaskingList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Each member's risk, lead professional, last contact, open referrals and actions, overdue reviews.",
        discussion: "Working names only for your own charity's people; the other charity's show as e.g. \"joanna 7f3a\".")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "table, json or csv.") var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let now = WallClock.nowMillis()
            let list = lookup.state.taskingList(now: now)
            let time = lookup.time
            func who(_ e: TaskingEntry) -> String { e.name.map { "\($0) (\(lookup.personRefs.short(e.person)))" } ?? "\(e.org) \(lookup.personRefs.short(e.person))" }
            func risk(_ e: TaskingEntry) -> String { e.risk.isEmpty ? "not set" : e.risk.joined(separator: " | ") + (e.risk.count > 1 ? " (conflict)" : "") }
            func day(_ t: Int64?) -> String { t.map { String(time.format($0).prefix(10)) } ?? "" }
            func actions(_ e: TaskingEntry) -> [String] {
                e.openActions.map { a in "\(a.action)" + (a.owner.map { " [\($0)]" } ?? "") + (a.due.map { " by \(day($0))" } ?? "") + " (\(lookup.ref(a.id)))" }
            }
            switch format {
            case .json:
                Output.json(["schema": "fieldlog.tasking/1", "at": .string(time.iso(now)), "members": .array(list.map { e in
                    [
                        "ref": .string(lookup.personRefs.short(e.person)), "org": .string(e.org), "name": .str(e.name), "risk": .array(e.risk.map { .string($0) }),
                        "riskReview": e.riskReview.map { .string(time.iso($0)) } ?? .null, "reviewOverdue": .bool(e.reviewOverdue),
                        "lead": .str(e.lead), "lastContact": e.lastContact.map { .string(time.iso($0)) } ?? .null, "lastContactOrg": .str(e.lastContactOrg),
                        "openReferrals": .array(e.openReferrals.map { .string($0.rawValue) }),
                        "openActions": .array(e.openActions.map { a in
                            ["ref": .string(lookup.ref(a.id)), "action": .string(a.action), "owner": .str(a.owner),
                             "due": a.due.map { .string(time.iso($0)) } ?? .null, "org": .string(a.org)]
                        }),
                    ]
                })])
            case .csv:
                var lines = ["person,org,risk,review,review_overdue,lead,last_contact,open_referrals,open_actions"]
                for e in list {
                    let fields = [who(e), e.org, risk(e), day(e.riskReview), e.reviewOverdue ? "yes" : "no", e.lead ?? "", day(e.lastContact),
                                  e.openReferrals.map(\.rawValue).joined(separator: "; "), actions(e).joined(separator: "; ")]
                    lines.append(ReportOutput.csvLine(fields))
                }
                print(lines.joined(separator: "\n"))
            case .table:
                if list.isEmpty { Output.line("nobody is in the priority group"); return }
                Output.line("priority group, \(list.count) \(list.count == 1 ? "woman" : "women"), \(time.format(now))")
                Output.table(["who", "risk", "review", "lead", "last seen", "open referrals", "actions"], list.map { e in
                    [who(e), risk(e), e.riskReview.map { day($0) + (e.reviewOverdue ? " OVERDUE" : "") } ?? "", e.lead ?? "none",
                     e.lastContact.map { day($0) + (e.lastContactOrg.map { " (\($0))" } ?? "") } ?? "never",
                     e.openReferrals.map(\.rawValue).joined(separator: ", "), actions(e).joined(separator: "; ")]
                })
            }
        }
    }
}

struct TaskingAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Record an action agreed for a member (both charities see it: no names in the text).",
        discussion: "fieldlog tasking add ROSE \"offer a GP appointment\" --owner basis --due 2026-12-01")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The person's ref or working name.", completion: Complete.people) var ref: String
    @Argument(help: "What was agreed.") var action: String
    @Option(help: "Who does it (a charity, a role).") var owner: String?
    @Option(help: "By when, YYYY-MM-DD.") var due: String?

    func run() throws {
        try guarded {
            let dueAt = try due.map { try LondonTime().day($0) }
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let person = try lookup.person(ref)
            let event = try log.addTaskingAction(person: person.id, action: action, owner: owner, due: dueAt, at: WallClock.nowMillis())
            Output.line("action \(event.id.hex.prefix(7)) recorded for \(lookup.label(person))")
        }
    }
}

struct TaskingDone: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "done", abstract: "Mark an action done.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The action's ref (fieldlog tasking).") var ref: String

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let id = try lookup.eventID(ref, noun: "action")
            try log.completeTaskingAction(id, state: lookup.state, at: WallClock.nowMillis())
            Output.line("action \(lookup.ref(id)) done")
        }
    }
}
