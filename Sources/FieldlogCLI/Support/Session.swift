import Crypto
import Foundation
import OutreachCore

/// Opens the store and its keys the way every command needs them.
public enum Session {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    public static func store(_ options: StoreOptions) throws -> Store { try Store.open(at: options.directory) }

    /// The store, unlocked: from the shift session, else from `FIELDLOG_PASSPHRASE`.
    public static func unlocked(_ options: StoreOptions) throws -> FieldLog {
        try unlocked(try store(options))
    }

    /// `store`, unlocked the same way.
    public static func unlocked(_ store: Store) throws -> FieldLog {
        let master: SymmetricKey
        if let session = ShiftSession(environment: environment).load(storeID: store.info.storeID) {
            master = session.key
        } else if let passphrase = environment["FIELDLOG_PASSPHRASE"] {
            master = try store.masterKey(passphrase: passphrase)
        } else {
            throw FieldlogError(.locked, "the store is locked", hint: "run fieldlog unlock at the start of the shift")
        }
        let keyring = try store.keyring(masterKey: master)
        let author = environment["FIELDLOG_WORKER"].flatMap { $0.isEmpty ? nil : $0 } ?? store.info.device
        return FieldLog(store: store, keyring: keyring, author: author)
    }

    /// The worker's passphrase: `FIELDLOG_PASSPHRASE`, else asked on the terminal.
    /// `isNew`: a passphrase being chosen, held to `PassphrasePolicy`.
    public static func passphrase(prompt: String, confirm: Bool = false, isNew: Bool = false, variable: String = "FIELDLOG_PASSPHRASE") throws -> String {
        if let p = environment[variable] {
            if isNew { try PassphrasePolicy.check(p) }
            return p
        }
        guard isatty(STDIN_FILENO) != 0 else {
            throw FieldlogError(.locked, "no passphrase: nothing to ask on a terminal", hint: "set \(variable) for scripts")
        }
        let first = try Terminal.readSecret(prompt)
        if isNew { try PassphrasePolicy.check(first) }
        if confirm {
            let again = try Terminal.readSecret("Again: ")
            guard again == first else { throw FieldlogError.init(.badInput, "the two passphrases differ", hint: "run the command again") }
        }
        return first
    }
}

public enum Terminal {
    /// Reads a line from the terminal without echoing it.
    static func readSecret(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var old = termios()
        let isTTY = tcgetattr(STDIN_FILENO, &old) == 0
        if isTTY {
            var quiet = old
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if isTTY {
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old)
                FileHandle.standardError.write(Data("\n".utf8))
            }
        }
        guard let line = readLine(strippingNewline: true) else { throw FieldlogError(.badInput, "no passphrase given") }
        return line
    }

    public static var isInteractive: Bool { isatty(STDOUT_FILENO) != 0 }
}
