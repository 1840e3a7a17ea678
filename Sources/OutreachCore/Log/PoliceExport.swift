/// One incident prepared for the police liaison officer, at the consent level the woman gave
/// (DESIGN §4): L2 the offender, vehicle and method with no victim identity; L3 with it. L0 and
/// L1 are never exported, nor is an incident whose consent was withdrawn.
public struct PoliceExport: Sendable, Equatable {
    public static let schemaVersion = 1

    public let incident: Incident
    public let level: ConsentLevel
    /// L3 only: who she is, as the reporting charity knows her.
    public let victimName: String?
    public let victimDescriptor: String?
    /// L3 only: the incident's note, opened with her key (none once she was erased).
    public let note: String?
    public let exportedAt: Int64
    public let recipient: String?

    public var json: JSONValue {
        let time = LondonTime()
        var o: [String: JSONValue] = [
            "schema": .string("fieldlog.police-export/\(PoliceExport.schemaVersion)"),
            "reportedBy": .string(incident.org), "consent": .string(level.rawValue),
            "kind": .string(incident.kind.rawValue), "occurredAt": .string(time.iso(incident.occurredAt)),
            "exportedAt": .string(time.iso(exportedAt)),
        ]
        o["recipient"] = recipient.map { .string($0) }
        o["zone"] = incident.zone.map { .string($0) }
        o["offender"] = incident.offender.map { .string($0) }
        o["vehicle"] = incident.vehicle.map { .string($0) }
        o["handle"] = incident.handle.map { .string($0) }
        if level == .l3 {
            o["victim"] = ["workingName": victimName.map { .string($0) } ?? .null, "descriptor": victimDescriptor.map { .string($0) } ?? .null]
            o["note"] = note.map { .string($0) }
        }
        return .object(o)
    }

    /// A plain text report to print or paste into an email.
    public var text: String {
        let time = LondonTime()
        var lines = [
            "THIRD-PARTY REPORT to the police, from \(incident.org) (street outreach)",
            level == .l3 ? "Consent: L3, full report: she agreed to be identified." : "Consent: L2, anonymous intelligence: no victim identity.",
            "",
            "What:      \(incident.kind.rawValue.replacingOccurrences(of: "-", with: " "))",
            "When:      \(time.format(incident.occurredAt)) (Europe/London)",
        ]
        if let z = incident.zone { lines.append("Where:     zone \(z)") }
        if let o = incident.offender { lines.append("Offender:  \(o)") }
        if let v = incident.vehicle { lines.append("Vehicle:   \(v)") }
        if let h = incident.handle { lines.append("Phone/handle: \(h)") }
        if level == .l3 {
            lines.append("Victim:    \(victimName ?? "(name not recorded)")" + (victimDescriptor.map { ", \($0)" } ?? ""))
            if let n = note { lines.append("Note:      \(n)") }
        }
        lines.append("")
        lines.append("Exported \(time.format(exportedAt))" + (recipient.map { " for \($0)" } ?? "") + "; this export is recorded in the charity's audit log.")
        return lines.joined(separator: "\n")
    }
}

extension FieldLog {
    /// Prepares incident `id` for the police at its current consent level and records the export
    /// (`incident.exported`, organisation only) in the same step. Refuses L0, L1, withdrawn
    /// consent, another organisation's incident, a retracted one, and anything not an incident.
    public func exportIncident(_ id: EventID, recipient: String?, state: FieldState, at: Int64) throws -> (PoliceExport, Event) {
        let short = String(id.hex.prefix(7))
        guard let incident = state.incidents[id] else {
            if state.retracted.contains(id) { throw FieldlogError.badInput("incident \(short) was retracted", hint: "nothing was exported") }
            if state.incidentSummaries.keys.contains(where: { $0.incident == id }) {
                throw FieldlogError(.notPermitted, "incident \(short) was recorded by another charity", hint: "ask them to export it; only they hold its details")
            }
            throw FieldlogError(.unknownRef, "event \(short) is not an incident", hint: "fieldlog log lists events with their refs")
        }
        guard incident.consent >= .l2 else {
            let original = try store.events(idPrefix: id.hex).first.flatMap { keyring.open($0) }.flatMap { Body.IncidentReported($0.payload) }?.consent
            if let original, original >= .l2 {
                throw FieldlogError(.notPermitted, "consent to share incident \(short) with the police was withdrawn (now \(incident.consent.rawValue))",
                                    hint: "nothing was exported")
            }
            throw FieldlogError(.notPermitted, "incident \(short) has consent \(incident.consent.rawValue): police exports need L2 or L3",
                                hint: "if she agrees now, record it with fieldlog incident consent \(short) L2")
        }
        let victim = incident.consent == .l3 ? incident.person.flatMap { state.people[state.canonical($0)] } : nil
        let export = PoliceExport(incident: incident, level: incident.consent, victimName: victim?.name, victimDescriptor: victim?.descriptor,
                                  note: incident.consent == .l3 ? state.note(of: incident) : nil, exportedAt: at, recipient: recipient)
        let body = Body.IncidentExported(incident: id, level: incident.consent, recipient: recipient)
        let event = try store.append([Draft(payload(body, at: at))], keyring: keyring)[0]
        return (export, event)
    }

    /// Records that the woman changed her consent for incident `id` (a correction of the
    /// incident and of its summary, so both charities' counts follow).
    @discardableResult
    public func setIncidentConsent(_ id: EventID, to level: ConsentLevel, reason: String, state: FieldState, at: Int64) throws -> Event {
        guard state.incidents[id] != nil, let target = try store.events(idPrefix: id.hex).first else {
            throw FieldlogError(.unknownRef, "event \(id.hex.prefix(7)) is not an incident of \(keyring.org)", hint: "fieldlog log lists events with their refs")
        }
        return try correct(target, fields: ["consent": .string(level.rawValue)], reason: reason, at: at, state: state)
    }
}
