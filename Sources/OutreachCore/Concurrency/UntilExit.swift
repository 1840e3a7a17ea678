import Foundation

/// What a short-lived process keeps until it exits instead of freeing it.
///
/// Freeing a folded state record by record is a tenth of an offline command's time on a large
/// store (130 ms for `alerts` at a million events, 10-14% of it in deallocation), while the system
/// takes a process's memory back at once when it exits. Off unless a process turns it on: the
/// `fieldlog` binary does, for its offline commands (one command, then exit); a long-lived
/// process (tests, the demo, `fieldlog-net`'s sync) frees as usual. Only the last value given is
/// kept (an earlier one is freed then), so a command that folds twice holds one state more at most.
public enum UntilExit {
    private final class Kept: @unchecked Sendable {
        let lock = NSLock()
        var enabled = false
        var last: Any?
    }
    private static let kept = Kept()

    /// From now on, `keep` keeps what it is given until the process exits.
    public static func enable() {
        kept.lock.withLock { kept.enabled = true }
    }

    /// Keeps `value` alive until exit, or until the next value kept, when enabled (else does nothing).
    public static func keep(_ value: Any) {
        kept.lock.withLock { if kept.enabled { kept.last = value } }
    }
}
