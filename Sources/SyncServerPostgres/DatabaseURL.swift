import Foundation
import NIOSSL
import PostgresNIO
import SyncServerKit

/// Where the server's PostgreSQL is: `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`
/// (`--database-url` or `FIELDLOG_DATABASE_URL`). A password may come from `PGPASSWORD` instead,
/// so it never shows in the process list. `sslmode` is `disable`, `prefer` (the default: TLS
/// when the server offers it) or `require` (TLS, the certificate checked against the system's roots).
public struct DatabaseURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let user: String
    let password: String?
    public let database: String
    public let sslMode: String

    public init(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let c = URLComponents(string: text), let scheme = c.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw ServerError(.notFound, "a database URL looks like postgres://USER@HOST:PORT/DATABASE")
        }
        guard let host = c.host, !host.isEmpty, let user = c.user, !user.isEmpty else {
            throw ServerError(.notFound, "the database URL needs a user and a host: postgres://USER@HOST:PORT/DATABASE")
        }
        let database = String(c.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw ServerError(.notFound, "the database URL names no database: postgres://USER@HOST:PORT/DATABASE")
        }
        let mode = c.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(mode) else {
            throw ServerError(.notFound, "sslmode is disable, prefer or require, not \(mode)")
        }
        self.host = host
        port = c.port ?? 5432
        self.user = c.percentEncodedUser?.removingPercentEncoding ?? user
        password = c.percentEncodedPassword?.removingPercentEncoding ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
        sslMode = mode
    }

    /// The same server and credentials, another database (tests create and drop their own).
    public func with(database: String) -> DatabaseURL {
        DatabaseURL(host: host, port: port, user: user, password: password, database: database, sslMode: sslMode)
    }

    private init(host: String, port: Int, user: String, password: String?, database: String, sslMode: String) {
        (self.host, self.port, self.user, self.password, self.database, self.sslMode) = (host, port, user, password, database, sslMode)
    }

    /// Never the password: this is what logs and errors show.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The connections a server instance keeps at most, for every partnership it serves.
    static let maximumConnections = 16

    public var configuration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        config.options.connectTimeout = .seconds(10)
        config.options.maximumConnections = Self.maximumConnections
        return config
    }
}
