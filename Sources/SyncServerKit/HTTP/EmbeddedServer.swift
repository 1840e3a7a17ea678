import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A sync server running inside this process on 127.0.0.1 (the demo, end-to-end tests).
public final class EmbeddedServer: Sendable {
    public let url: String
    public let service: SyncService
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(url: String, service: SyncService, group: ServiceGroup, task: Task<Void, any Error>) {
        self.url = url
        self.service = service
        self.group = group
        self.task = task
    }

    /// Starts the server on a free port and returns once it is listening.
    public static func start(service: SyncService, configuration: SyncServerConfiguration = SyncServerConfiguration(host: "127.0.0.1", port: 0),
                             logLevel: Logger.Level = .warning) async throws -> EmbeddedServer {
        try await start(host: SyncHost(service: service), configuration: configuration, logLevel: logLevel)
    }

    /// Starts a server for every partnership `host` holds.
    public static func start(host: SyncHost, configuration: SyncServerConfiguration = SyncServerConfiguration(host: "127.0.0.1", port: 0),
                             logLevel: Logger.Level = .warning) async throws -> EmbeddedServer {
        let service = host.main
        var logger = Logger(label: "fieldlog.sync")
        logger.logLevel = logLevel
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(host: host, configuration: configuration, logger: logger) { port in
            sink.yield(port)
            sink.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        guard let port = await ports.first(where: { _ in true }) else {
            await group.triggerGracefulShutdown()
            throw ServerError(.unauthorised, "the embedded server did not start")
        }
        let scheme = configuration.tls == nil ? "http" : "https"
        return EmbeddedServer(url: "\(scheme)://\(configuration.host):\(port)", service: service, group: group, task: task)
    }

    /// Stops the server gracefully (requests in flight finish) and waits until it has.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
