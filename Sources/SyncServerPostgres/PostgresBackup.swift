import Foundation
import SyncServerKit

/// `SyncServer admin backup` and `restore` on PostgreSQL: PostgreSQL's own `pg_dump` (a
/// consistent snapshot, safe while laptops sync) and `pg_restore` (in one transaction, into a
/// database that holds no fieldlog tables yet: anything else fails and changes nothing). The
/// password goes to them in their environment, never on a command line.
public enum PostgresBackup {
    public static let fileName = "sync.pgdump"

    /// Writes `directory/sync.pgdump` (custom format), the directory 0700 and the file 0600.
    public static func dump(_ url: DatabaseURL, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = directory.appendingPathComponent(fileName)
        guard !FileManager.default.fileExists(atPath: file.path) else {
            throw ServerError(.exists, "\(file.path) exists already: give a new directory")
        }
        // Made 0600 before pg_dump writes a byte into it; a dump is never left to the umask.
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ServerError(.notFound, "cannot create \(file.path): check that the directory is writable")
        }
        try run("pg_dump", ["--format=custom", "--no-owner", "--file=\(file.path)"], url)
    }

    /// Restores `directory/sync.pgdump` into `url`'s database.
    public static func restore(from directory: URL, into url: DatabaseURL) throws {
        let file = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw ServerError(.notFound, "no \(fileName) in \(directory.path): give the directory SyncServer admin backup wrote")
        }
        try run("pg_restore", ["--no-owner", "--single-transaction", "--exit-on-error", "--dbname=\(url.database)", file.path], url,
                failure: "the database \(url.database) must be new and empty (it is not restored over): create one, or drop this one first")
    }

    /// Runs one of PostgreSQL's programs against `url`; throws with what it printed.
    static func run(_ program: String, _ arguments: [String], _ url: DatabaseURL, failure: String? = nil) throws {
        guard let path = locate(program) else {
            throw ServerError(.notFound, "\(program) is not installed (it comes with PostgreSQL's client programs: apt-get install -y postgresql-client)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGHOST"] = url.host
        environment["PGPORT"] = "\(url.port)"
        environment["PGUSER"] = url.user
        environment["PGDATABASE"] = url.database
        environment["PGSSLMODE"] = url.sslMode
        if let password = url.password { environment["PGPASSWORD"] = password }
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let first = said.split(separator: "\n").first.map(String.init) ?? "exit \(process.terminationStatus)"
            throw ServerError(.notFound, "\(program) failed: \(first)" + (failure.map { "; \($0)" } ?? ""))
        }
    }

    /// The program on PATH, else the newest in /usr/lib/postgresql/*/bin.
    static func locate(_ program: String) -> String? {
        let fm = FileManager.default
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where fm.isExecutableFile(atPath: "\(dir)/\(program)") { return "\(dir)/\(program)" }
        let versions = (try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for v in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(v)/bin/\(program)") {
            return "/usr/lib/postgresql/\(v)/bin/\(program)"
        }
        return nil
    }
}
