import GRDB

extension Store {
    /// Forward-only migrations. A store written by a newer fieldlog (an unknown migration applied)
    /// is refused rather than downgraded.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-event-log") { db in
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
                """)
        }
        return migrator
    }
}
