extension FieldLog {
    /// What a sync with key upkeep did.
    public struct SyncResult: Sendable {
        public let summary: SyncSummary
        public let keys: KeyUpkeep
        /// The log with the keys it holds now (a sync may grant keys; a command that reads after
        /// syncing reads through this).
        public let log: FieldLog
    }

    /// A sync as `fieldlog sync` runs it: announces this laptop's agreement key if it never has,
    /// syncs, then rotates what a revocation left stale and grants the current keys to devices
    /// that lack them (`Protocol/trust.md` §5b), and if that wrote anything, syncs once more so
    /// the other laptops get it now.
    public func sync(over transport: any SyncTransport, progress: (@Sendable (SyncSummary) -> Void)? = nil) async throws -> SyncResult {
        try announceKeys()
        var summary = try await SyncEngine(store: store, keyring: keyring, transport: transport).run(progress: progress)
        var log = try reloaded()
        let keys = try log.upkeepKeys()
        if keys.wroteAnything {
            log = try log.reloaded()
            summary.add(try await SyncEngine(store: store, keyring: log.keyring, transport: transport).run(progress: progress))
            log = try log.reloaded()
        }
        return SyncResult(summary: summary, keys: keys, log: log)
    }
}
