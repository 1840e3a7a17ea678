import GRDB

extension Store {
    /// Forward-only migrations. A store written by a newer fieldlog (an unknown migration applied)
    /// is refused rather than downgraded.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-event-log") { db in
            try db.execute(sql: """
                CREATE TABLE meta (
                    key   TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) STRICT;

                -- The event log: the only source of truth. Append-only (triggers below).
                CREATE TABLE events (
                    rowid       INTEGER PRIMARY KEY,
                    id          TEXT NOT NULL UNIQUE CHECK (length(id) = 64),
                    origin      TEXT NOT NULL CHECK (length(origin) = 16),
                    seq         INTEGER NOT NULL CHECK (seq >= 1),
                    org         TEXT NOT NULL CHECK (org <> ''),
                    scope       TEXT NOT NULL CHECK (scope <> ''),
                    ctx         TEXT NOT NULL,
                    recorded_at INTEGER NOT NULL,
                    key_id      TEXT NOT NULL,
                    payload     BLOB NOT NULL,
                    UNIQUE (origin, seq)
                ) STRICT;

                CREATE TRIGGER events_no_update BEFORE UPDATE ON events
                BEGIN SELECT RAISE(ABORT, 'fieldlog events are append-only: UPDATE is refused'); END;
                CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'fieldlog events are append-only: DELETE is refused'); END;

                -- The store's version vector: per origin, every event up to seq that this device
                -- is entitled to is held. Only ever grows.
                CREATE TABLE coverage (
                    origin TEXT PRIMARY KEY NOT NULL CHECK (length(origin) = 16),
                    seq    INTEGER NOT NULL CHECK (seq >= 0)
                ) STRICT;
                CREATE TRIGGER coverage_only_grows BEFORE UPDATE ON coverage WHEN NEW.seq < OLD.seq
                BEGIN SELECT RAISE(ABORT, 'a version vector never goes back'); END;
                CREATE TRIGGER coverage_no_delete BEFORE DELETE ON coverage
                BEGIN SELECT RAISE(ABORT, 'a version vector never goes back'); END;

                -- Sealed caches (derived data, safe to drop): never plaintext.
                CREATE TABLE cache (
                    name  TEXT PRIMARY KEY NOT NULL,
                    value BLOB NOT NULL
                ) STRICT;
                """)
        }
        return migrator
    }
}
