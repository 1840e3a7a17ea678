import Foundation

/// Folding the events a store holds past a row, with reading and folding overlapped.
///
/// The first command after an import or an update folds every event once (DESIGN §6). Read
/// whole, then opened, then folded, those stages took turns; here a second thread reads and
/// opens the next run of rows while this one folds the run before (`Handoff`), and only a few
/// runs are held at a time. The fold's contract makes this safe: events may be added in any
/// batches, and an earlier one a later one changes is read back from the store (`StoreSource`).
extension Fold {
    /// Rows read and opened at a time.
    static let storedRun: Int64 = 4_096

    /// What `addStored` folded in.
    struct StoredFolding: Equatable {
        /// How many events.
        var count = 0
        /// The last row folded (the row it started after, when none).
        var lastRow: Int64
        /// Whether any of them changes what earlier events mean (`StateSnapshot.changesEarlierEvents`).
        var changedEarlier = false
    }

    /// Folds in the events stored after row `row` and up to the last one stored when it starts,
    /// `run` rows at a time.
    mutating func addStored(after row: Int64, store: Store, keyring: Keyring, run: Int64 = Fold.storedRun) throws -> StoredFolding {
        var outcome = StoredFolding(lastRow: row)
        let last = try store.contentMark()
        guard last > row else { return outcome }
        typealias Run = (lastRow: Int64?, opened: [OpenedEvent], unreadable: Int)
        let source = StoreSource(store: store, keyring: keyring)
        try Handoff<Run>.run(produce: { yield in
            var from = row
            while from < last {
                let upTo = min(last, from + run)
                let rows = try store.events(afterRowID: from, upTo: upTo)
                let (opened, unreadable) = Sealer(keyring).open(rows.map(\.event))
                guard yield((rows.last?.rowID, opened, unreadable)) else { return }
                from = upTo
            }
        }, consume: { run in
            state.unreadable += run.unreadable
            if !outcome.changedEarlier { outcome.changedEarlier = run.opened.contains(where: StateSnapshot.changesEarlierEvents) }
            add(run.opened, source: source)
            outcome.count += run.opened.count + run.unreadable
            if let last = run.lastRow { outcome.lastRow = last }
        })
        return outcome
    }
}
