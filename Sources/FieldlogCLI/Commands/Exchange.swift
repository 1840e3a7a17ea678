import ArgumentParser
import Foundation
import OutreachCore

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Write the events another laptop lacks to a bundle file (still sealed), e.g. for a USB stick.",
        discussion: """
            Everything:                 fieldlog export --out tonight.bundle
            Only what the other lacks:  on the other laptop, fieldlog status --format json > theirs.json;
                                        then here, fieldlog export --out tonight.bundle --for theirs.json
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "The bundle file to write.") var out: String
    @Option(name: .customLong("for"), help: "The other laptop's `fieldlog status --format json` (its vector and organisation).")
    var forFile: String?

    func run() throws {
        try guarded {
            var since = VersionVector()
            var targetOrg: String?
            if let forFile {
                guard let data = FileManager.default.contents(atPath: forFile), let json = try? JSONValue.parse(data),
                    let vectorJSON = json["vector"], let vector = try? VersionVector(json: vectorJSON)
                else {
                    throw FieldlogError(.badInput, "cannot read a vector from \(forFile)", hint: "make it with fieldlog status --format json on the other laptop")
                }
                since = vector
                targetOrg = json["org"]?.stringValue
            }
            let log = try Session.unlocked(storeOptions)
            try log.announceKeys()  // so laptops that get this bundle can grant this one the keys of later epochs
            let bundle = try EventBundle.make(from: log.store, keyring: log.keyring, since: since, targetOrg: targetOrg)
            let data = try bundle.encoded(keyring: log.keyring)
            let url = URL(fileURLWithPath: out)
            do { try data.write(to: url, options: .atomic) } catch {
                throw FieldlogError(.io, "cannot write \(out): \(error.localizedDescription)", hint: "check the path and the free space")
            }
            if output.format == .json {
                Output.json(["ref": .string(out), "events": .num(bundle.events.count), "bytes": .num(data.count)])
            } else {
                Output.line("wrote \(bundle.events.count) event\(bundle.events.count == 1 ? "" : "s") to \(out) (\(data.count) bytes, sealed)")
            }
        }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Merge a bundle file from another laptop of the partnership (safe to repeat).")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The bundle file.") var file: String

    func run() throws {
        try guarded {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw FieldlogError(.io, "cannot read \(file)", hint: "check the path")
            }
            let log = try Session.unlocked(storeOptions)
            let bundle = try EventBundle.decode(data, keyring: log.keyring)
            let outcome = try bundle.importInto(log.store, keyring: log.keyring)
            let now = try log.reloaded()
            let keys = try now.upkeepKeys()
            let conflicts = try now.state().conflicts.count
            if output.format == .json {
                Output.json(["ref": .string(file), "from": .string("\(bundle.header.device) (\(bundle.header.org))"), "stored": .num(outcome.stored),
                             "alreadyHad": .num(outcome.alreadyHad), "notForThisOrg": .num(outcome.notEntitled), "setAside": .num(outcome.setAsideCount), "conflicts": .num(conflicts),
                             "keysGained": .num(outcome.keysGained), "keys": KeysText.json(keys)])
            } else {
                Output.line("imported \(outcome.stored) new event\(outcome.stored == 1 ? "" : "s") from \(bundle.header.device) (\(bundle.header.org)); \(outcome.alreadyHad) already here")
                if conflicts > 0 { Output.line("\(conflicts) conflict\(conflicts == 1 ? "" : "s") to resolve: fieldlog conflicts") }
                if outcome.setAsideCount > 0 {
                    Output.line("\(outcome.setAsideCount) event\(outcome.setAsideCount == 1 ? "" : "s") set aside: they failed a trust check (fieldlog check lists them)")
                }
                for line in KeysText.lines(keys, org: now.keyring.org) { Output.line(line) }
                if keys.wroteAnything { Output.line("export a bundle for the other laptops, or sync, so they get the keys") }
            }
        }
    }
}

struct DeviceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "device", abstract: "Bring another laptop in; list the partnership's laptops and their keys.",
                                                    subcommands: [DeviceInvite.self, DeviceList.self, DeviceRevoke.self])
}

struct DeviceInvite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite", abstract: "Write an invite file for a new laptop, sealed under a one-time passphrase.",
        discussion: """
            Give the file and the passphrase to the new laptop separately (file on a stick, passphrase
            read out). There: fieldlog init --invite FILE. An invite for another organisation (--org)
            carries only the partnership key and makes that organisation's first (root) laptop;
            once an organisation has a laptop, invite its next ones from its own laptops.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "A name for the new laptop.") var name: String
    @Option(help: "The invite file to write.") var out: String
    @Option(help: "The new laptop's organisation (default: this one).") var org: String?
    @Option(help: "A single-use enrolment token for the new laptop (SyncServer admin enrol ORG).") var token: String?

    func run() throws {
        try guarded {
            if let org, !Event.isOrgName(org) {
                throw FieldlogError.badInput("--org must be a short lowercase name, e.g. joanna")
            }
            let log = try Session.unlocked(storeOptions)
            let targetOrg = org ?? log.keyring.org
            let server = token == nil ? nil : try log.store.serverURL()
            if token != nil, server == nil {
                throw FieldlogError.badInput("this laptop has no sync server to put in the invite", hint: "enrol it first, or leave out --token")
            }
            var invite = try Invite.make(from: log, roster: try log.store.roster(), device: name, org: targetOrg, server: server, token: token,
                                         now: WallClock.nowMillis())
            if server != nil { (invite.ca, invite.insecure) = try log.store.serverTrust() }
            let passphrase = Invite.generatePassphrase()
            let data = try invite.sealed(passphrase: passphrase)
            do { try data.write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw FieldlogError(.io, "cannot write \(out): \(error.localizedDescription)", hint: "check the path")
            }
            chmod(out, 0o600)
            if output.format == .json {
                Output.json(["ref": .string(out), "device": .string(name), "org": .string(targetOrg), "passphrase": .string(passphrase)])
            } else {
                Output.line("invite for \(name) (\(targetOrg)) written to \(out)")
                Output.line("one-time passphrase: \(passphrase)")
                Output.line("on the new laptop: fieldlog init --invite \(out)")
            }
        }
    }
}

struct DeviceList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "The laptops this one trusts: organisation, name, key fingerprint, who certified it.",
        discussion: """
            A root is an organisation's first laptop; every laptop pins one per organisation. Read a
            root's fingerprint out by phone to the other charity's coordinator: it must match theirs.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let store = try Session.store(storeOptions)
            let roster = try store.roster()
            // Each organisation's root first, then its laptops by name.
            let revoked = try store.revocations()
            let devices = roster.certificates.filter { $0.role.signsEvents }
                .sorted { ($0.org, $0.role == .root ? 0 : 1, $0.device) < ($1.org, $1.role == .root ? 0 : 1, $1.device) }
            func issuerName(_ c: DeviceCertificate) -> String {
                if c.isSelfSigned { return "itself (root)" }
                guard let issuer = roster.accepted[c.issuer] else { return c.issuer.hex }
                if issuer.role == .invite, let inviter = roster.accepted[issuer.issuer] { return "\(inviter.device), by invite" }
                return issuer.device
            }
            if output.format == .json {
                Output.json(["schema": "fieldlog.devices/1", "devices": .array(devices.map { c in
                    ["org": .string(c.org), "device": .string(c.device), "role": .string(c.role.rawValue), "replica": .string(c.replica.rawValue),
                     "fingerprint": .string(c.fingerprint.hex), "certifiedBy": .string(issuerName(c)), "pinned": .bool(roster.pins[c.org] == c.fingerprint),
                     "thisLaptop": .bool(c.replica == store.info.replica),
                     "revokedAfter": revoked[c.replica].map { .int(Int64($0)) } ?? .null]
                })])
                return
            }
            let orgWidth = devices.map(\.org.count).max() ?? 0, nameWidth = devices.map(\.device.count).max() ?? 0
            for c in devices {
                let me = (c.replica == store.info.replica ? "  (this laptop)" : "") + (revoked[c.replica].map { "  REVOKED after its event \($0)" } ?? "")
                Output.line(c.org.padding(toLength: orgWidth, withPad: " ", startingAt: 0) + "  " + c.device.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                            + "  \(c.fingerprint.grouped)  certified by \(issuerName(c))\(me)")
            }
        }
    }
}

struct DeviceRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a lost or stolen laptop of this organisation: everything it writes from now on is refused.",
        discussion: """
            Every laptop honours the revocation once it has it (sync, or a bundle). The laptop's
            events up to the last one this laptop holds still count; any later one is refused.
            The organisation's and the partnership's keys rotate at the same time: the new keys
            reach every other laptop sealed to that laptop alone, so the revoked one cannot read
            anything written from now on. Also revoke its token on the server:
            SyncServer admin revoke NAME.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The laptop's name (fieldlog device list).") var name: String
    @Option(help: "Why (lost, stolen, retired).") var reason: String?

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let r = try log.revokeDevice(named: name, reason: reason, at: WallClock.nowMillis())
            if output.format == .json {
                Output.json(["ref": .string(String(r.event.id.hex.prefix(7))), "device": .string(r.device.device), "replica": .string(r.device.replica.rawValue),
                             "revokedAfter": .int(Int64(r.upTo)), "keys": KeysText.json(r.keys)])
            } else {
                Output.line("\(r.device.device) revoked: its first \(r.upTo) events still count; anything later from it is refused by every laptop that gets this")
                for line in KeysText.lines(r.keys, org: log.keyring.org) { Output.line(line) }
                Output.line("sync now so the others get the revocation and the new keys: fieldlog sync")
                Output.line("and revoke its token on the server: SyncServer admin revoke \(r.device.device)")
            }
        }
    }
}
