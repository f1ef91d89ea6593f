#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro over a cast Swift cannot import.
static inline sqlite3_destructor_type thinglog_sqlite_transient(void) { return SQLITE_TRANSIENT; }

/// Turns off SQLite's memory statistics, which take a process-wide mutex around every allocation (two threads of one
/// process writing and reading then contend for it). Takes effect only before SQLite initializes (the first open).
static inline int thinglog_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
