import Foundation

extension Store {
    /// `check(inspecting:)`, and with a keyring the payload checks: every payload this device
    /// may read opens under its key, and every incident of this organisation has its summary
    /// (written in the same transaction, so the other organisations count it).
    public func check(keyring: Keyring?) throws -> CheckReport {
        guard let keyring else { return try check() }
        var opened = 0
        var findings = [CheckFinding]()
        var incidents = Set<EventID>(), summarised = Set<EventID>()
        var report = try check { event in
            guard keyring.isEntitled(org: event.org, scope: event.scope) else { return }
            guard let o = keyring.open(event) else {
                findings.append(CheckFinding(message: "event \(event.dot): payload does not open under this device's keys"))
                return
            }
            opened += 1
            guard event.org == info.org else { return }
            switch o.payload.eventType {
            case .incidentReported: incidents.insert(event.id)
            case .incidentSummary: if let id = Body.IncidentSummary(o.payload)?.incident { summarised.insert(id) }
            default: break
            }
        }
        report.opened = opened
        report.findings += findings
        for id in incidents.subtracting(summarised).sorted() {
            report.findings.append(CheckFinding(message: "incident \(id.short) has no summary: the other organisations never count it"))
        }
        return report
    }
}
