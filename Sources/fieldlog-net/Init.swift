import ArgumentParser
import FieldlogCLI
import Foundation
import OutreachCore
import SyncClient

struct Init: AsyncParsableCommand {
    static let configuration = FieldlogCommandLine.initConfiguration

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "This organisation's short name (lowercase), e.g. basis.") var org: String?
    @Option(help: "A name for this laptop, e.g. b1 or van-laptop.") var device: String?
    @Option(help: ArgumentParser.ArgumentHelp("An invite file from an enrolled laptop.", valueName: "file")) var invite: String?
    @Option(name: .customLong("for"), help: "Stay unlocked this long after init (default 8h).") var duration = "8h"
    @Option(help: "The sync server's address, e.g. http://10.0.0.5:8080.") var server: String?
    @Option(help: "A single-use enrolment token from the server's administrator.") var token: String?
    @Option(help: ArgumentParser.ArgumentHelp("The partnership's own certificate authority (PEM) to trust for the server.", valueName: "file")) var ca: String?
    @Flag(help: "Allow plain http:// to another machine (anyone on the network could read the exchanges).") var insecure = false

    func validate() throws {
        if invite == nil && (org == nil || device == nil) {
            throw ValidationError("give --org and --device for the first laptop, or --invite FILE to join")
        }
        if let org, !Event.isOrgName(org) {
            throw ValidationError("--org must be a short lowercase name, e.g. basis")
        }
        if let device, device.isEmpty || device.count > 40 { throw ValidationError("--device must be 1 to 40 characters") }
        if (server == nil) != (token == nil) && invite == nil { throw ValidationError("give both --server and --token to enrol, or neither") }
    }

    func run() async throws {
        try await guarded {
            let dir = storeOptions.directory
            guard !Store.exists(at: dir) else {
                throw FieldlogError(.storeExists, "a store already exists at \(dir.path)", hint: "use --store DIR for another one")
            }
            let lifetime = try LondonTime.parseDuration(duration)
            let setup: DeviceSetup
            let deviceName: String
            var enrolment: (server: String, token: String)? = server.flatMap { s in token.map { (s, $0) } }
            var trust: (ca: String?, insecure: Bool) = (nil, insecure)
            if let invite {
                guard let data = FileManager.default.contents(atPath: invite) else {
                    throw FieldlogError(.io, "cannot read the invite \(invite)", hint: "check the path")
                }
                let opened = try Invite.open(data, passphrase: try Session.passphrase(prompt: "Invite passphrase: ", variable: "FIELDLOG_INVITE_PASSPHRASE"))
                if let device, device != opened.device {
                    throw FieldlogError.badInput("this invite is for a laptop named \(opened.device), not \(device)", hint: "leave out --device, or make a new invite")
                }
                setup = try opened.setup(now: WallClock.nowMillis())
                deviceName = opened.device
                if enrolment == nil, let s = opened.server, let t = opened.token { enrolment = (s, t) }
                trust = (opened.ca, insecure || opened.insecure)
            } else {
                setup = try DeviceSetup.founding(org: org!, device: device!, now: WallClock.nowMillis())
                deviceName = device!
            }
            let keyring = setup.keyring
            if let ca {
                guard let pem = try? String(contentsOfFile: ca, encoding: .utf8) else { throw FieldlogError(.io, "cannot read \(ca)", hint: "check the path") }
                trust.ca = pem
            }
            if let enrolment { try HTTPTransport.checkAddress(enrolment.server, insecure: trust.insecure) }
            let passphrase = try Session.passphrase(prompt: "New passphrase for this laptop: ", confirm: true, isNew: true)
            let dirExisted = FileManager.default.fileExists(atPath: dir.path)
            let (store, master) = try Store.create(at: dir, device: deviceName, setup: setup, passphrase: passphrase)
            if let enrolment {
                // Enrol now; if the server refuses, remove what init created (the database files,
                // and the directory only if init made it): bad input changes nothing.
                do {
                    let (deviceToken, org) = try await HTTPTransport.withClient(trusting: trust.ca) { client in
                        try await HTTPTransport.enrol(server: enrolment.server, token: enrolment.token, device: deviceName,
                                                      replica: store.info.replica, certificates: setup.roster.certificates, client: client)
                    }
                    guard org == keyring.org else {
                        throw FieldlogError(.notPermitted, "the enrolment token is for \(org), not \(keyring.org)", hint: "ask for a token for \(keyring.org)")
                    }
                    try store.setServer(url: enrolment.server, deviceToken: deviceToken, keyring: keyring)
                    try store.setServerTrust(ca: trust.ca, insecure: trust.insecure)
                } catch {
                    for suffix in ["", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(at: dir.appendingPathComponent(Store.fileName + suffix))
                    }
                    if !dirExisted { try? FileManager.default.removeItem(at: dir) }
                    throw error
                }
            }
            let until = WallClock.nowMillis() + lifetime
            try ShiftSession().save(storeID: store.info.storeID, masterKey: master, expiresAt: until)
            if output.format == .json {
                Output.json(["store": .string(dir.path), "org": .string(keyring.org), "device": .string(deviceName), "server": .str(enrolment?.server),
                             "replica": .string(store.info.replica.rawValue),
                             "fingerprint": .string(keyring.deviceKey.fingerprint.hex), "unlockedUntil": .string(LondonTime().iso(until))])
            } else {
                Output.line("store created for \(keyring.org) on \(deviceName) at \(dir.path)")
                let role = setup.roster.signer(of: setup.replica)?.role == .root ? "\(keyring.org)'s root device" : "certified by \(keyring.org)"
                Output.line("device key \(keyring.deviceKey.fingerprint.grouped) (\(role))")
                if let enrolment { Output.line("enrolled with \(enrolment.server); fieldlog sync exchanges the log") }
                Output.line("unlocked until \(LondonTime().format(until)); fieldlog lock ends the shift")
            }
        }
    }
}
