import ArgumentParser
import Foundation
import OutreachCore

struct IncidentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "incident", abstract: "Record incidents; export one to the police with her consent.",
                                                    subcommands: [IncidentAdd.self, IncidentConsent.self, IncidentExport.self])
}

struct IncidentAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Record an incident; at L1 and above, warn the other van too.",
        discussion: """
            Consent: L0 record only · L1 alert others (no victim identity) · L2 anonymous intelligence to police · L3 full report.
            Types: \(IncidentKind.allCases.map(\.rawValue).joined(separator: ", ")).
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The person's ref, if she is known.", completion: Complete.people) var ref: String?
    @Option(name: .customLong("type"), help: "assault, robbery, threats, …") var kind: String
    @Option(help: "L0, L1, L2 or L3.") var consent: String
    @Option(help: "When it happened (default now).") var at: String?
    @Option(help: "The coarse zone: one of fieldlog zones.", completion: Complete.zones) var zone: String?
    @Option(help: "What the offender looked like.") var offender: String?
    @Option(help: "Vehicle: make, colour, plate.") var vehicle: String?
    @Option(help: "Phone number or online handle used.") var handle: String?
    @Option(help: "A note (kept within your organisation).") var note: String?
    @Option(help: "How long the alert stays up (default 28d).") var expires = "28d"

    func run() throws {
        try guarded {
            var incident = NewIncident(person: nil, kind: try IncidentKind.parse(kind), consent: try ConsentLevel.parse(consent))
            incident.zone = zone
            incident.offender = offender
            incident.vehicle = vehicle
            incident.handle = handle
            incident.note = note
            incident.alertLifetime = try LondonTime.parseDuration(expires)
            let now = WallClock.nowMillis()
            let when = try Parse.time(at, now: now)
            let log = try Session.unlocked(storeOptions)
            let index = try log.personIndex()
            incident.zone = try zone.map(index.zone)
            if let ref { incident.person = try index.resolve(ref) }
            let (reported, _, alert) = try log.reportIncident(incident, at: when, now: now)
            if let alert { try log.store.markAlertsShown([alert.id]) }  // its own worker has seen it
            let short = String(reported.id.hex.prefix(7))
            if output.format == .json {
                Output.json(["ref": .string(short), "id": .string(reported.id.hex), "alert": alert.map { .string(String($0.id.hex.prefix(7))) } ?? .null])
            } else {
                Output.line("incident \(short) recorded (\(incident.kind.rawValue), \(incident.consent.rawValue))")
                if let alert { Output.line("alert \(alert.id.hex.prefix(7)) issued to both charities until \(LondonTime().format(now + incident.alertLifetime))") }
            }
        }
    }
}

struct IncidentConsent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent", abstract: "Record that she changed her consent for an incident (withdrawn, or given later).",
        discussion: "fieldlog incident consent REF L1 --reason \"withdrawn on the phone\"")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The incident's ref (fieldlog log).") var ref: String
    @Argument(help: "L0, L1, L2 or L3.") var level: String
    @Option(help: "Why (kept with the change).") var reason = "consent changed"

    func run() throws {
        try guarded {
            let consent = try ConsentLevel.parse(level)
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let id = try lookup.eventID(ref, noun: "event")
            try log.setIncidentConsent(id, to: consent, reason: reason, state: lookup.state, at: WallClock.nowMillis())
            Output.line("incident \(lookup.ref(id)) consent is now \(consent.rawValue)")
        }
    }
}

struct IncidentExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Prepare one incident for the police liaison officer, at the consent level she gave.",
        discussion: """
            L2: offender, vehicle and method, no victim identity. L3: with her identity. L0, L1 and
            withdrawn consent are refused. Every export is recorded: fieldlog audit lists them.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The incident's ref (fieldlog log).") var ref: String
    @Option(help: "Who receives it, e.g. \"PC Khan, Leeds District\".") var to: String?
    @Option(help: "text or json.") var format: ExportFormat = .text

    enum ExportFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let id = try lookup.eventID(ref, noun: "incident")
            let (export, _) = try log.exportIncident(id, recipient: to, state: lookup.state, at: WallClock.nowMillis())
            switch format {
            case .json: Output.json(export.json)
            case .text: Output.line(export.text)
            }
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "This charity's police exports and erasures: who, what, when, why (never whom an erasure was of).")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let exports = lookup.state.exports.values.sorted { ($0.exportedAt, $0.id) > ($1.exportedAt, $1.id) }
            // Erasures name no person: the erased id is an id no record identifies any more, and
            // listing it would tie the reason to her contacts.
            let erasures = lookup.state.erasures.values.filter { $0.org == log.keyring.org }.sorted { ($0.at, $0.id) > ($1.at, $1.id) }
            if output.format == .json {
                Output.json(["schema": "fieldlog.audit/1", "exports": .array(exports.map { e in
                    ["ref": .string(lookup.ref(e.id)), "incident": .string(lookup.ref(e.incident)), "level": .string(e.level.rawValue),
                     "recipient": .str(e.recipient), "by": .string(e.author), "org": .string(e.org), "at": .string(lookup.time.iso(e.exportedAt))]
                }), "erasures": .array(erasures.map { e in
                    ["ref": .string(lookup.ref(e.id)), "by": .string(e.by), "org": .string(e.org), "at": .string(lookup.time.iso(e.at)),
                     "reason": .string(e.reason), "events": .num(e.events)]
                })])
                return
            }
            if exports.isEmpty && erasures.isEmpty { Output.line("no police exports and no erasures"); return }
            if !exports.isEmpty {
                Output.line("police exports")
                Output.table(["when", "by", "incident", "level", "to"], exports.map { e in
                    [lookup.time.format(e.exportedAt), e.author, lookup.ref(e.incident), e.level.rawValue, e.recipient ?? ""]
                })
            }
            if !erasures.isEmpty {
                if !exports.isEmpty { Output.line() }
                Output.line("erasures")
                Output.table(["when", "by", "events purged", "why"], erasures.map { e in
                    [lookup.time.format(e.at), e.by, String(e.events), e.reason]
                })
            }
        }
    }
}

struct Alerts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alerts", abstract: "Active warnings about dangerous individuals, newest first.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Only this zone.") var zone: String?
    @Flag(help: "Include expired and withdrawn alerts.") var all = false
    @Flag(help: "Only the alerts this laptop has not shown yet (unlock and sync show them too).") var new = false

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let lookup = try Lookup(log: log, .withoutContacts)
            let now = WallClock.nowMillis()
            var alerts = lookup.state.alerts.values.filter { all || $0.isActive(at: now) }
            if new {
                let shown = try log.store.shownAlerts()
                alerts = alerts.filter { !shown.contains($0.id) }
            }
            if let zone { alerts = alerts.filter { $0.zone?.caseInsensitiveCompare(zone) == .orderedSame } }
            alerts.sort { ($0.issuedAt, $0.id) > ($1.issuedAt, $1.id) }
            if output.format == .json {
                Output.json(["schema": "fieldlog.alerts/1", "alerts": .array(alerts.map { a in
                    ["ref": .string(lookup.ref(a.id)), "org": .string(a.org), "zone": .str(a.zone), "text": .string(a.text),
                     "issuedAt": .string(lookup.time.iso(a.issuedAt)), "expiresAt": .string(lookup.time.iso(a.expiresAt)), "active": .bool(a.isActive(at: now))]
                })])
                return
            }
            if alerts.isEmpty { Output.line(new ? "no new alerts" : "no active alerts"); return }
            NewAlerts.table(alerts, lookup: lookup)
            try log.store.markAlertsShown(alerts.map(\.id))
        }
    }
}
