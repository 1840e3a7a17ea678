import Foundation

/// Retractions and corrections: an organisation amends its own events, never another's
/// (`Protocol/trust.md` §4), and what mirrors an event is amended with it, in one transaction.
extension FieldLog {
    /// Retracts an event of this organisation: it stops counting everywhere, and stays in the log.
    /// An incident's summary and its alerts are retracted with it, in the same transaction (the
    /// other organisations cannot see the incident's own retraction). `state`, when the caller
    /// has folded it already, spares a second fold.
    @discardableResult
    public func retract(_ target: Event, reason: RetractReason, at: Int64, state: FieldState? = nil) throws -> Event {
        guard target.org == keyring.org else {
            throw FieldlogError(.notPermitted, "event \(target.id.short) was written by \(target.org)", hint: "ask \(target.org) to retract it")
        }
        let folded = try state ?? self.state()
        let alerts = folded.alerts.values.filter { $0.incident == target.id && $0.org == target.org }.map(\.id).sorted()
        let alertEvents = try alerts.flatMap { try store.events(idPrefix: $0.hex) }
        let drafts = try ([target] + companions(of: target, state: folded) + alertEvents).map { t in
            Draft(amending: t, payload(Body.EventRetracted(target: t.id, reason: .known(reason)), at: at))
        }
        return try store.append(drafts, keyring: keyring)[0]
    }

    /// The summary that mirrors `target` when it is an incident: retractions and corrections of
    /// the incident must reach it too, or other organisations would go on counting the old one.
    func companions(of target: Event, state: FieldState?) throws -> [Event] {
        guard keyring.open(target)?.payload.eventType == .incidentReported else { return [] }
        guard let summary = try (state ?? self.state()).summary(of: target.id, org: target.org) else { return [] }
        return try store.events(idPrefix: summary.id.hex)
    }

    /// Corrects fields of an event of this organisation; the corrected event counts once, as corrected.
    /// Correcting an incident's kind, consent or time corrects its summary too (same transaction).
    @discardableResult
    public func correct(_ target: Event, fields: [String: JSONValue], reason: String, at: Int64, state: FieldState? = nil) throws -> Event {
        guard target.org == keyring.org else {
            throw FieldlogError(.notPermitted, "event \(target.id.short) was written by \(target.org)", hint: "ask \(target.org) to correct it")
        }
        var drafts = [Draft(amending: target, payload(Body.EventCorrected(target: target.id, replacing: fields, reason: reason), at: at))]
        let mirrored = fields.filter { ["kind", "consent", "at"].contains($0.key) }
        if !mirrored.isEmpty {
            for summary in try companions(of: target, state: state) {
                drafts.append(Draft(amending: summary, payload(Body.EventCorrected(target: summary.id, replacing: mirrored, reason: reason), at: at)))
            }
        }
        return try store.append(drafts, keyring: keyring)[0]
    }
}
