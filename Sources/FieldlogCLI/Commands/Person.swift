import ArgumentParser
import Foundation
import OutreachCore

struct PersonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "person", abstract: "Register, update and look up a person.",
        subcommands: [PersonAdd.self, PersonSet.self, PersonShow.self, PersonLink.self, PersonDistinct.self, PersonErase.self])
}

struct PersonAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Register a person under a working name.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "The working name she gives.") var name: String
    @Option(help: "How to recognise her (kept within your organisation).") var descriptor: String?
    @Option(help: "A free-text note (kept within your organisation).") var note: String?
    @Option(help: "With consent, for the partnership code: initials, e.g. AB.") var initials: String?
    @Option(help: "With consent, for the partnership code: date of birth YYYY-MM-DD.") var dob: String?
    @Option(help: "With consent, for the partnership code: F, M or X.") var sex: String?
    @Option(help: "street, indoor or online.") var sector: String?
    @Option(help: "When (default now): 21:40, yesterday 21:40, 2026-11-20 21:40.") var at: String?

    func validate() throws {
        let code = [initials, dob, sex].compactMap { $0 }
        if !code.isEmpty && code.count != 3 { throw ValidationError("a partnership code needs all of --initials, --dob and --sex") }
    }

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let when = try Parse.time(at)
            let code = try initials.map { try PartnershipCode(initials: $0, dateOfBirth: dob!, sex: sex!) }
            var profile = [String: JSONValue]()
            if let sector { profile["sector"] = .string(try Sector.parse(sector).rawValue) }
            let known = Array(try log.personIndex().ids)
            let (id, _) = try log.registerPerson(name: name, descriptor: descriptor, note: note, code: code, profile: profile, avoiding: known, at: when)
            guard code != nil else {
                // No partnership code, so no merge: the ref comes from the person index (no fold).
                let ref = Refs(known + [id], lasting: 4).short(id)
                if output.format == .json {
                    Output.json(["ref": .string(ref), "id": .string(id), "name": .string(name), "mergedWith": .null])
                } else {
                    Output.line("person \(ref) added: \(name)")
                }
                return
            }
            let lookup = try Lookup(log: log, .withoutContacts)
            let person = lookup.state.people[lookup.state.canonical(id)]!
            let ref = lookup.personRefs.short(id)
            if output.format == .json {
                Output.json(["ref": .string(ref), "id": .string(id), "name": .string(name),
                             "mergedWith": person.id == id ? .null : .string(lookup.ref(person))])
            } else {
                Output.line("person \(ref) added: \(name)")
                if person.id != id { Output.line("same person as \(lookup.label(person)) by partnership code") }
            }
        }
    }
}

struct PersonSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set a person's risk level, priority group, lead professional or casework.",
        discussion: "Writing a field again after `fieldlog conflicts` shows it resolves the conflict.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref.", completion: Complete.people) var ref: String
    @Option(help: "low, medium or high.") var risk: String?
    @Option(help: "in or out of the priority group.") var priority: String?
    @Option(help: "The lead professional's name (\"\" for none).") var lead: String?
    @Option(help: "open or closed.") var casework: String?
    @Option(help: "Why (kept with the change).") var reason: String?
    @Option(help: "Next review date, YYYY-MM-DD.") var review: String?
    @Option(help: "When (default now).") var at: String?

    func validate() throws {
        if [risk, priority, lead, casework].allSatisfy({ $0 == nil }) {
            throw ValidationError("give at least one of --risk, --priority, --lead, --casework")
        }
    }

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let person = try lookup.person(ref)
            let changes = try PersonSet.changes(risk: risk, priority: priority, lead: lead, casework: casework)
            let when = try Parse.time(at)
            let reviewAt = try review.map { try LondonTime().day($0) }
            var refs = [JSONValue]()
            for (register, value) in changes {
                let e = try log.setRegister(register, of: person.id, to: .string(value), reason: reason, review: reviewAt, at: when)
                refs.append(.string(String(e.id.hex.prefix(8))))
                if output.format == .table { Output.line("\(lookup.label(person)): \(register.rawValue) \(value.isEmpty ? "cleared" : value)") }
            }
            if output.format == .json { Output.json(["ref": .string(lookup.ref(person)), "events": .array(refs)]) }
        }
    }

    static func changes(risk: String?, priority: String?, lead: String?, casework: String?) throws -> [(Register, String)] {
        var out = [(Register, String)]()
        if let risk { out.append((.risk, try RiskLevel.parse(risk).rawValue)) }
        if let priority {
            guard ["in", "out"].contains(priority.lowercased()) else { throw FieldlogError.badInput("--priority is in or out") }
            out.append((.priority, priority.lowercased()))
        }
        if let lead { out.append((.lead, lead.trimmingCharacters(in: .whitespaces))) }
        if let casework {
            guard ["open", "closed"].contains(casework.lowercased()) else { throw FieldlogError.badInput("--casework is open or closed") }
            out.append((.casework, casework.lowercased()))
        }
        return out
    }
}

struct PersonLink: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "link", abstract: "Record that two refs are the same person.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument var first: String
    @Argument var second: String

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let a = try lookup.person(first), b = try lookup.person(second)
            guard a.id != b.id else { throw FieldlogError.badInput("\(first) and \(second) are already the same person") }
            try log.link(a.id, b.id, at: WallClock.nowMillis())
            Output.line("linked \(lookup.label(a)) and \(lookup.label(b))")
        }
    }
}

struct PersonDistinct: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distinct", abstract: "Record that two of your people are not the same woman (people --duplicates stops listing them).")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(completion: Complete.people) var first: String
    @Argument(completion: Complete.people) var second: String

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let a = try lookup.person(first), b = try lookup.person(second)
            guard a.id != b.id else { throw FieldlogError.badInput("\(first) and \(second) are the same person already") }
            guard a.org == log.keyring.org, b.org == log.keyring.org else {
                throw FieldlogError(.notPermitted, "only people your organisation registered can be judged distinct",
                                    hint: "the other charity's records carry no names here to compare")
            }
            try log.markDistinct(a.id, b.id, at: WallClock.nowMillis())
            Output.line("\(lookup.label(a)) and \(lookup.label(b)) are two women: people --duplicates will not list them again")
        }
    }
}

struct PersonShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One person's details and history.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref.", completion: Complete.people) var ref: String

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let (lookup, person) = try Lookup.person(ref, log: log)
            let contacts = lookup.state.contacts(of: person.id)
            let referrals = lookup.state.referrals.values.filter { $0.person == person.id }.sorted { $0.occurredAt < $1.occurredAt }
            let incidents = lookup.state.incidents.values.filter { $0.person == person.id }.sorted { $0.occurredAt < $1.occurredAt }
            let t = lookup.time
            if output.format == .json {
                Output.json([
                    "schema": "fieldlog.person/1", "ref": .string(lookup.ref(person)), "id": .string(person.id),
                    "org": .string(person.org), "name": .str(person.name), "descriptor": .str(person.descriptor), "note": .str(person.note),
                    "erased": person.erased.map { ["at": .string(t.iso($0.at)), "by": .string($0.by), "events": .num($0.events)] } ?? .null,
                    "erasedBy": .object(person.erasedBy.mapValues { .string(t.iso($0)) }),
                    "aliases": .array(person.aliases.map { .string($0) }),
                    "registers": .object(Dictionary(uniqueKeysWithValues: person.registers.map { ($0.key.rawValue, JSONValue.array($0.value.live.map(\.value))) })),
                    "contacts": .array(contacts.map { c in
                        ["ref": .string(lookup.ref(c.id)), "at": .string(t.iso(c.occurredAt)), "setting": .string(c.setting.rawValue), "zone": .str(c.zone),
                         "services": .object(Dictionary(uniqueKeysWithValues: c.services.map { ($0.key.rawValue, JSONValue.num($0.value)) })),
                         "needs": .array(c.needs.map { .string($0.rawValue) }),
                         "notes": .array(c.notes.map { .string($0) })]
                    }),
                    "referrals": .array(referrals.map { ["ref": .string(lookup.ref($0.id)), "destination": .string($0.destination.rawValue),
                                                          "outcome": $0.outcome?.value ?? .null] }),
                    "incidents": .array(incidents.map { ["ref": .string(lookup.ref($0.id)), "type": .string($0.kind.rawValue), "consent": .string($0.consent.rawValue)] }),
                ])
                return
            }
            Output.line("\(lookup.label(person))" + (person.descriptor.map { " — \($0)" } ?? ""))
            if let e = person.erased {
                Output.line("erased \(t.format(e.at)) by \(e.by): what identified her is gone; her contacts still count, without her")
            }
            for (org, at) in person.erasedBy.sorted(by: { $0.key < $1.key }) where org != log.keyring.org {
                Output.line("\(org) erased its record of her on \(t.format(at)) (at her request or by its retention policy); \(log.keyring.org)'s own record is untouched")
            }
            if let note = person.note { Output.line("note: \(note)") }
            if !person.aliases.isEmpty { Output.line("also recorded as: " + person.aliases.map { lookup.personRefs.short($0) }.joined(separator: ", ")) }
            let registers = Register.allCases.compactMap { r in person.registers[r].map { "\(r.rawValue) \($0.display)" } }
            if !registers.isEmpty { Output.line(registers.joined(separator: " · ")) }
            Output.line("\(contacts.count) contact\(contacts.count == 1 ? "" : "s")")
            Output.table(["ref", "when", "setting", "zone", "given", "needs"], contacts.reversed().map { c in
                [lookup.ref(c.id), t.format(c.occurredAt), c.setting.rawValue, c.zone ?? "",
                 c.services.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                 c.needs.map(\.rawValue).joined(separator: ",") + (c.notes.isEmpty ? "" : "  “\(c.notes.joined(separator: "; "))”")]
            })
            for r in referrals {
                Output.line("referral \(lookup.ref(r.id)): \(r.destination) (\(r.method)) \(t.format(r.occurredAt)) — \(r.outcome?.display ?? "no outcome yet")")
            }
            for i in incidents { Output.line("incident \(lookup.ref(i.id)): \(i.kind), \(i.consent.rawValue), \(t.format(i.occurredAt))") }
        }
    }
}

struct People: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "people", abstract: "List people, most recently seen first.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Only people contacted within this long, e.g. 30d.") var seenSince: String?
    @Option(help: "Only names containing this text.") var name: String?
    @Flag(help: "Pairs of your organisation's people who are probably the same woman, to link or mark distinct.") var duplicates = false

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            if duplicates { return try listDuplicates(log) }
            let lookup = try Lookup(log: log, .withoutContacts)
            let last = Dictionary(uniqueKeysWithValues: lookup.state.people.keys.compactMap { id in lookup.state.lastContact(of: id).map { (id, $0.at) } })
            let cutoff = try seenSince.map { WallClock.nowMillis() - (try LondonTime.parseDuration($0)) }
            var ids = Array(lookup.state.people.keys)
            if let cutoff { ids = ids.filter { (last[$0] ?? .min) >= cutoff } }
            if let name { ids = ids.filter { lookup.state.people[$0]?.name?.localizedCaseInsensitiveContains(name) == true } }
            // (Sorting ids with their keys, not people, and no lookup in the comparison: moving 20k
            // people about, or two dictionary lookups per comparison, cost a fifth of the command.)
            ids = ids.map { (last[$0] ?? .min, $0) }.sorted { ($0.0, $1.1) > ($1.0, $0.1) }.map(\.1)
            let people = ids.map { lookup.state.people[$0]! }
            if output.format == .json {
                Output.json(["schema": "fieldlog.people/1", "people": .array(people.map { p in
                    ["ref": .string(lookup.ref(p)), "id": .string(p.id), "org": .string(p.org), "name": .str(p.name),
                     "lastContact": last[p.id].map { .string(lookup.time.iso($0)) } ?? .null,
                     "risk": p.registers[.risk]?.value ?? .null, "priority": .bool(p.registers[.priority]?.value == "in"),
                     "conflict": .bool(p.registers.values.contains { $0.isConflict })]
                })])
                return
            }
            if people.isEmpty { Output.line("no people yet — fieldlog person add --name NAME"); return }
            Output.table(["ref", "name", "last seen", "risk", "flags"], people.map { p in
                [lookup.ref(p), p.name ?? (p.erased != nil ? "(erased)" : "(\(p.org))"), last[p.id].map(lookup.time.format) ?? "never", p.registers[.risk]?.display ?? "",
                 [p.registers[.priority]?.value == "in" ? "priority" : nil,
                  p.registers.values.contains { $0.isConflict } ? "conflict" : nil].compactMap { $0 }.joined(separator: ",")]
            })
        }
    }
}

extension People {
    func listDuplicates(_ log: FieldLog) throws {
        let lookup = try Lookup(log: log)  // contacts too: usual zones and when each was seen
        let pairs = LikelyDuplicates.find(in: lookup.state, org: log.keyring.org)
        if output.format == .json {
            Output.json(["schema": "fieldlog.duplicates/1", "pairs": .array(pairs.map { d in
                ["first": ["ref": .string(lookup.ref(d.first)), "id": .string(d.first.id), "name": .str(d.first.name)],
                 "second": ["ref": .string(lookup.ref(d.second)), "id": .string(d.second.id), "name": .str(d.second.name)],
                 "score": .num(Int((d.score * 100).rounded())), "reasons": .array(d.reasons.map { .string($0) })]
            })])
            return
        }
        if pairs.isEmpty { Output.line("no likely duplicates among \(log.keyring.org)'s people"); return }
        Output.table(["ref", "name", "ref", "name", "alike", "why"], pairs.map { d in
            [lookup.ref(d.first), d.first.name ?? "", lookup.ref(d.second), d.second.name ?? "", "\(Int((d.score * 100).rounded()))%",
             d.reasons.joined(separator: "; ")]
        })
        Output.line("the same woman: fieldlog person link REF REF · two women: fieldlog person distinct REF REF")
    }
}

struct PersonErase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase", abstract: "Erase what identifies a person, on every laptop and the server (her counts stay).",
        discussion: """
            Purges her working name, descriptor, notes and partnership code from this store now, and from every \
            other replica and the server at their next sync. Her contacts, needs, services, referrals and incidents \
            stay as anonymous facts, so every report keeps its figures. It cannot be undone.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref.", completion: Complete.people) var ref: String
    @Option(help: "Why (kept within your organisation; listed by fieldlog audit).") var reason: String
    @Flag(help: "Do not ask to confirm (for scripts).") var yes = false

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let (lookup, person) = try Lookup.person(ref, log: log)
            let plan = try log.planErasure(of: person.id)
            let label = lookup.label(person)
            guard try Confirm.typed("erase", "Erase \(label): \(plan.events.count) events purged on every laptop and the server", yes: yes)
            else { return Output.line("not erased") }
            let written = try log.erase(plan, reason: reason, at: WallClock.nowMillis())
            if output.format == .json {
                Output.json(["ref": .string(lookup.ref(person)), "purged": .num(plan.events.count), "keptLinks": .num(plan.keptLinks.count),
                             "event": .string(String(written.last!.id.hex.prefix(8)))])
            } else {
                Output.line("erased \(lookup.ref(person)): \(plan.events.count) events purged here; other laptops and the server purge them at their next sync")
            }
        }
    }
}
