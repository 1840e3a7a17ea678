import Foundation
import NIOCore
import Testing
@testable import SyncServerKit
@testable import OutreachCore

/// A crowd of idle sockets cannot stop the sync server (issue 11, item 6): connections over the
/// cap are closed as they arrive, idle ones are closed after the idle timeout, and the server
/// answers again once they are gone. Raw TCP sockets, as an attacker would hold them.
@Suite struct ConnectionLimitTests {
    /// A TCP connection to 127.0.0.1:`port` that sends nothing.
    final class RawSocket: @unchecked Sendable {
        let fd: Int32
        init(port: Int, readTimeout: Int = 5) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(fd); throw CocoaError(.fileReadUnknown) }
            var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        /// True once the server has closed its end (a read returns end of file).
        func closedByServer() -> Bool {
            var byte: UInt8 = 0
            return read(fd, &byte, 1) == 0
        }
        /// Sends `text` and returns what comes back first.
        func ask(_ text: String) -> String {
            _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        }
        /// Sends `text` without waiting for an answer; false once the connection is gone.
        func send(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == text.utf8.count
        }
        /// Whether the server has closed its end, without waiting.
        func closedNow() -> Bool {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        }
        deinit { close(fd) }
    }

    /// Blocking socket work on a thread of its own, never on one of the few threads Swift's
    /// concurrency has: the server in this process needs them to answer (two tests blocking
    /// both stalled everything).
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in Thread.detachNewThread { continuation.resume(returning: body()) } }
    }

    static let health = "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    /// A server on a free port with `configure` applied, and its port.
    static func server(_ dir: TempDir, _ configure: (inout SyncServerConfiguration) -> Void) async throws -> (EmbeddedServer, Int) {
        var config = SyncServerConfiguration(host: "127.0.0.1", port: 0)
        configure(&config)
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let server = try await EmbeddedServer.start(service: service, configuration: config)
        return (server, Int(server.url.split(separator: ":").last!)!)
    }

    // No timing is asserted: on a loaded machine the server may be slow, never wrong. Each read
    // waits up to 30 s; only an outcome that cannot come from slowness fails.

    @Test func connectionsOverTheCapAreClosed() async throws {
        let dir = TempDir()
        let (server, port) = try await Self.server(dir) { $0.maxConnections = 8; $0.idleTimeout = .seconds(120) }
        defer { Task { await server.stop() } }
        // Eight connections, each proven admitted (it was answered) and then left open.
        var held = try (0..<8).map { _ in try RawSocket(port: port, readTimeout: 30) }
        for socket in held { #expect(await Self.blocking { socket.ask(Self.health) }.hasPrefix("HTTP/1.1 200")) }
        // The ninth is closed by the server; without the cap it would stay open (no idle timeout
        // for two minutes) and the read would give up instead.
        let ninth = try RawSocket(port: port, readTimeout: 30)
        #expect(await Self.blocking { ninth.closedByServer() })
        // Once the eight are gone, the server answers again (it counts a connection until its
        // channel is torn down, a moment after the client closes it: a few tries).
        held.removeAll()
        var answer = ""
        for _ in 0..<300 where !answer.hasPrefix("HTTP/1.1 200") {
            let probe = try RawSocket(port: port, readTimeout: 30)
            answer = await Self.blocking { probe.ask(Self.health) }
            if !answer.hasPrefix("HTTP/1.1 200") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
    }

    @Test func idleConnectionsAreClosed() async throws {
        let dir = TempDir()
        let (server, port) = try await Self.server(dir) { $0.idleTimeout = .seconds(1) }
        defer { Task { await server.stop() } }
        // Never a byte sent, and one answered then left idle: both closed by the server.
        let silent = try RawSocket(port: port, readTimeout: 30)
        let answered = try RawSocket(port: port, readTimeout: 30)
        #expect(await Self.blocking { answered.ask(Self.health) }.hasPrefix("HTTP/1.1 200"))
        #expect(await Self.blocking { silent.closedByServer() && answered.closedByServer() })
    }

    @Test func aBodyTrickledSlowlyIsCutOff() async throws {
        let dir = TempDir()
        // No idle timeout within the test's reach: each byte is activity to it. Only the pace
        // (1 s of grace, then a second per 1000 bytes) can close this connection.
        let (server, port) = try await Self.server(dir) {
            $0.idleTimeout = .seconds(120)
            $0.requestPace.grace = .seconds(1)
            $0.requestPace.bytesPerSecond = 1000
        }
        defer { Task { await server.stop() } }
        let slow = try RawSocket(port: port, readTimeout: 30)
        // An enrolment (no token needed) that promises 60 KB and sends one byte every 100 ms: a
        // slowloris would take 100 minutes, holding the connection and the handler waiting on it.
        let head = "POST /v1/enrol HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
        let sent = await Self.blocking { () -> Int in
            guard slow.send(head) else { return -1 }
            for n in 0..<300 {  // 30 s at most
                if slow.closedNow() || !slow.send(" ") { return n }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return 300
        }
        #expect((0..<300).contains(sent), "the server kept a connection trickling \(sent) bytes open")
        // The server still answers others.
        let other = try RawSocket(port: port, readTimeout: 30)
        #expect(await Self.blocking { other.ask(Self.health) }.hasPrefix("HTTP/1.1 200"))
    }

    @Test func clientTextInLogLinesCannotForgeALine() {
        #expect(logSafe("b2\nINFO device enrolled name=admin") == "b2\\u{a}INFO device enrolled name=admin")
        #expect(logSafe("b\u{202E}2") == "b\\u{202e}2")
        #expect(logSafe("Chapeltown Road") == "Chapeltown Road")
    }
}
