import Foundation

/// Runs `produce` on a thread of its own while the caller consumes what it yields, at most
/// `ahead` items waiting at a time (so a long run holds a few items in memory, not all).
///
/// For work in two stages that can overlap: reading and opening the next events while the
/// last ones are folded. `produce` is called with a function that yields one item, and returns
/// false once the consumer has stopped (it should then return). An error `produce` throws is
/// rethrown by `run`, once what was yielded before it is consumed.
final class Handoff<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var finished = false
    private var stopped = false
    private var failure: (any Error)?
    private let ahead: Int

    private init(ahead: Int) { self.ahead = ahead }

    /// Consumes each item `produce` yields, in order, on the calling thread.
    static func run(ahead: Int = 2, produce: @escaping @Sendable (_ yield: (Item) -> Bool) throws -> Void, consume: (Item) throws -> Void) throws {
        let handoff = Handoff(ahead: ahead)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { try produce(handoff.yield) } catch { handoff.finish(error) }
            handoff.finish(nil)
            done.signal()
        }
        defer {
            handoff.stop()
            done.wait()
        }
        while let item = try handoff.next() { try consume(item) }
    }

    private func yield(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= ahead && !stopped { condition.wait() }
        guard !stopped else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    private func finish(_ error: (any Error)?) {
        condition.lock()
        if !finished { (finished, failure) = (true, error) }
        condition.broadcast()
        condition.unlock()
    }

    private func stop() {
        condition.lock()
        stopped = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }

    /// The next item; nil once the producer has finished and every item was taken.
    private func next() throws -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            condition.broadcast()
            return items.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }
}
