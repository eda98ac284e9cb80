# shellcheck shell=bash
# state_snapshot ROOT: swnet's state under ROOT by content, for "nothing changed" checks. Files
# (but the lock, SQLite journals and container logs) by hash; the SQLite databases by their rows:
# SQLite rewrites pages and a change counter on every commit, and a command that only read the
# state may have made the (empty) databases.
state_snapshot() {
    (cd "$1" && find . -type f ! -name lock ! -name '*.db' ! -name '*-journal' ! -name '*.log' -exec sha256sum {} + | sort)
    local db
    for db in $(cd "$1" && find . -name '*.db' | sort); do
        sqlite3 "$1/$db" .dump | grep '^INSERT' | grep -v "'boot-id'" | sed "s|^|$db |"
    done
}
