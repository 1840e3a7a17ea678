import GRDB

extension Store {
    /// The store format this version writes (`meta.format`). Formats 1 (before signed events)
    /// and 2 (before erasure: ids over the raw payload) are refused with what to do (`Store.open`).
    static let format = "fieldlog-store/3"

    /// Forward-only migrations. A store written by a newer fieldlog (an unknown migration applied)
    /// is refused rather than downgraded.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v3-erasable-log") { db in
            try db.execute(sql: EventTable.schemaSQL)
            try db.execute(sql: """
                CREATE TABLE meta (
                    key   TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) STRICT;

                -- Sealed caches (derived data, safe to drop): never plaintext.
                CREATE TABLE cache (
                    name  TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                ) STRICT;

                -- Events received that broke a rule of Protocol/trust.md: kept, never folded, never
                -- passed on, not counted as held (a genuine event for the same dot is still taken).
                CREATE TABLE set_aside (
                    id          TEXT PRIMARY KEY NOT NULL,
                    origin      TEXT NOT NULL,
                    seq         INTEGER NOT NULL,
                    org         TEXT NOT NULL,
                    scope       TEXT NOT NULL,
                    rule        TEXT NOT NULL,
                    event       TEXT NOT NULL,
                    source      TEXT NOT NULL,
                    received_at INTEGER NOT NULL
                ) STRICT;

                -- The roster (Protocol/trust.md §2): accepted certificates and one pinned root per organisation.
                CREATE TABLE certificates (
                    fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 32),
                    org         TEXT NOT NULL,
                    replica     TEXT NOT NULL,
                    role        TEXT NOT NULL,
                    cert        TEXT NOT NULL
                ) STRICT;
                CREATE TABLE pins (
                    org         TEXT PRIMARY KEY NOT NULL,
                    fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 32)
                ) STRICT;
                CREATE TRIGGER pins_never_change BEFORE UPDATE ON pins
                BEGIN SELECT RAISE(ABORT, 'a pinned root never changes'); END;

                -- Revoked devices (trust.md §5a): events of the replica after up_to are refused.
                -- Derived from device.revoked events as they are stored; a cut only moves earlier.
                CREATE TABLE revocations (
                    replica TEXT PRIMARY KEY NOT NULL CHECK (length(replica) = 16),
                    up_to   INTEGER NOT NULL CHECK (up_to >= 0)
                ) STRICT;
                """)
        }
        migrator.registerMigration("v3-shown-alerts") { db in
            // Alerts this laptop has shown its worker (ids only): unlock and sync show the rest first.
            try db.execute(sql: "CREATE TABLE shown_alerts (id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 64)) STRICT")
        }
        migrator.registerMigration("v4-key-grants") { db in
            // Scope keys granted to this device after a rotation (trust.md §5b), kept as they
            // arrived: sealed to this device's agreement key, so no passphrase is needed to take
            // them in, and the store's file alone opens nothing. The granting event's dot decides
            // whether a key may still be written under (not if a revocation cut that event off).
            try db.execute(sql: """
                CREATE TABLE key_grants (
                    key_id TEXT PRIMARY KEY NOT NULL CHECK (length(key_id) = 16),
                    scope  TEXT NOT NULL CHECK (scope IN ('org', 'partnership')),
                    org    TEXT NOT NULL,
                    epoch  INTEGER NOT NULL CHECK (epoch >= 0),
                    origin TEXT NOT NULL CHECK (length(origin) = 16),
                    seq    INTEGER NOT NULL CHECK (seq >= 1),
                    enc    BLOB NOT NULL,
                    box    BLOB NOT NULL
                ) STRICT;
                """)
        }
        migrator.registerMigration("v5-id-prefix") { db in
            // Events found by their id's first 8 digits (`EventTable.idIs`); a store made before
            // keeps its index of whole ids as well.
            try EventTable.addIDPrefix(db)
        }
        return migrator
    }
}
