import ArgumentParser
import Foundation
import OutreachCore

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log",
        abstract: "The events this laptop wrote or received last, with their refs (to retract one), newest first.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "How many.") var limit = 20

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            // The last ones stored (written here or received), not every event: opening 100k costs seconds.
            let opened = try log.store.latestEvents(limit).compactMap { log.keyring.open($0) }
                .sorted { ($0.payload.occurredAt, $0.event.id) > ($1.payload.occurredAt, $1.event.id) }.prefix(limit)
            let rows = opened.map { o -> [String] in
                let p = o.payload
                let who = (p["person"]?.stringValue).map { lookup.label(personID: $0) } ?? ""
                let retracted = lookup.state.retracted.contains(o.event.id) ? " (retracted)" : ""
                return [lookup.ref(o.event.id), lookup.time.format(p.occurredAt), p.type + retracted, who, p.author]
            }
            if output.format == .json {
                Output.json(["schema": "fieldlog.log/1", "events": .array(rows.map { r in
                    ["ref": .string(r[0]), "at": .string(r[1]), "type": .string(r[2]), "person": .string(r[3]), "by": .string(r[4])]
                })])
            } else {
                Output.table(["ref", "when", "type", "person", "by"], rows)
            }
        }
    }
}

struct Retract: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retract",
        abstract: "Retract an event written in error: it stops counting everywhere and stays in the log.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The event's ref (fieldlog log lists them).") var ref: String
    @Option(help: "error, wrong-person or duplicate.") var reason: String

    func run() throws {
        try guarded {
            let why = try RetractReason.parse(reason)
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let target = try log.store.events(idPrefix: try lookup.eventID(ref, noun: "event").hex)[0]
            guard !lookup.state.retracted.contains(target.id) else { throw FieldlogError.badInput("event \(ref) is already retracted") }
            let event = try log.retract(target, reason: why, at: WallClock.nowMillis(), state: lookup.state)
            let short = String(event.id.hex.prefix(7))
            if output.format == .json { Output.json(["ref": .string(short), "retracted": .string(target.id.hex)]) } else {
                Output.line("event \(lookup.ref(target.id)) retracted (\(why.rawValue)) by \(short)")
            }
        }
    }
}

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "conflicts",
        abstract: "Fields two workers changed at the same time: both values are kept until one is chosen.",
        discussion: "Resolve with: fieldlog resolve REF FIELD VALUE (or fieldlog person set).")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let conflicts = lookup.state.conflicts
            if output.format == .json {
                Output.json(["schema": "fieldlog.conflicts/1", "conflicts": .array(conflicts.map { c in
                    ["person": .string(lookup.personRefs.short(c.person)), "field": .string(c.field.description),
                     "values": .array(c.writes.map { ["value": $0.value, "by": .string($0.author), "org": .string($0.org), "at": .string(lookup.time.iso($0.occurredAt))] })]
                })])
                return
            }
            if conflicts.isEmpty { Output.line("no conflicts"); return }
            for c in conflicts {
                let values = c.writes.map { "\($0.value.stringValue ?? $0.value.canonicalString()) (\($0.author), \(lookup.time.format($0.occurredAt)))" }
                Output.line("\(lookup.label(personID: c.person)) \(c.field): " + values.joined(separator: " vs "))
            }
            Output.line("resolve with: fieldlog resolve REF FIELD VALUE")
        }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resolve", abstract: "Choose the value of a conflicting field.",
                                                    discussion: "fieldlog resolve 7f3a risk high")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref.") var ref: String
    @Argument(help: "risk, priority, lead or casework.") var field: String
    @Argument(help: "The value to keep.") var value: String

    func run() throws {
        try guarded {
            let register = try Register.parse(field)
            let change = try PersonSet.changes(risk: register == .risk ? value : nil, priority: register == .priority ? value : nil,
                                               lead: register == .lead ? value : nil, casework: register == .casework ? value : nil)[0]
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let person = try lookup.person(ref)
            guard person.registers[register]?.isConflict == true else {
                throw FieldlogError(.badInput, "\(lookup.label(person)) has no conflict on \(register.rawValue)", hint: "use fieldlog person set to change it")
            }
            let e = try log.setRegister(register, of: person.id, to: .string(change.1), reason: "resolved conflict", at: WallClock.nowMillis())
            if output.format == .json { Output.json(["ref": .string(String(e.id.hex.prefix(7))), "person": .string(lookup.ref(person))]) } else {
                Output.line("\(lookup.label(person)): \(register.rawValue) \(change.1) (conflict resolved)")
            }
        }
    }
}
