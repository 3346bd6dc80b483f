#!/usr/bin/env bash
# `make demo`: a cloud on the embedded default (SQLite, dummy drivers), placing and running VMs.
# `make stop` (or `contrib/demo.sh stop`) stops it. Everything lives under var/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
VAR="$PWD/var/demo"
PORT="${DEMO_PORT:-2633}"
NEBULA="$PWD/.venv/bin/nebula"
export ONE_AUTH="$VAR/one_auth" ONE_XMLRPC="http://127.0.0.1:$PORT/RPC2"

stop() {
    if [ -f "$VAR/nebula.pid" ] && kill "$(cat "$VAR/nebula.pid")" 2>/dev/null; then
        echo "stopped the demo daemon (pid $(cat "$VAR/nebula.pid"))"
        for _ in $(seq 50); do [ -f "$VAR/nebula.pid" ] || break; sleep 0.1; done
    fi
}
if [ "${1:-}" = "stop" ]; then stop; exit 0; fi

stop
rm -rf "$VAR" && mkdir -p "$VAR"
cat > "$VAR/nebula.toml" <<TOML
[daemon]
var_dir = "$VAR"
[database]
url = "sqlite:///nebula.db"
[api]
port = $PORT
[scheduler]
interval = 2.0
[monitor]
host_interval = 10.0
vm_interval = 10.0
TOML

echo "== starting the daemon: nebula serve --config $VAR/nebula.toml (log: $VAR/nebula.log)"
nohup "$NEBULA" serve --config "$VAR/nebula.toml" >"$VAR/nebula.log" 2>&1 &
for _ in $(seq 100); do
    [ -s "$ONE_AUTH" ] && "$NEBULA" vm list >/dev/null 2>&1 && break
    if ! kill -0 $! 2>/dev/null; then cat "$VAR/nebula.log"; echo "the daemon did not start" >&2; exit 1; fi
    sleep 0.2
done

run() { echo "\$ nebula $*"; "$NEBULA" "$@"; }
echo "== registering three dummy hosts and a network"
for h in node1 node2 node3; do run host create "$h" -i dummy -v dummy; done
run vnet create contrib/templates/lan.net
echo "== submitting six VMs from contrib/templates/web.vm"
ids=()
for i in 1 2 3 4 5 6; do
    out=$("$NEBULA" vm create contrib/templates/web.vm --name "web-$i")
    echo "\$ nebula vm create contrib/templates/web.vm --name web-$i  ->  $out"
    ids+=("${out#ID: }")
done
for id in "${ids[@]}"; do "$NEBULA" vm wait "$id" RUNNING --timeout 60 >/dev/null; done
echo "== every VM is RUNNING"
run vm list
run host list
cat <<TEXT

The cloud is up (pid $(cat "$VAR/nebula.pid")). To go on, in this shell:
    export ONE_AUTH=$ONE_AUTH ONE_XMLRPC=$ONE_XMLRPC PATH=$PWD/.venv/bin:\$PATH
    nebula vm show ${ids[0]}            # one VM, its template and history
    nebula vm poweroff ${ids[0]}        # then: nebula vm resume ${ids[0]}
    onevm list                   # the OpenNebula names work too
To stop it: make stop
TEXT
