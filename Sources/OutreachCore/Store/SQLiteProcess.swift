import CSQLiteTuning

/// Settings SQLite takes once per process, before its first connection: every store and
/// every server storage opens through `prepare()`.
public enum SQLiteProcess {
    /// SQLite's memory statistics off (nothing here reads them): with them on, each of its
    /// allocations took a process-wide mutex, a tenth of a first sync's storing on the laptop.
    /// Once SQLite has started (a connection opened before, as some tests do) nothing changes,
    /// and nothing but speed depends on it.
    private static let prepared: Int32 = fieldlog_sqlite3_memstatus_off()

    /// Makes the settings, once (later calls do nothing).
    public static func prepare() { _ = prepared }

    /// Whether the statistics are off in this process (false when SQLite had started first).
    public static var memoryStatisticsOff: Bool { prepared == 0 }
}
