#!/bin/sh
# Example script hook: note every VM that reaches RUNNING in a log, with its name and first IP.
#
#   NAME = "vm-running-notify"  TYPE = "state"  RESOURCE = "VM"  ON = "RUNNING"
#   COMMAND = "/usr/local/lib/nebula/hooks/vm-running-notify.sh"
#   ARGUMENTS = "$ID $TEMPLATE"
#
# Nebula passes each argument as it is (no shell in between): $1 the VM's id, $2 the VM's XML
# in base64. Treat both as data: quote them, never eval them.
set -eu
id=$1
xml=$(printf '%s' "$2" | base64 -d)
name=$(printf '%s' "$xml" | sed -n 's:.*<NAME><!\[CDATA\[\([^]]*\)\]\]></NAME>.*:\1:p' | head -n 1)
ip=$(printf '%s' "$xml" | sed -n 's:.*<IP><!\[CDATA\[\([^]]*\)\]\]></IP>.*:\1:p' | head -n 1)
printf '%s VM %s (%s) RUNNING at %s\n' "$(date -u +%FT%TZ)" "$id" "$name" "${ip:-no IP}" >> "${NEBULA_HOOK_LOG:-/var/log/nebula/vm-running.log}"
