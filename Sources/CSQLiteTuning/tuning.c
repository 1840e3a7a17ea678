#include <sqlite3.h>
#include "CSQLiteTuning.h"

int fieldlog_sqlite3_memstatus_off(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
