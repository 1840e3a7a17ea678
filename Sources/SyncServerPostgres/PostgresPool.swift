import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// One set of connections shared by every partnership of a server (`PostgresPartnerships`):
/// each lease is first pointed at the partnership's schema, so fifty partnerships cost one
/// pool, not fifty (PostgreSQL's `max_connections` bounds the whole server, not each
/// partnership). The connections are split into `parts` pools and a schema always leases from
/// the same one, so a connection serves a few schemas, not every one: PostgreSQL keeps, per
/// connection, each schema's catalogue and each of its functions' plans, and a connection that
/// first meets a schema pays for loading and planning them.
final class PostgresPool: Sendable {
    let clients: [PostgresClient]
    private let running: [Task<Void, Never>]
    /// The schema each open connection points at now (by pool and connection id: ids are never reused in a pool).
    private let paths = NIOLockedValueBox<[Int: [Int: String]]>([:])

    init(_ url: DatabaseURL, parts: Int = 1, logger: Logger) {
        let parts = max(1, parts)
        var configuration = url.configuration
        configuration.options.maximumConnections = max(1, configuration.options.maximumConnections / parts)
        let clients = (0..<parts).map { _ in PostgresClient(configuration: configuration, backgroundLogger: logger) }
        self.clients = clients
        running = clients.map { client in Task { await client.run() } }
    }

    /// How many parts for a server holding `count` partnerships: one each, up to a part of two
    /// connections (a server of one partnership keeps every connection for it).
    static func parts(forPartnerships count: Int, connections: Int = DatabaseURL.maximumConnections) -> Int {
        min(max(count, 1), max(connections / 2, 1))
    }

    /// Which pool serves `schema`: the same one every time (FNV-1a of its name).
    func part(for schema: String?) -> Int {
        guard let schema, clients.count > 1 else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in schema.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(clients.count))
    }

    /// A connection for `body`, its `search_path` set to `schema` (nil: the database's default)
    /// unless it points there already.
    func lease<T: Sendable>(schema: String?, logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let part = part(for: schema)
        return try await clients[part].withConnection { conn in
            let want = schema ?? ""
            if paths.withLockedValue({ $0[part]?[conn.id] }) != want {
                if let schema {
                    // Schema names are fp_ and a checked partnership name: safe to write in SQL.
                    try await conn.query(PostgresQuery(unsafeSQL: "SET search_path TO \(schema)"), logger: logger)
                } else {
                    try await conn.query("RESET search_path", logger: logger)
                }
                paths.withLockedValue { $0[part, default: [:]][conn.id] = want }
            }
            return try await body(conn)
        }
    }

    /// Stops the pools.
    func close() async {
        for task in running { task.cancel() }
        for task in running { await task.value }
    }

    /// Stops the pools without waiting (a connection that never came).
    func cancel() { for task in running { task.cancel() } }
}
