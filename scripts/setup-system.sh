#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium for the browser tests, the PostgreSQL server
# binaries for the PostgreSQL-backend tests (they start their own throwaway cluster; the
# system cluster the package sets up is not used).  Needs root (or sudo).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing Debian packages: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
