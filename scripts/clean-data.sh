#!/usr/bin/env bash
# Forgets the private services' data: .data/ and, when the postgres user could not enter
# this checkout, the cluster with-services.sh keeps for it in /var/lib/guichet/<id> (linked
# from .data/pg). A Postgres still running on the cluster (a make run killed hard) is
# stopped first, rather than left serving files that are gone.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="$PWD/.data"

pg_as() {  # as in with-services.sh: pg_ctl refuses to run as root
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

stop_postgres() {  # $1: a cluster directory
  [ -f "$1/postmaster.pid" ] || return 0
  local bin
  bin="/usr/lib/postgresql/$(cat "$1/PG_VERSION" 2>/dev/null)/bin"
  [ -x "$bin/pg_ctl" ] || bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -x "$bin/pg_ctl" ] && pg_as "$bin/pg_ctl" -D "$1" status >/dev/null 2>&1; then
    echo "clean-data: stopping the Postgres still running on $1" >&2
    pg_as "$bin/pg_ctl" -D "$1" -m fast -w stop >/dev/null
  fi
}

clusters=("$DATA/pg")
# The same id as with-services.sh, so the cluster is found even when .data/ is already gone.
alt="/var/lib/guichet/$(printf %s "$DATA" | md5sum | cut -c1-12)"
if [ -L "$DATA/pg" ]; then clusters+=("$(readlink -m "$DATA/pg")"); fi
if [ -d "$alt" ]; then clusters+=("$alt/pg"); fi
for dir in "${clusters[@]}"; do
  if [ -d "$dir" ]; then stop_postgres "$dir"; fi
done

for dir in "${clusters[@]:1}"; do
  home=$(dirname "$dir")
  # Only what with-services.sh made: a folder of its own under /var/lib/guichet.
  case "$home" in
    /var/lib/guichet/?*)
      if [ -e "$home" ]; then
        echo "clean-data: removing $home" >&2
        rm -rf "$home"
      fi
      ;;
    *) echo "clean-data: leaving $dir (not under /var/lib/guichet)" >&2 ;;
  esac
done
rm -rf "$DATA"
