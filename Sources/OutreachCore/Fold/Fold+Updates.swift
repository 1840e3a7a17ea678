import Foundation

/// What the fold works out again when an event it depends on comes, goes, or is amended: the
/// winners among concurrent writes (outcomes, alerts, zones, retention, summaries).
extension Fold {
    /// `id` was retracted, or is no longer: alerts and summaries of an incident follow it.
    mutating func retractionChanged(_ id: EventID) {
        for (alert, base) in alertBase where base.incident == id { updateAlert(alert) }
        for key in summaryCandidates.keys where key.incident == id { updateSummary(key) }
    }

    /// A referral's outcome: the referring organisation's writes only (trust.md §4).
    mutating func updateOutcome(_ r: EventID) {
        guard let referral = state.referrals[r] else { return }
        let own = (outcomes[r] ?? [:]).values.filter { Authority.mayActOn(targetOrg: referral.org, writerOrg: $0.org) }
        state.referrals[r]!.outcome = own.isEmpty ? nil : RegisterState(writes: Array(own))
    }

    /// An alert as shown: gone with its retracted incident; withdrawn only by its issuer (trust.md §4).
    mutating func updateAlert(_ id: EventID) {
        guard var alert = alertBase[id], alert.incident.map(state.retracted.contains) != true else {
            state.alerts[id] = nil
            return
        }
        alert.withdrawn = (withdrawals[id] ?? [:]).values.contains { Authority.mayActOn(targetOrg: alert.org, writerOrg: $0) }
        state.alerts[id] = alert
    }

    /// A zone as listed: its latest label (by time, then id), "" when none was given.
    mutating func updateZone(_ zone: String) {
        guard let defs = zoneDefinitions[zone] else {
            state.zones[zone] = nil
            return
        }
        let labelled = defs.filter { $0.value.label != nil }.max { ($0.value.at, $0.key) < ($1.value.at, $1.key) }
        state.zones[zone] = labelled?.value.label ?? ""
    }

    /// An organisation's policy in force: its latest (time, then id) live `retention.set`.
    mutating func updateRetention(_ org: String) {
        state.retention[org] = retentionPolicies[org]?.values.max { ($0.at, $0.id!) < ($1.at, $1.id!) }
    }

    /// One summary per (organisation, incident): of several, the smallest id; none for a retracted incident.
    mutating func updateSummary(_ key: IncidentSummary.Key) {
        let candidates = summaryCandidates[key] ?? [:]
        if candidates.isEmpty { summaryCandidates[key] = nil }
        guard !state.retracted.contains(key.incident), let first = candidates.keys.min() else {
            state.incidentSummaries[key] = nil
            return
        }
        state.incidentSummaries[key] = candidates[first]
    }
}
