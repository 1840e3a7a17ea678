import Foundation
import NIOConcurrencyHelpers
import NIOCore

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
