#!/usr/bin/env bash
# Install the Debian packages the tests need but Python cannot bring: OpenSSH's server (tests start
# their own sshd on 127.0.0.1 for remote hooks and, later, SSH transfers). Idempotent; root only.
set -euo pipefail

packages=()
[ -x /usr/sbin/sshd ] || packages+=(openssh-server)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages (${packages[*]}): run this as root, or install them" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing ${packages[*]}"
apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null; }
