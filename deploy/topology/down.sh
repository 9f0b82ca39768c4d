#!/bin/sh
# Stops what deploy/topology/up.sh started in DIR and removes it: haproxy, the replicas, Mosquitto
# (SIGTERM, then SIGKILL after 10 s), the database (dropped), the directory.
#   deploy/topology/down.sh DIR [--keep-logs]
# Only the process ids recorded in DIR/topology.env are signalled.
set -eu
dir="${1:?usage: down.sh DIR [--keep-logs]}"
env_file="$dir/topology.env"
[ -f "$env_file" ] || { echo "down.sh: no topology in $dir" >&2; exit 1; }
BOSUN_TOPO_HAPROXY_PID="" BOSUN_TOPO_REPLICA_PIDS="" BOSUN_TOPO_MOSQUITTO_PID=""
BOSUN_TOPO_DATABASE="" BOSUN_TOPO_PG_URL=""
# shellcheck disable=SC1090
. "$env_file"

alive() { kill -0 "$1" 2>/dev/null; }
stop() { # pid...
  for pid in "$@"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    i=0
    while alive "$pid" && [ "$i" -lt 100 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

# The load balancer first (no new requests), then the replicas (they drain), then the broker.
[ -z "$BOSUN_TOPO_HAPROXY_PID" ] || stop "$BOSUN_TOPO_HAPROXY_PID"
# shellcheck disable=SC2046
[ -z "$BOSUN_TOPO_REPLICA_PIDS" ] || stop $(echo "$BOSUN_TOPO_REPLICA_PIDS" | tr ',' ' ')
[ -z "$BOSUN_TOPO_MOSQUITTO_PID" ] || stop "$BOSUN_TOPO_MOSQUITTO_PID"
if [ -n "$BOSUN_TOPO_DATABASE" ]; then
  psql "$BOSUN_TOPO_PG_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $BOSUN_TOPO_DATABASE WITH (FORCE)" >/dev/null
fi
if [ "${2:-}" = --keep-logs ]; then
  rm -f "$env_file"
else
  rm -rf "$dir"
fi
echo "topology in $dir is down"
