import Foundation
import Logging
import OutreachCore
import PostgresNIO
import SyncServerKit
import SyncServerPostgres

/// A fresh, empty PostgreSQL database for one test, on the server `FIELDLOG_TEST_DATABASE_URL`
/// names (`Scripts/with-postgres` starts a throwaway one and sets it). Without it the PostgreSQL
/// tests fail, saying how to run them: they never skip.
public struct PostgresTestDatabase: Sendable {
    public static let variable = "FIELDLOG_TEST_DATABASE_URL"
    public let url: DatabaseURL
    private let server: DatabaseURL

    public struct NoDatabase: Error, CustomStringConvertible {
        public var description: String {
            "the PostgreSQL tests need a server: run the tests through Scripts/with-postgres (it starts a throwaway cluster; "
                + "install PostgreSQL first with apt-get install -y postgresql), or set \(variable) to a database URL whose user may CREATE DATABASE"
        }
    }

    /// The server's URL, or the error that says how to get one.
    public static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { throw NoDatabase() }
        return try DatabaseURL(text)
    }

    /// Creates `fieldlog_test_<random>` on the server.
    public static func create() async throws -> PostgresTestDatabase {
        let server = try serverURL()
        let name = "fieldlog_test_" + Hex.random(bytes: 6)
        try await admin(server) { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        return PostgresTestDatabase(url: server.with(database: name), server: server)
    }

    /// The database's URL with its password, for `SyncServer --database-url` in tests.
    public var urlText: String {
        var c = URLComponents(string: ProcessInfo.processInfo.environment[Self.variable] ?? "")!
        c.path = "/" + url.database
        return c.string!
    }

    /// Drops the database, closing whatever still holds it open.
    public func drop() async throws {
        let name = url.database
        try await Self.admin(server) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }

    /// Runs `body` with a client of the server's own database.
    public static func admin(_ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: url.configuration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await body(client)
    }
}

/// What one test opened on PostgreSQL: its databases and whatever holds them open, closed and
/// dropped together at its end, however it ends (`with`).
public actor PostgresStorages {
    private var databases: [PostgresTestDatabase] = []
    private var closers: [@Sendable () async -> Void] = []

    public init() {}

    /// Runs `body`, then closes and drops what it opened, also when it throws.
    public static func with<T>(_ body: (PostgresStorages) async throws -> T) async throws -> T {
        let storages = PostgresStorages()
        do {
            let result = try await body(storages)
            try await storages.closeAll()
            return result
        } catch {
            try? await storages.closeAll()
            throw error
        }
    }

    /// A new, empty database, dropped at the end.
    public func database() async throws -> PostgresTestDatabase {
        let database = try await PostgresTestDatabase.create()
        databases.append(database)
        return database
    }

    /// The default partnership's storage on `database`, closed at the end.
    public func open(_ database: PostgresTestDatabase) async throws -> PostgresSyncStorage {
        let storage = try await PostgresSyncStorage.open(database.url, logger: Logger(label: "test"))
        closing { await storage.close() }
        return storage
    }

    /// A storage on a database of its own.
    public func make() async throws -> PostgresSyncStorage { try await open(database()) }

    /// Runs `close` at the end, before the databases are dropped.
    public func closing(_ close: @escaping @Sendable () async -> Void) { closers.append(close) }

    func closeAll() async throws {
        for close in closers { await close() }
        closers = []
        for database in databases { try await database.drop() }
        databases = []
    }
}
