import Foundation
import NIOConcurrencyHelpers
import Testing
@testable import OutreachCore
import SyncServerKit

/// A sync asks for the next page as soon as an answer's head is in, before it reads and stores
/// the page (issue 12: the requests waited for each page's events to be read and checked), but
/// never more than two pages ahead of the one it stores; and it still ends with everything.
@Suite struct PipelineTests {
    /// Counts the requests sent, and holds back the events of answer `gated` until request
    /// `gated + 1` has gone (or 30 s have passed): the sync cannot take that answer before.
    final class Gating: SyncTransport, @unchecked Sendable {
        let inner: any SyncTransport
        let gated: Int
        let lock = NSLock()
        var sent = 0, stored = 0
        /// Whether request `gated + 1` went before answer `gated`'s events were read.
        var wentAhead = false
        /// Per request: how many pages were stored when it went.
        var storedAtRequest = [Int]()
        init(_ inner: any SyncTransport, gated: Int) { (self.inner, self.gated) = (inner, gated) }

        func exchange(_ request: SyncRequestV2) async throws -> SyncResponseV2 { try await inner.exchange(request) }
        func exchangeInSteps(_ request: SyncRequestV2) async throws -> SteppedResponse {
            let n = lock.withLock {
                sent += 1
                storedAtRequest.append(stored)
                return sent
            }
            let answer = try await inner.exchangeInSteps(request)
            guard n == gated else { return answer }
            return SteppedResponse(head: answer.head) { [self] in
                for _ in 0..<3000 where lock.withLock({ sent }) <= gated { try await Task.sleep(for: .milliseconds(10)) }
                lock.withLock { wentAhead = sent > gated }
                return try await answer.events()
            }
        }
        func pageStored() { lock.withLock { stored += 1 } }
    }

    @Test func requestsGoAheadOfTheStoreByTwoPagesAtMost() async throws {
        let dir = TempDir()
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let laptops = try await SyncConvergenceTests.partnership(in: dir, service: service)
        for n in 0..<40 { _ = try laptops[0].log.registerPerson(name: "P\(n)", note: nil, at: t0 + Int64(n)) }
        _ = try await laptops[0].sync(service)
        // The receiver has events of its own to send (with its first request).
        for n in 0..<5 { _ = try laptops[1].log.registerPerson(name: "Q\(n)", note: nil, at: t0 + 100 + Int64(n)) }

        let gating = Gating(InProcessTransport(service: service, bearer: laptops[1].bearer), gated: 4)
        var engine = SyncEngine(store: laptops[1].log.store, keyring: laptops[1].log.keyring, transport: gating)
        engine.pageLimit = 4
        let summary = try await engine.run(progress: { _ in gating.pageStored() })
        // Request 5 went while answer 4's events were held back: asked for on its head alone.
        // (Asked for once a page is read, it waits until the gate gives up.)
        #expect(gating.lock.withLock { gating.wentAhead }, "request 5 waited for answer 4's events")
        // Request n + 1 goes once page n − 1 is taken: with pages stored one after another,
        // never before page n − 2 is stored.
        let stored = gating.lock.withLock { gating.storedAtRequest }
        for (i, s) in stored.enumerated() where i >= 2 { #expect(s >= i - 2, "request \(i + 1) went with \(s) pages stored: \(stored)") }
        #expect(summary.received == 40 && summary.sent == 5, "\(summary)")
        #expect(try laptops[1].log.store.vector() == (try laptops[0].log.store.vector()).merged(with: laptops[1].log.store.vector()))
        #expect(try await service.storage.eventCount() == 45)
    }
}
