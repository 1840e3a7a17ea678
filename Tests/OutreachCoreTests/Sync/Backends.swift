import OutreachCore
import PostgresTestSupport
import SyncServerKit

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
        return try await PostgresStorages.with { try await body($0.make()) }
    }
}
