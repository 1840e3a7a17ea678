import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// One connection pool shared by every partnership of a server (`PostgresPartnerships`): each
/// lease is first pointed at the partnership's schema, so fifty partnerships cost one pool, not
/// fifty (PostgreSQL's `max_connections` bounds the whole server, not each partnership).
final class PostgresPool: Sendable {
    let client: PostgresClient
    private let running: Task<Void, Never>
    /// The schema each open connection points at now (by connection id: ids are never reused).
    private let paths = NIOLockedValueBox<[Int: String]>([:])

    init(_ url: DatabaseURL, logger: Logger) {
        let client = PostgresClient(configuration: url.configuration, backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
    }

    /// A connection for `body`, its `search_path` set to `schema` (nil: the database's default)
    /// unless it points there already.
    func lease<T: Sendable>(schema: String?, logger: Logger, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { conn in
            let want = schema ?? ""
            if paths.withLockedValue({ $0[conn.id] }) != want {
                if let schema {
                    // Schema names are fp_ and a checked partnership name: safe to write in SQL.
                    try await conn.query(PostgresQuery(unsafeSQL: "SET search_path TO \(schema)"), logger: logger)
                } else {
                    try await conn.query("RESET search_path", logger: logger)
                }
                paths.withLockedValue { $0[conn.id] = want }
            }
            return try await body(conn)
        }
    }

    /// Stops the pool.
    func close() async {
        running.cancel()
        await running.value
    }

    /// Stops the pool without waiting (a connection that never came).
    func cancel() { running.cancel() }
}
