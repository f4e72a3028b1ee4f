#!/usr/bin/env bash
# Installs the real servers the tests use, from Debian's packages: postgresql, nginx (light);
# and chromium, the headless browser the dashboard's browser test drives (with a font).
# Usage: tests/install-servers.sh [postgresql] [nginx] [chromium]   (postgresql and nginx when
# no argument). Needs root.
set -euo pipefail
wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(postgresql nginx)
missing=()
for what in "${wanted[@]}"; do
    case "$what" in
        postgresql) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql) ;;
        nginx) command -v nginx >/dev/null 2>&1 || missing+=(nginx-light) ;;
        chromium) [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation) ;;
        *) echo "unknown server: $what" >&2; exit 2 ;;
    esac
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts a cluster and nginx on port 80 of its own: the tests start their own.
(command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
    pg_ctlcluster "$ver" "$name" stop || true; done) || true
(command -v nginx >/dev/null && nginx -s stop 2>/dev/null) || true
