import Foundation
import OutreachCore

/// The partnerships one server hosts, each in storage of its own (a SQLite file, a PostgreSQL
/// schema): a device, a token, a vector or a page of one can never reach another, because no
/// query ever spans two (`docs/server-storage.md`). The default partnership (no name) is the
/// one a server held before it hosted several.
public protocol PartnershipStorages: Sendable {
    /// The storage of `partnership` (nil: the default one); throws `notFound` if there is none.
    func storage(_ partnership: String?) async throws -> any SyncStorage
    /// Creates a partnership's empty storage; throws `exists` if it is there already.
    func add(_ partnership: String) async throws
    /// The named partnerships, sorted.
    func names() async throws -> [String]
    /// Closes whatever was opened.
    func close() async
}

public enum Partnerships {
    /// A partnership's name: short, lowercase, as in a token (`fld_leeds.…`) and a command line;
    /// the rule of an organisation's name (letters, digits and dashes only: safe in a schema name).
    public static func isName(_ name: String) -> Bool { Event.isOrgName(name) }

    public static func unknown(_ name: String) -> ServerError {
        ServerError(.notFound, "no partnership \(name) on this server (SyncServer admin partnership list shows them; partnership add makes one)")
    }
}

/// Routes each request to its partnership's `SyncService`, by the partnership its token names.
public actor SyncHost {
    public let partnerships: any PartnershipStorages
    let now: @Sendable () -> Int64
    private var services: [String: SyncService] = [:]
    /// The default partnership's service (also what `/v1/health` asks about the database).
    public nonisolated let main: SyncService

    public init(partnerships: any PartnershipStorages, main: SyncService, now: @escaping @Sendable () -> Int64 = WallClock.nowMillis) {
        self.partnerships = partnerships
        self.main = main
        self.now = now
    }

    /// One partnership only (the demo, tests, a server that hosts one).
    public init(service: SyncService) {
        self.init(partnerships: SinglePartnership(storage: service.storage), main: service, now: service.now)
    }

    /// The service of the partnership `token` names. An unknown partnership is an unknown token:
    /// the answer does not say which partnerships exist.
    public func service(forToken token: String?) async throws -> SyncService {
        guard let name = token.flatMap(Tokens.partnership(of:)) else { return main }
        guard Partnerships.isName(name) else { throw SyncService.noValidToken }
        if let service = services[name] { return service }
        do {
            let service = SyncService(storage: try await partnerships.storage(name), partnership: name, now: now)
            services[name] = service
            return service
        } catch let e as ServerError where e.kind == .notFound {
            throw SyncService.noValidToken
        }
    }
}

/// A server with one partnership: the default.
struct SinglePartnership: PartnershipStorages {
    let storage: any SyncStorage
    func storage(_ partnership: String?) async throws -> any SyncStorage {
        guard let partnership else { return storage }
        throw Partnerships.unknown(partnership)
    }
    func add(_ partnership: String) async throws {
        throw ServerError(.notFound, "this server hosts one partnership")
    }
    func names() async throws -> [String] { [] }
    func close() async {}
}

/// SQLite: the default partnership in the data directory itself (as before), each named one in
/// `partnerships/NAME/` beneath it, a file of its own.
public actor SQLitePartnerships: PartnershipStorages {
    let root: URL
    private var opened: [String: SQLiteSyncStorage] = [:]
    /// One memory of recent dots for every partnership (`DotFacts`), each under its own name.
    private let facts = DotFacts()

    public init(root: URL) { self.root = root }

    /// Where partnership `name` lives under a data directory (or a backup of one).
    static func directory(_ name: String, in root: URL) -> URL { root.appendingPathComponent("partnerships").appendingPathComponent(name) }
    func directory(_ name: String) -> URL { Self.directory(name, in: root) }

    /// Copies every partnership's database into `target`, laid out as the data directory is
    /// (SQLite's online backup: consistent while laptops sync).
    public func backup(to target: URL) async throws {
        try SQLiteSyncStorage(directory: root).backup(to: target)
        for name in try await names() { try SQLiteSyncStorage(directory: directory(name)).backup(to: Self.directory(name, in: target)) }
    }

    /// Puts a backup written by `backup(to:)` in place as the data directory `root`, every
    /// partnership held until its laptops sync (erasure.md §5).
    public static func restore(from backup: URL, into root: URL, at time: Int64) async throws {
        _ = try SQLiteSyncStorage.restore(from: backup, into: root, at: time)
        for name in try await SQLitePartnerships(root: backup).names() {
            _ = try SQLiteSyncStorage.restore(from: directory(name, in: backup), into: directory(name, in: root), at: time)
        }
    }

    public func storage(_ partnership: String?) async throws -> any SyncStorage {
        let key = partnership ?? ""
        if let storage = opened[key] { return storage }
        let dir = partnership.map(directory) ?? root
        if let name = partnership {
            guard Partnerships.isName(name), FileManager.default.fileExists(atPath: dir.appendingPathComponent(SQLiteSyncStorage.fileName).path) else {
                throw Partnerships.unknown(name)
            }
        }
        let storage = try SQLiteSyncStorage(directory: dir, facts: facts, partnership: partnership)
        opened[key] = storage
        return storage
    }

    public func add(_ partnership: String) async throws {
        guard Partnerships.isName(partnership) else { throw ServerError(.notFound, "a partnership is a short lowercase name, e.g. leeds") }
        let dir = directory(partnership)
        guard !FileManager.default.fileExists(atPath: dir.appendingPathComponent(SQLiteSyncStorage.fileName).path) else {
            throw ServerError(.exists, "partnership \(partnership) already exists")
        }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("partnerships"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        opened[partnership] = try SQLiteSyncStorage(directory: dir, facts: facts, partnership: partnership)
    }

    public func names() async throws -> [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("partnerships").path)) ?? []
        return all.filter { Partnerships.isName($0) && FileManager.default.fileExists(atPath: directory($0).appendingPathComponent(SQLiteSyncStorage.fileName).path) }.sorted()
    }

    public func close() async {}
}
