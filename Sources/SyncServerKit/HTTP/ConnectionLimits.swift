import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Caps the connections open at once: a crowd of idle or slow clients (thousands of sockets
/// held open, a slowloris) would otherwise use up the process's file descriptors, and health
/// and sync would time out for everyone. A connection over the cap is closed at once; those
/// open carry on. Idle connections are closed by Hummingbird's idle timeout.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = NIOLockedValueBox(0)

    init(limit: Int) { self.limit = limit }

    var count: Int { open.withLockedValue { $0 } }

    /// A fresh handler for one connection.
    func handler() -> Handler { Handler(limiter: self) }

    fileprivate func enter() -> Bool {
        open.withLockedValue { n in
            guard n < limit else { return false }
            n += 1
            return true
        }
    }

    fileprivate func leave() { open.withLockedValue { $0 -= 1 } }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = NIOAny
        let limiter: ConnectionLimiter
        private let admitted = NIOLockedValueBox(false)

        init(limiter: ConnectionLimiter) { self.limiter = limiter }

        func handlerAdded(context: ChannelHandlerContext) {
            if limiter.enter() {
                admitted.withLockedValue { $0 = true }
            } else {
                context.close(promise: nil)
            }
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            let was = admitted.withLockedValue { a in defer { a = false }; return a }
            if was { limiter.leave() }
        }
    }
}

/// A request must arrive at a rate, not merely keep trickling: Hummingbird's idle timeout counts
/// any body part as activity, so a client sending one byte every 20 s (a slowloris) would hold a
/// connection, and a request handler waiting on its body, for ever. From the request's head the
/// body has `RequestPace.grace`, plus one second for every `bytesPerSecond` it has delivered, and
/// never more than `longest` in all; a request not complete by then has its connection closed.
/// (Headers are covered by the idle timeout: no head, no activity.)
public struct RequestPace: Sendable {
    public var grace: TimeAmount = .seconds(20)
    public var bytesPerSecond = 1000
    public var longest: TimeAmount = .minutes(10)

    public init() {}

    func handler() -> RequestDeadline { RequestDeadline(pace: self) }
}

final class RequestDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    let pace: RequestPace
    private var started: NIODeadline?
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?

    init(pace: RequestPace) { self.pace = pace }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            let now = NIODeadline.now()
            started = now
            deadline = now + pace.grace
            arm(context)
        case .body(let chunk):
            if let started {
                let earned = TimeAmount.nanoseconds(Int64(chunk.readableBytes) * 1_000_000_000 / Int64(max(1, pace.bytesPerSecond)))
                deadline = min(deadline + earned, started + pace.longest)
            }
        case .end:
            started = nil
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// One timer per request: when it fires early (the body earned more time) it is set again.
    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard started != nil else { return }
            if NIODeadline.now() >= deadline {
                context.close(promise: nil)
            } else {
                arm(context)
            }
        }
    }
}

/// A value from a client (a device name, a path), made safe for one log line: control
/// characters, line and paragraph separators and bidi overrides are written as \u{…}, so a
/// name with a newline cannot forge a second log line.
func logSafe(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(200) {
        let v = scalar.value
        if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) {
            out += "\\u{\(String(v, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
