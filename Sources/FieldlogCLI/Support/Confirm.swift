import Foundation
import OutreachCore

/// Asking before what cannot be undone.
enum Confirm {
    /// True when `yes` was given, or the worker typed `word` after `what` on a terminal; without
    /// a terminal (a script) and without `yes`, refuses.
    static func typed(_ word: String, _ what: String, yes: Bool) throws -> Bool {
        if yes { return true }
        guard isatty(STDIN_FILENO) == 1 else {
            throw FieldlogError.badInput("this cannot be undone: confirm on a terminal, or add --yes", input: .confirm)
        }
        FileHandle.standardError.write(Data("\(what). Type \(word) to confirm: ".utf8))
        return readLine()?.trimmingCharacters(in: .whitespaces).lowercased() == word
    }
}
