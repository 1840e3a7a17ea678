import Foundation
import Logging
import OutreachCore
import PostgresNIO
import SyncServerKit
import SyncServerPostgres

/// A fresh, empty PostgreSQL database for one test, on the server `FIELDLOG_TEST_DATABASE_URL`
/// names (`Scripts/with-postgres` starts a throwaway one and sets it). Without it the PostgreSQL
/// tests fail, saying how to run them: they never skip.
struct PostgresTestDatabase {
    static let variable = "FIELDLOG_TEST_DATABASE_URL"
    let url: DatabaseURL
    private let server: DatabaseURL

    struct NoDatabase: Error, CustomStringConvertible {
        var description: String {
            "the PostgreSQL tests need a server: run the tests through Scripts/with-postgres (it starts a throwaway cluster; "
                + "install PostgreSQL first with apt-get install -y postgresql), or set \(variable) to a database URL whose user may CREATE DATABASE"
        }
    }

    /// The server's URL, or the error that says how to get one.
    static func serverURL() throws -> DatabaseURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { throw NoDatabase() }
        return try DatabaseURL(text)
    }

    /// Creates `fieldlog_test_<random>` on the server.
    static func create() async throws -> PostgresTestDatabase {
        let server = try serverURL()
        let name = "fieldlog_test_" + Hex.random(bytes: 6)
        try await admin(server) { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        return PostgresTestDatabase(url: server.with(database: name), server: server)
    }

    /// Drops the database, closing whatever still holds it open.
    func drop() async throws {
        let name = url.database
        try await Self.admin(server) { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")) }
    }

    /// Runs `body` with a client of the server's own database.
    static func admin(_ url: DatabaseURL, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: url.configuration)
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await body(client)
    }
}

/// Storages made for one test, closed and dropped together at its end.
actor PostgresStorages {
    private var made: [(PostgresSyncStorage, PostgresTestDatabase)] = []

    func make() async throws -> PostgresSyncStorage {
        let database = try await PostgresTestDatabase.create()
        let storage = try await PostgresSyncStorage.open(database.url, logger: Logger(label: "test"))
        made.append((storage, database))
        return storage
    }

    func closeAll() async throws {
        for (storage, database) in made {
            await storage.close()
            try await database.drop()
        }
        made = []
    }
}


/// The server's storage backends: every service-level test that takes one runs on both.
enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres
    var description: String { rawValue }
}

/// Runs `body` with a fresh, empty storage of `backend` (SQLite in `dir`; PostgreSQL in a new
/// database, dropped afterwards however `body` ends).
func withStorage<T>(_ backend: Backend, _ dir: TempDir, _ body: (any SyncStorage) async throws -> T) async throws -> T {
    switch backend {
    case .sqlite:
        return try await body(SQLiteSyncStorage(directory: dir.sub("server")))
    case .postgres:
        let storages = PostgresStorages()
        do {
            let result = try await body(try await storages.make())
            try await storages.closeAll()
            return result
        } catch {
            try? await storages.closeAll()
            throw error
        }
    }
}
