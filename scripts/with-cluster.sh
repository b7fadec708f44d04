#!/usr/bin/env bash
# Runs a command against a private Redis Cluster: 3 masters and 3 replicas from Debian's
# redis-server (cluster mode) on free ports under .data/cluster/, created afresh each run
# and stopped when the command exits. REDIS_URL is set to the cluster
# (redis+cluster://127.0.0.1:port,...); scripts/with-services.sh then adds the private
# Postgres (or uses DATABASE_URL). Each node has a config file, so a test that kills a
# node can start it again (`redis-server <its config_file>`, as INFO server reports it).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="$PWD/.data/cluster"
NODES=6
# A node not heard from for this long is failed over to its replica: short, so a test's
# failover takes a few seconds (production clusters keep Redis's 15 s default or so).
NODE_TIMEOUT_MS=${GUICHET_CLUSTER_NODE_TIMEOUT_MS:-1000}

command -v redis-server >/dev/null || { echo "redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ports=()
stop_nodes() {
  for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
}
trap stop_nodes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$DATA"
mkdir -p "$DATA"
for _ in $(seq "$NODES"); do
  port=$(free_port)
  # a cluster node also listens on port + 10000 (its bus): both must be free
  while [ "$port" -gt 55535 ] || [[ " ${ports[*]} " == *" $port "* ]] \
    || ! .venv/bin/python -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $port + 10000))" 2>/dev/null; do
    port=$(free_port)
  done
  ports+=("$port")
  dir="$DATA/$port"
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<EOF
port $port
bind 127.0.0.1
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
loglevel warning
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $NODE_TIMEOUT_MS
cluster-replica-validity-factor 0
appendonly no
save ""
maxclients 20000
EOF
  redis-server "$dir/redis.conf"
done
for port in "${ports[@]}"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

addresses=()
for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$DATA/create.log" 2>&1 \
  || { cat "$DATA/create.log" >&2; exit 1; }
ok=""
for _ in $(seq 100); do
  ok=1
  for port in "${ports[@]}"; do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { ok=""; break; }
  done
  [ -n "$ok" ] && break
  sleep 0.1
done
[ -n "$ok" ] || { echo "the cluster did not reach cluster_state:ok" >&2; exit 1; }
# every replica attached to its master (a failover needs one)
for _ in $(seq 100); do
  [ "$(redis-cli -p "${ports[0]}" cluster nodes | grep -c 'slave.*connected')" -ge 3 ] && break
  sleep 0.1
done

REDIS_URL="redis+cluster://$(IFS=,; echo "${addresses[*]}")"
export REDIS_URL
echo "services: private Redis Cluster (3 masters, 3 replicas) on ports ${ports[*]}" >&2
bash scripts/with-services.sh "$@"
