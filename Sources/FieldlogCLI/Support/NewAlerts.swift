import Foundation
import OutreachCore

/// Warnings first (issue #13): the active alerts this laptop has not shown its worker yet,
/// printed at the end of `unlock` and `sync` and by `alerts --new`, then remembered as shown.
enum NewAlerts {
    /// The active alerts not shown yet, newest first.
    static func unseen(in state: FieldState, store: Store, now: Int64) throws -> [Alert] {
        let shown = try store.shownAlerts()
        return state.alerts.values.filter { $0.isActive(at: now) && !shown.contains($0.id) }.sorted { ($0.issuedAt, $0.id) > ($1.issuedAt, $1.id) }
    }

    /// Prints `alerts` as a table under a heading and marks them shown.
    static func show(_ alerts: [Alert], lookup: Lookup, store: Store) throws {
        guard !alerts.isEmpty else { return }
        Output.line("\(alerts.count) new alert\(alerts.count == 1 ? "" : "s"):")
        table(alerts, lookup: lookup)
        try store.markAlertsShown(alerts.map(\.id))
    }

    /// Alerts as `fieldlog alerts` shows them.
    static func table(_ alerts: [Alert], lookup: Lookup) {
        Output.table(["ref", "when", "zone", "from", "warning", "until"], alerts.map { a in
            [lookup.ref(a.id), lookup.time.format(a.issuedAt), a.zone ?? "", a.org, a.text, lookup.time.format(a.expiresAt)]
        })
    }
}

/// For commands outside this module (`sync` in fieldlog-net).
public enum Warnings {
    /// Prints the alerts not shown yet (if any) and marks them shown; returns how many.
    @discardableResult
    public static func showNew(log: FieldLog, now: Int64 = WallClock.nowMillis()) throws -> Int {
        let lookup = try Lookup(log: log, .withoutContacts)
        let unseen = try NewAlerts.unseen(in: lookup.state, store: log.store, now: now)
        try NewAlerts.show(unseen, lookup: lookup, store: log.store)
        return unseen.count
    }
}
