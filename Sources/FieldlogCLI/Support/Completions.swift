import ArgumentParser
import Foundation
import OutreachCore

/// Shell completions (bash, zsh, fish: `fieldlog --generate-completion-script SHELL`): the
/// vocabularies, and the refs and working names of your own organisation's people from the
/// unlocked store (the sealed person index: no fold, a few milliseconds).
enum Complete {
    /// The person index of the store the environment names; nil when it is locked or missing
    /// (a locked store completes nothing, and says nothing).
    static func index() -> PersonIndex? {
        guard let store = try? Store.open(at: StoreOptions.defaultDirectory), let log = try? Session.unlocked(store) else { return nil }
        return try? log.personIndex()
    }

    /// People: refs, and your own organisation's working names.
    static let people = CompletionKind.custom { _, _, prefix in index()?.completions(prefix) ?? [] }

    /// The partnership's zones.
    static let zones = CompletionKind.custom { _, _, prefix in
        (index()?.zones.keys.filter { $0.lowercased().hasPrefix(prefix.lowercased()) } ?? []).sorted()
    }

    /// A word of a vocabulary, or a comma list of them (`drugs,hou` → `drugs,housing`); with
    /// `counted`, each with `=` (`condoms=`), as `--service` takes them.
    static func words<V: Vocabulary>(_: V.Type, counted: Bool = false) -> CompletionKind {
        .custom { _, _, prefix in
            let done = prefix.contains(",") ? String(prefix[...prefix.lastIndex(of: ",")!]) : ""
            let last = String(prefix.dropFirst(done.count)).lowercased()
            return V.allCases.map(\.rawValue).filter { $0.hasPrefix(last) }.map { done + $0 + (counted ? "=" : "") }
        }
    }
}
