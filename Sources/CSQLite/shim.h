#ifndef HANDOVER_CSQLITE_SHIM_H
#define HANDOVER_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
static inline sqlite3_destructor_type handover_sqlite_transient(void) { return SQLITE_TRANSIENT; }
/// SQLITE_STATIC, for text that outlives the statement step.
static inline sqlite3_destructor_type handover_sqlite_static(void) { return SQLITE_STATIC; }
/// SQLITE_IOERR_CORRUPTFS (SQLite 3.34), a macro built with shifts; the same number where the header predates it.
static inline int handover_sqlite_ioerr_corruptfs(void) {
#ifdef SQLITE_IOERR_CORRUPTFS
    return SQLITE_IOERR_CORRUPTFS;
#else
    return SQLITE_IOERR | (33 << 8);
#endif
}
#endif
