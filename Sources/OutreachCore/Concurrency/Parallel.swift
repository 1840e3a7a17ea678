import Foundation

/// Work spread over every core, for the bulk paths (sealing an import's worth of events,
/// opening a whole log). Small inputs run on the calling thread.
public enum Parallel {
    /// `(0..<count).map(make)`, in chunks on every core once `count` is at least two chunks.
    /// The first error any chunk throws is rethrown.
    public static func map<T>(count: Int, chunk: Int = 1024, _ make: @Sendable (Int) throws -> T) throws -> [T] {
        guard count >= 2 * chunk else { return try (0..<count).map(make) }
        let chunks = (count + chunk - 1) / chunk
        let results = DisjointSlots<T>(count: count)
        let failures = DisjointSlots<any Error>(count: chunks)
        withoutActuallyEscaping(make) { make in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                do {
                    for n in (c * chunk)..<min(count, (c + 1) * chunk) { results[n] = try make(n) }
                } catch {
                    failures[c] = error
                }
            }
        }
        if let failure = failures.values.compactMap({ $0 }).first { throw failure }
        return results.values.map { $0! }
    }

    /// The same for work that cannot fail.
    public static func map<T>(count: Int, chunk: Int = 1024, _ make: @Sendable (Int) -> T) -> [T] {
        do {
            return try map(count: count, chunk: chunk) { n throws in make(n) }
        } catch {
            preconditionFailure("a non-throwing closure threw \(error)")
        }
    }
}

/// Slots that concurrent workers fill, each worker writing only its own indices; read after
/// all of them have finished (`concurrentPerform` returns only then).
final class DisjointSlots<T>: @unchecked Sendable {
    private let base: UnsafeMutablePointer<T?>
    private let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: nil, count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }

    subscript(i: Int) -> T? {
        get { base[i] }
        set { base[i] = newValue }
    }

    var values: [T?] { Array(UnsafeBufferPointer(start: base, count: count)) }
}
