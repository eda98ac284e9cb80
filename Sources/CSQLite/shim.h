#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast of -1 to a function pointer, which Swift cannot import: bound
// text is copied by SQLite before the call returns.
static inline void swnet_sqlite_bind_text(sqlite3_stmt *statement, int index, const char *text, int length) {
    sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT);
}
