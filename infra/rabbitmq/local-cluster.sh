#!/usr/bin/env bash
# A real 3-node RabbitMQ cluster on one machine, for trying failover (bench/src/cluster.ts
# drives it under load). Run on demand, never in CI.
#
#   infra/rabbitmq/local-cluster.sh start          start pragma1..3@localhost and join them
#   infra/rabbitmq/local-cluster.sh stop           stop all three (data stays under $BASE)
#   infra/rabbitmq/local-cluster.sh stop-node N    stop pragmaN only (what a node loss looks like)
#   infra/rabbitmq/local-cluster.sh start-node N   start pragmaN again; it rejoins by itself
#   infra/rabbitmq/local-cluster.sh status         cluster_status seen from a running node
#   infra/rabbitmq/local-cluster.sh urls           the AMQP_URL list for the services
#   infra/rabbitmq/local-cluster.sh ctl N <args>   rabbitmqctl <args> against pragmaN
#   infra/rabbitmq/local-cluster.sh queues N <args> rabbitmq-queues <args> against pragmaN
#   infra/rabbitmq/local-cluster.sh clean          stop, then delete $BASE
#
# Node N (1..3): name pragmaN@localhost, AMQP 127.0.0.1:570N, distribution 2570N,
# management 1570N, data and logs under $BASE/pragmaN (default BASE=/tmp/pragma-rabbit-cluster).
#
# It never touches a broker it did not start: every command names its node (-n), HOME is
# $BASE, so the nodes and the CLI share an Erlang cookie of their own (a node started
# some other way, e.g. the machine's rabbit@localhost on 5672, has another cookie and
# cannot be reached from here even by mistake), and RABBITMQ_CONF_ENV_FILE /
# RABBITMQ_CONFIG_FILE / RABBITMQ_ENABLED_PLUGINS_FILE point at files under $BASE, so the
# machine's /etc/rabbitmq is neither read nor written.
set -euo pipefail

BASE=${PRAGMA_CLUSTER_DIR:-/tmp/pragma-rabbit-cluster}
BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
NODES=(1 2 3)

node_name() { echo "pragma$1@localhost"; }
amqp_port() { echo $((5700 + $1)); }
dist_port() { echo $((25700 + $1)); }
mgmt_port() { echo $((15700 + $1)); }

die() { echo "local-cluster: $*" >&2; exit 1; }
[ -x "$BIN/rabbitmq-server" ] || die "$BIN/rabbitmq-server not found (set RABBITMQ_BIN to RabbitMQ's bin directory)"

# The environment one node's server and CLI run with.
node_env() {
  local n=$1 dir="$BASE/pragma$1"
  echo HOME="$BASE" \
    RABBITMQ_CONF_ENV_FILE="$BASE/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT="$(dist_port "$n")" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/data" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_PID_FILE="$dir/pid" \
    ERL_EPMD_ADDRESS=127.0.0.1
}

ctl() { # ctl N <rabbitmqctl args>
  local n=$1; shift
  env $(node_env "$n") "$BIN/rabbitmqctl" -n "$(node_name "$n")" "$@"
}

queues() { # queues N <rabbitmq-queues args>
  local n=$1; shift
  env $(node_env "$n") "$BIN/rabbitmq-queues" -n "$(node_name "$n")" "$@"
}

running() { ctl "$1" -q ping >/dev/null 2>&1; }

prepare() {
  mkdir -p "$BASE"
  chmod 700 "$BASE"
  if [ ! -f "$BASE/.erlang.cookie" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' >"$BASE/.erlang.cookie"
    chmod 400 "$BASE/.erlang.cookie"
  fi
  : >"$BASE/rabbitmq-env.conf"
  # Management for inspecting queues (the leader of each); the services need no plugin.
  echo "[rabbitmq_management]." >"$BASE/enabled_plugins"
  for n in "${NODES[@]}"; do
    local dir="$BASE/pragma$n"
    mkdir -p "$dir/data" "$dir/log"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$(amqp_port "$n")
management.tcp.ip = 127.0.0.1
management.tcp.port = $(mgmt_port "$n")
# As infra/rabbitmq/rabbitmq.conf: leaders spread over the nodes, a minority pauses.
queue_leader_locator = balanced
cluster_partition_handling = pause_minority
consumer_timeout = 1800000
loopback_users.guest = true
EOF
    echo "[]." >"$dir/advanced.config"
  done
}

launch_node() {
  local n=$1
  if running "$n"; then echo "pragma$n already running"; return; fi
  # setsid: the node outlives this script and is not hit by the terminal's Ctrl-C.
  setsid env $(node_env "$n") "$BIN/rabbitmq-server" >>"$BASE/pragma$n/log/console.log" 2>&1 </dev/null &
}

await_node() {
  local n=$1 i
  # await_startup needs the node registered with epmd first: poll ping until then.
  for ((i = 0; i < 120; i++)); do running "$n" && break; sleep 1; done
  ctl "$n" -q await_startup --timeout 300 >/dev/null || die "pragma$n did not start; see $BASE/pragma$n/log"
  echo "pragma$n up: amqp 127.0.0.1:$(amqp_port "$n"), management http://127.0.0.1:$(mgmt_port "$n")"
}

start_node() { launch_node "$1"; await_node "$1"; }

joined() { ctl 1 -q cluster_status --formatter json 2>/dev/null | grep -q "\"$(node_name "$1")\""; }

cmd=${1:-}
case "$cmd" in
  start)
    prepare
    # All at once: after a full stop each clustered node waits for its peers' tables
    # before it finishes booting, so starting them one by one would deadlock.
    for n in "${NODES[@]}"; do launch_node "$n"; done
    for n in "${NODES[@]}"; do await_node "$n"; done
    for n in 2 3; do
      if joined "$n"; then continue; fi
      ctl "$n" -q stop_app
      ctl "$n" -q join_cluster "$(node_name 1)"
      ctl "$n" -q start_app
      echo "pragma$n joined $(node_name 1)"
    done
    ctl 1 -q await_online_nodes 3 --timeout 120 >/dev/null 2>&1 || true
    echo "running: $(ctl 1 -q eval 'lists:sort(rabbit_nodes:all_running()).' 2>/dev/null)"
    ;;
  start-node)
    [ -n "${2:-}" ] || die "start-node N"
    prepare
    start_node "$2"
    ;;
  stop-node)
    [ -n "${2:-}" ] || die "stop-node N"
    ctl "$2" -q stop && echo "pragma$2 stopped"
    ;;
  stop)
    for n in "${NODES[@]}"; do
      if running "$n"; then ctl "$n" -q stop && echo "pragma$n stopped"; fi
    done
    ;;
  status)
    for n in "${NODES[@]}"; do
      if running "$n"; then ctl "$n" cluster_status; exit 0; fi
    done
    die "no node running"
    ;;
  urls)
    user=${RABBITMQ_USER:-guest} pass=${RABBITMQ_PASSWORD:-guest}
    echo "amqp://$user:$pass@127.0.0.1:$(amqp_port 1),amqp://$user:$pass@127.0.0.1:$(amqp_port 2),amqp://$user:$pass@127.0.0.1:$(amqp_port 3)"
    ;;
  ctl)
    [ -n "${2:-}" ] || die "ctl N <rabbitmqctl args>"
    n=$2; shift 2
    ctl "$n" "$@"
    ;;
  queues)
    [ -n "${2:-}" ] || die "queues N <rabbitmq-queues args>"
    n=$2; shift 2
    queues "$n" "$@"
    ;;
  clean)
    "$0" stop || true
    rm -rf "$BASE"
    echo "removed $BASE"
    ;;
  *)
    sed -n '2,14p' "$0"
    exit 2
    ;;
esac
