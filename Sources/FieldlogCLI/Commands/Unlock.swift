import ArgumentParser
import Foundation
import OutreachCore

struct Unlock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unlock", abstract: "Open the store for a shift (default 8 hours).")
    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .customLong("for"), help: "How long: 30m, 2h, 8h.") var duration = "8h"

    func run() throws {
        try guarded {
            let lifetime = try LondonTime.parseDuration(duration)
            guard lifetime <= 24 * 3_600_000 else { throw FieldlogError.badInput("a shift is at most 24h") }
            let store = try Session.store(storeOptions)
            let passphrase = try Session.passphrase(prompt: "Passphrase: ")
            let master = try store.masterKey(passphrase: passphrase)
            _ = try store.keyring(masterKey: master)
            // A wrap from before scrypt (fieldlog 0.1) is made again with today's parameters.
            if try store.masterKeyWrapIsOutdated() { try store.rewrapMasterKey(master, passphrase: passphrase) }
            let until = WallClock.nowMillis() + lifetime
            try ShiftSession().save(storeID: store.info.storeID, masterKey: master, expiresAt: until)
            Output.line("unlocked until \(LondonTime().format(until))")
            // Warnings first: the alerts this laptop has not shown yet, before going out.
            let keyring = try store.keyring(masterKey: master)
            let log = FieldLog(store: store, keyring: keyring, author: store.info.device)
            try Warnings.showNew(log: log)
            // Retention runs by itself at the day's first unlock (Protocol/erasure.md §7).
            RetentionAtUnlock.run(log: log)
        }
    }
}

struct Lock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock", abstract: "End the shift: forget the unlocked key now.")
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try guarded {
            let store = try Session.store(storeOptions)
            let wasOpen = ShiftSession().remove(storeID: store.info.storeID)
            Output.line(wasOpen ? "locked" : "already locked")
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Which store, which laptop, locked or not, how many events.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let store = try Session.store(storeOptions)
            let session = ShiftSession().load(storeID: store.info.storeID)
            let vector = try store.vector()
            let count = try store.eventCount()
            let own = vector[store.info.replica]
            let server = try store.serverURL()
            let lastSync = try store.lastSync()
            let unacknowledged = try lastSync.map { try store.events(notCoveredBy: $0.vector).count } ?? count
            let setAside = try store.setAsideCount()
            if output.format == .json {
                Output.json([
                    "schema": "fieldlog.status/1", "store": .string(store.directory.path), "org": .string(store.info.org),
                    "device": .string(store.info.device), "replica": .string(store.info.replica.rawValue),
                    "partnership": .string(store.info.partnershipID), "events": .num(count), "ownEvents": .int(Int64(own)),
                    "unlockedUntil": session.map { .string(LondonTime().iso($0.expiresAt)) } ?? .null,
                    "vector": vector.json, "server": .str(server),
                    "lastSync": lastSync.map { .string(LondonTime().iso($0.at)) } ?? .null, "unacknowledged": .num(unacknowledged),
                    "setAside": .num(setAside),
                ])
                return
            }
            Output.line("store    \(store.directory.path)")
            Output.line("laptop   \(store.info.device) of \(store.info.org)")
            Output.line("events   \(count) (\(own) written here, from \(vector.entries.count) laptop\(vector.entries.count == 1 ? "" : "s"))")
            Output.line("shift    " + (session.map { "unlocked until \(LondonTime().format($0.expiresAt))" } ?? "locked (fieldlog unlock)"))
            if let server {
                Output.line("server   \(server), " + (lastSync.map { "last sync \(LondonTime().format($0.at))" } ?? "never synced")
                            + (unacknowledged > 0 ? "; \(unacknowledged) event\(unacknowledged == 1 ? "" : "s") not yet on the server" : ""))
            }
            if setAside > 0 {
                Output.line("warning  \(setAside) event\(setAside == 1 ? "" : "s") set aside (failed a trust check; not counted, not passed on): see fieldlog check")
            }
        }
    }
}

struct ChangePassphrase: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passphrase", abstract: "Change this laptop's passphrase (the old one opens nothing afterwards).",
        discussion: "Asks for the current and the new passphrase; scripts give FIELDLOG_PASSPHRASE and FIELDLOG_NEW_PASSPHRASE.")
    @OptionGroup var storeOptions: StoreOptions

    func run() throws {
        try guarded {
            let store = try Session.store(storeOptions)
            let old = try Session.passphrase(prompt: "Current passphrase: ")
            let new = try Session.passphrase(prompt: "New passphrase: ", confirm: true, isNew: true, variable: "FIELDLOG_NEW_PASSPHRASE")
            guard new != old else { throw FieldlogError.badInput("the new passphrase is the same as the old one") }
            let master = try store.changePassphrase(from: old, to: new)
            // An open shift goes on under the new key; the old key opens nothing any more.
            let session = ShiftSession()
            if let open = session.load(storeID: store.info.storeID) {
                try session.save(storeID: store.info.storeID, masterKey: master, expiresAt: open.expiresAt)
            }
            Output.line("passphrase changed: the old one no longer opens this laptop's store")
        }
    }
}
