import ArgumentParser
import Foundation
import Hummingbird
import Logging
import OutreachCore
import SyncServerKit
import SyncServerPostgres

@main
struct SyncServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "SyncServer",
        abstract: "The fieldlog sync server: reconciles the partnership's laptops, blind to the content.",
        subcommands: [Serve.self, Admin.self])
}

/// Where the server keeps its data: a SQLite data directory (the default), or PostgreSQL.
struct DataDirOption: ParsableArguments {
    @Option(help: ArgumentHelp("The server's data directory (SQLite).", valueName: "dir")) var dataDir = "./fieldlog-sync-data"
    @Option(name: [.customLong("database-url"), .customLong("database")],
            help: ArgumentHelp("Use PostgreSQL instead of the data directory: postgres://USER@HOST:PORT/DATABASE (or set FIELDLOG_DATABASE_URL; "
                               + "the password from PGPASSWORD keeps it out of the process list).", valueName: "url"))
    var databaseURL: String?
    @Option(help: ArgumentHelp("Which partnership, on a server that hosts several (default: the one it held first).", valueName: "name"))
    var partnership: String?

    var url: URL { URL(fileURLWithPath: (dataDir as NSString).expandingTildeInPath) }

    /// The PostgreSQL database, if one was given.
    func postgres() throws -> DatabaseURL? {
        guard let text = databaseURL ?? ProcessInfo.processInfo.environment["FIELDLOG_DATABASE_URL"], !text.isEmpty else { return nil }
        return try DatabaseURL(text)
    }

    static var quiet: Logger {
        var logger = Logger(label: "fieldlog.sync")
        logger.logLevel = .critical
        return logger
    }

    /// Where the data is, for logs: never a password.
    var place: String { (try? postgres())??.description ?? url.path }

    /// Runs `body` with the partnership's storage open, and closes it (PostgreSQL pools)
    /// afterwards. Admin commands say only what they did: the pool's own retries are not logged.
    func with<T>(logger: Logger = DataDirOption.quiet, _ body: (any SyncStorage) async throws -> T) async throws -> T {
        try await withAll(logger: logger) { try await body($0.storage(partnership)) }
    }

    /// Runs `body` with every partnership's storage at hand.
    func withAll<T>(logger: Logger = DataDirOption.quiet, _ body: (any PartnershipStorages) async throws -> T) async throws -> T {
        let all: any PartnershipStorages = if let database = try postgres() {
            try await PostgresPartnerships.open(database, logger: logger)
        } else {
            SQLitePartnerships(root: url)
        }
        do {
            let result = try await body(all)
            await all.close()
            return result
        } catch {
            await all.close()
            throw error
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the server (SIGTERM or Ctrl-C stops it gracefully).")
    @OptionGroup var data: DataDirOption
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(help: ArgumentHelp("The server's TLS certificate chain (PEM): serve HTTPS.", valueName: "file")) var tlsCert: String?
    @Option(help: ArgumentHelp("The TLS certificate's private key (PEM).", valueName: "file")) var tlsKey: String?

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give both --tls-cert and --tls-key, or neither") }
        if data.partnership != nil { throw ValidationError("serve answers every partnership the server hosts: leave out --partnership") }
    }

    func run() async throws {
        var logger = Logger(label: "fieldlog.sync")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let log = logger
        var configuration = SyncServerConfiguration(host: host, port: port)
        if let tlsCert, let tlsKey {
            do { configuration.tls = try SyncServerConfiguration.tls(certificateFile: tlsCert, keyFile: tlsKey) } catch { throw adminFailure(error) }
        } else if !["127.0.0.1", "::1", "localhost"].contains(host) {
            log.warning("serving plain HTTP on \(host): laptops refuse it unless told --insecure; give --tls-cert and --tls-key, or put a TLS proxy in front")
        }
        let useTLS = configuration.tls != nil
        let place = data.place
        try await data.withAll(logger: logger) { all in
            let main = SyncService(storage: try await all.storage(nil))
            let partnerships = try await all.names()
            let app = try buildApplication(host: SyncHost(partnerships: all, main: main), configuration: configuration, logger: log) { port in
                log.notice("listening", metadata: ["address": "\(host):\(port)", "tls": "\(useTLS)", "backend": "\(main.storage.backend)", "data": "\(place)",
                                                   "partnerships": "\(partnerships.count + 1)"])
            }
            try await app.runService()
        }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Organisations, enrolment tokens, devices and backups (on the data directory).",
        subcommands: [PartnershipCommand.self, OrgCommand.self, Enrol.self, Devices.self, Revoke.self, Expire.self, Quarantine.self, Backup.self, Restore.self, Release.self])
}

struct PartnershipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partnership", abstract: "Partnerships: one server can host several, each with its own organisations, laptops and events.",
        subcommands: [PartnershipAdd.self, PartnershipList.self])
}

struct PartnershipAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a partnership (a short lowercase name, e.g. leeds).")
    @OptionGroup var data: DataDirOption
    @Argument var name: String

    func validate() throws {
        guard Partnerships.isName(name) else { throw ValidationError("a partnership is a short lowercase name, e.g. leeds") }
    }

    func run() async throws {
        do { try await data.withAll { try await $0.add(name) } } catch { throw adminFailure(error) }
        print("partnership \(name) added; next: SyncServer admin org add ORG --partnership \(name)")
    }
}

struct PartnershipList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the partnerships besides the default one.")
    @OptionGroup var data: DataDirOption
    func run() async throws {
        do { for name in try await data.withAll({ try await $0.names() }) { print(name) } } catch { throw adminFailure(error) }
    }
}

struct OrgCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "org", abstract: "Organisations.", subcommands: [OrgAdd.self, OrgList.self])
}

func adminFailure(_ error: any Error) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    return ExitCode(2)
}

struct OrgAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add an organisation (a short lowercase name, as laptops use with --org).")
    @OptionGroup var data: DataDirOption
    @Argument var name: String

    func validate() throws {
        guard Event.isOrgName(name) else {
            throw ValidationError("an organisation is a short lowercase name, e.g. basis")
        }
    }

    func run() async throws {
        do { try await data.with { try await $0.addOrganisation(name, at: WallClock.nowMillis()) } } catch { throw adminFailure(error) }
        print("organisation \(name) added")
    }
}

struct OrgList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List organisations.")
    @OptionGroup var data: DataDirOption
    func run() async throws {
        do { for o in try await data.with({ try await $0.organisations() }) { print(o) } } catch { throw adminFailure(error) }
    }
}

struct Enrol: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enrol", abstract: "Issue a single-use enrolment token for a new laptop of ORG.",
        discussion: "Give it to the laptop's first init (--token) or put it in an invite (fieldlog device invite --token).")
    @OptionGroup var data: DataDirOption
    @Argument var org: String
    @Option(name: .customLong("for"), help: "How long the token stays valid (default 7d).") var lifetime = "7d"
    @Option(help: "table or json.") var format = "table"

    func run() async throws {
        do {
            let lifetime = try LondonTime.parseDuration(lifetime)
            let token = try await data.with { try await SyncService(storage: $0, partnership: data.partnership).issueEnrolment(org: org, lifetime: lifetime) }
            if format == "json" {
                print(JSONValue.object(["token": .string(token), "org": .string(org)]).prettyString())
            } else {
                print("enrolment token for \(org) (single use, valid \(self.lifetime)):\n\(token)")
            }
        } catch { throw adminFailure(error) }
    }
}

struct Devices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "devices", abstract: "Enrolled laptops with their last sync.")
    @OptionGroup var data: DataDirOption
    @Option(help: "table or json.") var format = "table"

    func run() async throws {
        let devices: [Device]
        do { devices = try await data.with { try await $0.devices() } } catch { throw adminFailure(error) }
        let time = LondonTime()
        if format == "json" {
            print(JSONValue.object(["devices": .array(devices.map { d in
                ["id": .string(d.id), "org": .string(d.org), "name": .string(d.name), "replica": .string(d.replica.rawValue),
                 "lastSync": d.lastSyncAt.map { .string(time.iso($0)) } ?? .null, "revoked": .bool(d.revokedAt != nil)]
            })]).prettyString())
            return
        }
        for d in devices {
            let state = d.revokedAt != nil ? "revoked" : d.lastSyncAt.map { "last sync \(time.format($0))" } ?? "never synced"
            print("\(d.id)  \(d.org)  \(d.name)  \(state)")
        }
    }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a laptop by name (or id): its token stops at once, and its later events are refused from anyone.",
        discussion: "Also revoke it from a laptop of its organisation (fieldlog device revoke NAME), so every laptop refuses it too.")
    @OptionGroup var data: DataDirOption
    @Argument(help: "The laptop's name, or its id where names repeat (admin devices lists both).") var device: String

    func run() async throws {
        do {
            try await data.with { storage in
                let target = try await Self.device(device, in: storage)
                guard try await storage.revoke(deviceID: target.id, at: WallClock.nowMillis()) else {
                    throw ServerError(.exists, "\(target.name) of \(target.org) was already revoked")
                }
                let after = try await storage.devices().first { $0.id == target.id }?.revokedAfter ?? 0
                print("revoked \(target.name) of \(target.org) (\(target.id)): its token no longer works; its first \(after) events count, later ones are refused")
            }
        } catch { throw adminFailure(error) }
    }
}

extension Revoke {
    /// The device named `name` (or with id `name` where names repeat).
    static func device(_ name: String, in storage: any SyncStorage) async throws -> Device {
        let all = try await storage.devices()
        let matches = all.filter { $0.id == name }.isEmpty ? all.filter { $0.name == name } : all.filter { $0.id == name }
        guard let target = matches.first else { throw ServerError(.notFound, "no laptop named \(name) (SyncServer admin devices lists them)") }
        guard matches.count == 1 else {
            throw ServerError(.ambiguous, "\(matches.count) laptops are named \(name): give the id of one of " + matches.map { "\($0.id) (\($0.org))" }.joined(separator: ", "))
        }
        return target
    }
}

struct Expire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire", abstract: "Make a laptop's token expire unless it syncs: a laptop lost without anyone noticing stops working by itself.",
        discussion: """
            SyncServer admin expire b2 --after 30d     its token stops 30 days from now; each sync gives it a new one for another 30
            SyncServer admin expire b2 --never         no limit (also lets a laptop whose token expired sync again)
            """)
    @OptionGroup var data: DataDirOption
    @Argument(help: "The laptop's name, or its id where names repeat.") var device: String
    @Option(help: "How long a token lives: 30d, 12w (at least 2 days).") var after: String?
    @Flag(help: "No limit.") var never = false

    func run() async throws {
        do {
            guard (after == nil) != !never else { throw ServerError(.ambiguous, "give exactly one of --after DURATION or --never") }
            var lifetime: Int64?
            if let after {
                lifetime = try LondonTime.parseDuration(after)
                guard lifetime! >= 2 * 86_400_000 else { throw ServerError(.ambiguous, "a token must live at least 2 days (--after 2d), or laptops that sync daily lock out") }
            }
            let target = try await data.with { storage in
                let target = try await Revoke.device(device, in: storage)
                try await storage.setTokenLifetime(deviceID: target.id, lifetime: lifetime, at: WallClock.nowMillis())
                return target
            }
            if let lifetime {
                print("\(target.name) of \(target.org): its token stops \(LondonTime().format(WallClock.nowMillis() + lifetime)) unless it syncs before; each sync renews it")
            } else {
                print("\(target.name) of \(target.org): its token no longer expires")
            }
        } catch { throw adminFailure(error) }
    }
}

struct Quarantine: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine", abstract: "Stop serving one stored event (kept, never served again).",
        discussion: "EVENT is the event's id, or enough of its start to be unique (at least 8 hex characters), as a laptop's fieldlog check shows it.")
    @OptionGroup var data: DataDirOption
    @Argument var event: String

    func validate() throws {
        guard event.count >= 8, event.count <= 64, event.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw ValidationError("give the event's id in lowercase hex, at least its first 8 characters")
        }
    }

    func run() async throws {
        do {
            let ids = try await data.with { try await $0.quarantine(idPrefix: event, at: WallClock.nowMillis()) }
            guard let id = ids.first else { throw ServerError(.notFound, "no stored event starts with \(event)") }
            print("event \(id) quarantined: kept, never served again")
        } catch { throw adminFailure(error) }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "backup", abstract: "Copy the database consistently, even while laptops sync.")
    @OptionGroup var data: DataDirOption
    @Option(help: "The directory to write the copy into.") var out: String

    func run() async throws {
        do {
            let target = URL(fileURLWithPath: out)
            if let database = try data.postgres() {
                try PostgresBackup.dump(database, to: target)
            } else {
                try await SQLitePartnerships(root: data.url).backup(to: target)
            }
        } catch { throw adminFailure(error) }
        print("backup written to \(out)")
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Put a backup in place as the (new, empty) data directory, held until each organisation's laptops sync.",
        discussion: """
            Stop the server first and move the damaged data directory aside. Until a laptop of each organisation \
            has synced (the coordinator's, ideally: one that synced recently), no new laptop can join or receive: \
            what was erased since the backup is purged again first. SyncServer admin release lifts the hold by hand.
            """)
    @OptionGroup var data: DataDirOption
    @Option(help: "The directory SyncServer admin backup wrote.") var from: String

    func run() async throws {
        do {
            let source = URL(fileURLWithPath: from)
            if let database = try data.postgres() {
                try PostgresBackup.restore(from: source, into: database)
                // Every partnership the backup holds is held, each until its own laptops sync.
                try await data.withAll { all in
                    for name in try await [nil] + all.names().map(Optional.some) {
                        try await all.storage(name).holdAfterRestore(at: WallClock.nowMillis())
                    }
                }
            } else {
                try await SQLitePartnerships.restore(from: source, into: data.url, at: WallClock.nowMillis())
            }
            let held = try await data.with { try await $0.restoreHold().sorted() }
            print("restored \(from) into \(data.place)" + (held.isEmpty ? "" : "; held until a laptop of \(held.joined(separator: " and ")) syncs"))
        } catch { throw adminFailure(error) }
    }
}

struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release", abstract: "Lift a restore's hold on ORG (or on every organisation) without waiting for its laptops.")
    @OptionGroup var data: DataDirOption
    @Argument(help: "The organisation (default: all).") var org: String?

    func run() async throws {
        do {
            try await data.with { storage in
                let held = try await storage.restoreHold()
                guard org.map(held.contains) ?? !held.isEmpty else { throw ServerError(.notFound, org.map { "\($0) is not held" } ?? "no restore hold") }
                try await storage.releaseRestoreHold(org: org)
                let left = try await storage.restoreHold().sorted()
                print(left.isEmpty ? "released: new laptops can join" : "released \(org!); still held until a laptop of \(left.joined(separator: " and ")) syncs")
            }
        } catch { throw adminFailure(error) }
    }
}
