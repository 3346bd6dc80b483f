#!/bin/sh
# Example script hook: page whoever is on call when a host goes to ERROR.
#
#   NAME = "host-error-page"  TYPE = "state"  RESOURCE = "HOST"  ON = "ERROR"
#   COMMAND = "/usr/local/lib/nebula/hooks/host-error-page.sh"
#   ARGUMENTS = "$HID $NAME $PREV_STATE"
#
# or, in nebula.toml:  [[hooks.host]]  name = "host-error-page"  on = "ERROR"  command = "..."  arguments = "$HID $NAME"
# Exit non-zero and the run is marked failed in `nebula hook log --failed`; `nebula hook retry` runs it again.
set -eu
host_id=$1
host_name=$2
was=${3:-unknown}
message="host $host_name ($host_id) is in ERROR (was $was)"
if command -v logger >/dev/null 2>&1; then
    logger -t nebula -p daemon.crit -- "$message"
fi
printf '%s %s\n' "$(date -u +%FT%TZ)" "$message" >> "${NEBULA_HOOK_LOG:-/var/log/nebula/host-errors.log}"
