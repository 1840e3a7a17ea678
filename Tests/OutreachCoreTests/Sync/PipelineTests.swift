import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import OutreachCore
import SyncServerKit

/// A sync asks for the next page as soon as an answer's head is in, before it reads and stores
/// the page (issue 12: the requests waited for each page's events to be read and checked), but
/// never more than two pages ahead of the one it stores; and it still ends with everything.
@Suite struct PipelineTests {
    /// Counts the requests sent.
    final class Watching: SyncTransport, @unchecked Sendable {
        let inner: any SyncTransport
        let lock = NSLock()
        var sent = 0
        init(_ inner: any SyncTransport) { self.inner = inner }

        func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 { try await inner.exchange(request) }
        func exchangeInSteps(_ request: SyncRequestV2) async throws -> SteppedResponse {
            lock.withLock { sent += 1 }
            return try await inner.exchangeInSteps(request)
        }

        /// Waits (up to 10 s) until `n` requests have been sent; the number sent then.
        func waitUntilSent(_ n: Int) -> Int {
            for _ in 0..<10_000 {
                if lock.withLock({ sent }) >= n { break }
                Thread.sleep(forTimeInterval: 0.001)
            }
            return lock.withLock { sent }
        }
    }

    @Test func requestsGoAheadOfTheStoreByTwoPagesAtMost() async throws {
        let dir = TempDir()
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
        for n in 0..<40 { _ = try laptops[0].log.registerPerson(name: "P\(n)", note: nil, at: t0 + Int64(n)) }
        _ = try await laptops[0].sync(service)
        // The receiver has events of its own to send (with its first request).
        for n in 0..<5 { _ = try laptops[1].log.registerPerson(name: "Q\(n)", note: nil, at: t0 + 100 + Int64(n)) }

        let watching = Watching(InProcessTransport(service: service, bearer: laptops[1].bearer))
        var engine = SyncEngine(store: laptops[1].log.store, keyring: laptops[1].log.keyring, transport: watching)
        engine.pageLimit = 4
        let stored = NIOLockedValueBox(0)
        let seen = NIOLockedValueBox([(stored: Int, sent: Int)]())
        let summary = try await engine.run(progress: { _ in
            // Page k is stored; the sync is held here. Pages k + 1 and k + 2 are asked for
            // meanwhile (k + 2 once k + 1's head is in), and no more: k + 3 waits for k + 1 to
            // be taken. Asked for only once a page is in, k + 2 would wait for this to end.
            let k = stored.withLockedValue { $0 += 1; return $0 }
            if k == 2 || k == 4 {
                let sent = watching.waitUntilSent(k + 2)
                Thread.sleep(forTimeInterval: 0.05)
                seen.withLockedValue { $0.append((k, max(sent, watching.lock.withLock { watching.sent }))) }
            }
        })
        #expect(seen.withLockedValue { $0.map(\.sent) } == [4, 6], "requests went out two pages ahead, and no further")
        #expect(summary.received == 40 && summary.sent == 5, "\(summary)")
        #expect(try laptops[1].log.store.vector() == (try laptops[0].log.store.vector()).merged(with: laptops[1].log.store.vector()))
        #expect(try await service.storage.eventCount() == 45)
    }
}
