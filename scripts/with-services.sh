#!/usr/bin/env bash
# Runs a command with REDIS_URL and DATABASE_URL set. When they are unset, starts a
# private Redis and a private Postgres cluster under .data/ on free ports (data is
# kept for the next run) and stops them when the command exits.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="$PWD/.data"
mkdir -p "$DATA"

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
child=""
# The command and Redis run in sessions of their own (setsid), so a Ctrl-C reaches only this
# script; cleanup then stops them in order: the command first, given time for its graceful
# shutdown (which closes its Postgres pool and Redis connections), then the services.
# Stopping Postgres under a live asyncpg pool is what printed a traceback on every Ctrl-C.
cleanup() {
  trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short and leave Postgres up
  if [ -n "$child" ] && kill -TERM -- "-$child" 2>/dev/null; then
    for _ in $(seq 150); do kill -0 -- "-$child" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$child" 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${PG_STARTED:-}" ]; then pg_as "$PGBIN/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pg_as() {  # from / : the postgres user may not be allowed into the current folder
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

if [ -z "${REDIS_URL:-}" ]; then
  rport=$(free_port)
  mkdir -p "$DATA/redis"
  setsid redis-server --port "$rport" --bind 127.0.0.1 --dir "$DATA/redis" --appendonly no \
    --save "" --daemonize no --loglevel warning --maxclients 20000 >"$DATA/redis.log" 2>&1 &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$rport/0"
  for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "services: private Redis on port $rport" >&2
fi

if [ -z "${DATABASE_URL:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGDIR="$DATA/pg"
  PGLOG="$DATA/pg.log"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$DATA"
    chmod 755 "$DATA"
    if ! runuser -u postgres -- test -x "$DATA"; then
      # The postgres user cannot reach this checkout (e.g. a clone under /root): keep this
      # checkout's cluster in /var/lib/guichet and link it from .data/pg.
      alt="/var/lib/guichet/$(printf %s "$DATA" | md5sum | cut -c1-12)"
      mkdir -p "$alt"
      chown postgres "$alt"
      [ -e "$DATA/pg" ] || ln -s "$alt/pg" "$DATA/pg"
      PGDIR="$alt/pg"
      PGLOG="$alt/pg.log"
    fi
  fi
  if [ ! -f "$PGDIR/PG_VERSION" ]; then
    mkdir -p "$PGDIR"
    [ "$(id -u)" -ne 0 ] || chown postgres "$PGDIR"
    chmod 700 "$PGDIR"
    pg_as "$PGBIN/initdb" -D "$PGDIR" -U guichet --auth=trust -E UTF8 >"$DATA/initdb.log"
  fi
  pport=$(free_port)
  PG_STARTED=1  # before: a Ctrl-C during the start still stops it
  pg_as "$PGBIN/pg_ctl" -D "$PGDIR" -l "$PGLOG" -w \
    -o "-p $pport -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  pg_as "$PGBIN/psql" -h 127.0.0.1 -p "$pport" -U guichet -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='guichet'" | grep -q 1 \
    || pg_as "$PGBIN/createdb" -h 127.0.0.1 -p "$pport" -U guichet guichet
  export DATABASE_URL="postgresql://guichet@127.0.0.1:$pport/guichet"
  echo "services: private Postgres on port $pport (data in $PGDIR)" >&2
fi

setsid "$@" &
child=$!
wait "$child"
