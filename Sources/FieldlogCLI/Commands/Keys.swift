import ArgumentParser
import Foundation
import OutreachCore

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The keys this laptop holds, and rotating them.",
        discussion: """
            Keys rotate by themselves when a laptop is revoked (fieldlog device revoke). Rotate by
            hand after anything else that may have exposed them: fieldlog keys rotate.
            """,
        subcommands: [KeysShow.self, KeysRotate.self], defaultSubcommand: KeysShow.self)
}

struct KeysShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Which epoch of each key this laptop writes under, and what it waits for.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let plan = try log.keyPlan()
            let k = log.keyring
            let scopes = [Scope.org, .partnership]
            if output.format == .json {
                var o = [String: JSONValue]()
                for scope in scopes {
                    guard let current = k.current(scope) else { continue }
                    o[scope.rawValue] = ["epoch": .int(current.epoch), "keyId": .string(current.key.id), "held": .num(k.keys(of: scope).count)]
                }
                o["waiting"] = .array(plan.waiting.map { .string($0.rawValue) })
                o["toDo"] = .array(plan.steps.map { ["scope": .string($0.scope.rawValue), "rotate": .bool($0.isRotation), "devices": .num($0.recipients.count)] })
                Output.json(.object(["schema": "fieldlog.keys/1"].merging(o) { a, _ in a }))
            } else {
                Output.table(["key", "writes under", "epochs held"], scopes.compactMap { scope in
                    k.current(scope).map { current in
                        [scope == .org ? "\(k.org)'s key" : "partnership key", "epoch \(current.epoch) (\(current.key.id.prefix(8)))",
                         String(k.keys(of: scope).count)]
                    }
                })
                for scope in plan.waiting { Output.line("waiting for \(KeysText.name(scope, org: k.org))'s newest key: another laptop gives it at its next sync") }
                for step in plan.steps where step.isRotation {
                    Output.line("\(KeysText.name(step.scope, org: k.org)) should rotate (a revoked laptop held it): fieldlog sync does it, or fieldlog keys rotate")
                }
            }
        }
    }
}

struct KeysRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Make new keys for this organisation and the partnership, sealed to every laptop but revoked ones.",
        discussion: "Old events stay readable here and on every other laptop; anything written after is sealed under the new keys.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Why (kept in the log).") var reason: String?

    func run() throws {
        try guarded {
            let log = try Session.unlocked(storeOptions)
            let keys = try log.rotateKeys(reason: reason)
            if output.format == .json {
                Output.json(KeysText.json(keys))
            } else {
                for line in KeysText.lines(keys, org: log.keyring.org) { Output.line(line) }
                Output.line("sync now so the other laptops get them: fieldlog sync")
            }
        }
    }
}

/// How key upkeep reads to a worker (shared by revoke, rotate, sync and import).
public enum KeysText {
    static func name(_ scope: Scope, org: String) -> String { scope == .org ? org : "the partnership" }

    public static func lines(_ keys: FieldLog.KeyUpkeep, org: String) -> [String] {
        var out = [String]()
        if !keys.rotated.isEmpty {
            let which = [Scope.org, .partnership].compactMap { s in keys.rotated[s].map { "\(name(s, org: org))'s (epoch \($0))" } }
            out.append("new keys: \(which.joined(separator: " and ")), sealed to each laptop still trusted; a revoked laptop cannot read what is written from now on")
        }
        if keys.granted > 0 { out.append("gave the current keys to \(keys.granted) laptop\(keys.granted == 1 ? "" : "s") that lacked them") }
        for scope in keys.waiting { out.append("waiting for \(name(scope, org: org))'s newest key: another laptop gives it at its next sync") }
        return out
    }

    public static func json(_ keys: FieldLog.KeyUpkeep) -> JSONValue {
        ["rotated": .object(Dictionary(uniqueKeysWithValues: keys.rotated.map { ($0.key.rawValue, JSONValue.int($0.value)) })),
         "granted": .num(keys.granted), "waiting": .array(keys.waiting.map { .string($0.rawValue) })]
    }
}
