#!/usr/bin/env bash
# Start the machine's PostgreSQL and MariaDB if they are down, and wait until both answer.
# The test suite needs them on 127.0.0.1 (PostgreSQL trust auth, MariaDB root without password).
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
maria_up() { mariadb-admin -h 127.0.0.1 -u root status >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -u root status >/dev/null 2>&1; }

if ! pg_up; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! maria_up; then
    echo "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
fi
for _ in $(seq 60); do
    if pg_up && maria_up; then exit 0; fi
    sleep 1
done
pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
maria_up || { echo "MariaDB did not come up on 127.0.0.1:3306" >&2; exit 1; }
