import GRDB

/// Group commit for SQLite's one writer: writes submitted while a transaction is being written
/// wait, then go together into the next one, each in a savepoint of its own (a write that throws
/// rolls back alone and gets its own error), so a crowd of laptops' pushes costs one flushed
/// commit per batch instead of one each. A lone write goes at once: no timer, no added wait.
actor GroupCommit {
    private let db: DatabasePool
    private var pending: [Job] = []
    private var draining = false

    private struct Job: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let done: CheckedContinuation<any Sendable, any Error>
    }

    init(_ db: DatabasePool) { self.db = db }

    /// Runs `work` in a savepoint of the next batch's transaction; returns once it is committed.
    func write<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (done: CheckedContinuation<any Sendable, any Error>) in
            pending.append(Job(work: { try work($0) }, done: done))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
        return value as! T  // the job stored exactly what `work` returned
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = pending
            pending = []
            let results: [Result<any Sendable, any Error>]
            do {
                results = try await db.write { db in
                    batch.map { job in
                        Result {
                            var value: (any Sendable)?
                            try db.inSavepoint {
                                value = try job.work(db)
                                return .commit
                            }
                            return value!
                        }
                    }
                }
            } catch {
                results = batch.map { _ in .failure(error) }  // the commit itself failed: nothing of the batch was stored
            }
            for (job, result) in zip(batch, results) { job.done.resume(with: result) }
        }
        draining = false
    }
}
