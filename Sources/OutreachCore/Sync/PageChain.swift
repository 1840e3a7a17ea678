import Foundation

/// How far a sync has taken its answers, for the requests that go out ahead of it
/// (`SyncEngine.fetch`): a request for answer n + 1 waits until answer n − 1 is taken, so at
/// most two answers wait while one is stored, however fast the server answers.
final class PageChain: @unchecked Sendable {
    private let lock = NSLock()
    private var taken = 0
    private var stopped = false
    private var waiting: [(index: Int, resume: CheckedContinuation<Bool, Never>)] = []

    /// Answer `index` is taken (answers are taken in order).
    func took(_ index: Int) {
        let ready: [CheckedContinuation<Bool, Never>] = lock.withLock {
            taken = max(taken, index)
            let ready = waiting.filter { $0.index <= taken }.map(\.resume)
            waiting.removeAll { $0.index <= taken }
            return ready
        }
        for r in ready { r.resume(returning: true) }
    }

    /// The sync is over (done or failed): nothing more is asked for.
    func stop() {
        let all: [CheckedContinuation<Bool, Never>] = lock.withLock {
            stopped = true
            defer { waiting = [] }
            return waiting.map(\.resume)
        }
        for r in all { r.resume(returning: false) }
    }

    /// Waits until answer `index` is taken: true, or false once the sync is over.
    func waitUntilTaken(_ index: Int) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            let now: Bool? = lock.withLock {
                if stopped { return false }
                if taken >= index { return true }
                waiting.append((index, c))
                return nil
            }
            if let now { c.resume(returning: now) }
        }
    }
}
