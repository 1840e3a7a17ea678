#ifndef FIELDLOG_CSQLITETUNING_H
#define FIELDLOG_CSQLITETUNING_H

/// Turns off SQLite's memory statistics for this process (SQLITE_CONFIG_MEMSTATUS 0): with them
/// on, every allocation SQLite makes takes one process-wide mutex. sqlite3_config is variadic,
/// which Swift cannot call. Returns SQLite's result code: SQLITE_MISUSE (21) once SQLite has
/// started (a connection was opened), when nothing changes.
int fieldlog_sqlite3_memstatus_off(void);

#endif
