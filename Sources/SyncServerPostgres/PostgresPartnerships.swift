import Foundation
import Logging
import OutreachCore
import PostgresNIO
import SyncServerKit

/// PostgreSQL: the default partnership in the database's default schema (as before), each named
/// one in a schema of its own, `fp_NAME`; all of them share the instance's connections
/// (`PostgresPool`), each lease pointed at the partnership's schema alone (`search_path`), so no
/// query can span two partnerships.
public actor PostgresPartnerships: PartnershipStorages {
    let url: DatabaseURL
    let logger: Logger
    let main: PostgresSyncStorage
    private var opened: [String: PostgresSyncStorage] = [:]

    private init(url: DatabaseURL, logger: Logger, main: PostgresSyncStorage) {
        self.url = url
        self.logger = logger
        self.main = main
    }

    /// Opens (and migrates) the default partnership's storage; the others open when first asked
    /// for. The pool is split by the partnerships held at the start (`PostgresPool.parts`): a
    /// database that holds several is opened twice, once to count them.
    public static func open(_ url: DatabaseURL, logger: Logger) async throws -> PostgresPartnerships {
        var main = try await PostgresSyncStorage.open(url, logger: logger)
        let parts: Int
        do { parts = PostgresPool.parts(forPartnerships: try await names(main).count) } catch {
            await main.close()
            throw error
        }
        if parts > 1 {
            await main.close()
            main = try await PostgresSyncStorage.open(url, parts: parts, logger: logger)
        }
        return PostgresPartnerships(url: url, logger: logger, main: main)
    }

    /// The schema of a partnership (names are `[a-z][a-z0-9-]*`; a dash becomes an underscore).
    static func schema(_ name: String) -> String { "fp_" + name.replacingOccurrences(of: "-", with: "_") }

    public func storage(_ partnership: String?) async throws -> any SyncStorage {
        guard let name = partnership else { return main }
        if let storage = opened[name] { return storage }
        guard Partnerships.isName(name), try await exists(name) else { throw Partnerships.unknown(name) }
        let storage = try await PostgresSyncStorage.open(url, schema: Self.schema(name), pool: main.pool, logger: logger, facts: main.facts)
        opened[name] = storage
        return storage
    }

    func exists(_ name: String) async throws -> Bool {
        try await !main.rows("SELECT 1 FROM pg_namespace WHERE nspname = \(Self.schema(name))").isEmpty
    }

    public func add(_ partnership: String) async throws {
        guard Partnerships.isName(partnership) else { throw ServerError(.notFound, "a partnership is a short lowercase name, e.g. leeds") }
        guard try await !exists(partnership) else { throw ServerError(.exists, "partnership \(partnership) already exists") }
        // The name is checked above: letters, digits and dashes only, so it is safe in SQL.
        try await main.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(Self.schema(partnership))"))
        opened[partnership] = try await PostgresSyncStorage.open(url, schema: Self.schema(partnership), pool: main.pool, logger: logger,
                                                                  facts: main.facts)
    }

    public func names() async throws -> [String] { try await Self.names(main) }

    static func names(_ main: PostgresSyncStorage) async throws -> [String] {
        try await main.rows("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'fp\\_%' ORDER BY nspname").map { try $0.decode(String.self) }
            .map { String($0.dropFirst(3)).replacingOccurrences(of: "_", with: "-") }
    }

    public func close() async {
        for storage in opened.values { await storage.close() }
        opened = [:]
        await main.close()
    }
}
