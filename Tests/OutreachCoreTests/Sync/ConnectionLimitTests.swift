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
    final class RawSocket {
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
        deinit { close(fd) }
    }

    @Test func connectionsOverTheCapAreClosedAndIdleOnesTimeOut() async throws {
        let dir = TempDir()
        var config = SyncServerConfiguration(host: "127.0.0.1", port: 0)
        config.maxConnections = 8
        config.idleTimeout = .seconds(2)
        let service = SyncService(storage: try SQLiteSyncStorage(directory: dir.sub("server")))
        let server = try await EmbeddedServer.start(service: service, configuration: config)
        defer { Task { await server.stop() } }
        let port = Int(server.url.split(separator: ":").last!)!

        var held = try (0..<8).map { _ in try RawSocket(port: port) }
        try await Task.sleep(for: .milliseconds(500))
        // The ninth is closed at once: the server never holds more than its cap.
        // (Its read gives up after 1 s, before the 2 s idle timeout could close it.)
        let ninth = try RawSocket(port: port, readTimeout: 1)
        #expect(ninth.closedByServer())
        // The eight idle ones are closed after the idle timeout (the read waits for it).
        let start = ContinuousClock.now
        #expect(held.allSatisfy { $0.closedByServer() })
        #expect(ContinuousClock.now - start < .seconds(6))
        held.removeAll()
        // And the server answers again, once it has let them go (it counts a connection until its
        // channel is torn down, a moment after the client sees it closed: on a loaded machine, a
        // few tries).
        var answer = ""
        let deadline = ContinuousClock.now + .seconds(15)
        while !answer.hasPrefix("HTTP/1.1 200") && ContinuousClock.now < deadline {
            answer = try RawSocket(port: port).ask("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if !answer.hasPrefix("HTTP/1.1 200") { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
    }

    @Test func clientTextInLogLinesCannotForgeALine() {
        #expect(logSafe("b2\nINFO device enrolled name=admin") == "b2\\u{a}INFO device enrolled name=admin")
        #expect(logSafe("b\u{202E}2") == "b\\u{202e}2")
        #expect(logSafe("Chapeltown Road") == "Chapeltown Road")
    }
}
