#!/bin/sh
# The secured reference topology on one machine, for tests and demos (docs/scale.md "Secured topology"):
#   deploy/topology/up.sh [DIR]        # then: . DIR/topology.env; deploy/topology/down.sh DIR
# Brings up, each on a free 127.0.0.1 port and all of it under DIR (default: a new temp dir):
#   - a private CA and a certificate for 127.0.0.1/localhost (openssl),
#   - a new database on an existing PostgreSQL (BOSUN_TOPO_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres),
#   - Mosquitto 2 with dynamic security: plain MQTT for the replicas, MQTT over TLS for robots,
#   - BOSUN_TOPO_REPLICAS (default 3) `bosun server` replicas started at the same moment,
#   - haproxy in front (deploy/haproxy/haproxy.cfg with these replicas), terminating TLS.
# Writes DIR/topology.env: BOSUN_SERVER (the load balancer), BOSUN_API_KEY (admin), BOSUN_CA_FILE
# (give it to `bosun-agent provision --ca-file`), the broker URLs, and the process ids for down.sh.
# Needs: node, psql, mosquitto (+ mosquitto_ctrl and its dynamic-security plugin), haproxy, openssl,
# curl. Run from a built clone of Bosun (npm ci), or set BOSUN_TOPO_BOSUN to a `bosun` command.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${1:-$(mktemp -d "${TMPDIR:-/tmp}/bosun-topology.XXXXXX")}"
replicas="${BOSUN_TOPO_REPLICAS:-3}"
pg_admin="${BOSUN_TOPO_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bosun="${BOSUN_TOPO_BOSUN:-node $repo/packages/cli/bin/bosun.mjs}"

die() { echo "up.sh: $*" >&2; exit 1; }
for tool in node psql mosquitto mosquitto_ctrl haproxy openssl curl; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || die "$tool is not installed"
done
PATH="$PATH:/usr/sbin"
plugin="$(ls /usr/lib/*/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so 2>/dev/null | head -n 1 || true)"
[ -n "$plugin" ] || die "mosquitto_dynamic_security.so not found (Debian package: mosquitto >= 2.0)"
case "$replicas" in '' | *[!0-9]*) die "BOSUN_TOPO_REPLICAS must be a number" ;; esac
[ -z "$(ls -A "$dir" 2>/dev/null)" ] || die "$dir is not empty (a topology there? deploy/topology/down.sh $dir)"
mkdir -p "$dir"
env_file="$dir/topology.env"
# Everything started so far is recorded as it starts, so down.sh can undo a half-finished up.sh.
: >"$env_file"
record() { printf '%s=%s\n' "$1" "$2" >>"$env_file"; }
trap 'status=$?; if [ "$status" != 0 ]; then echo "up.sh: failed; logs in $dir; undoing" >&2; "$here/down.sh" "$dir" --keep-logs >&2 || true; fi' EXIT

# Free ports, all chosen at once so no two are the same.
ports="$(node -e '
  const net = require("node:net");
  const n = Number(process.argv[1]);
  const servers = Array.from({ length: n }, () => net.createServer());
  Promise.all(servers.map((s) => new Promise((r) => s.listen(0, "127.0.0.1", () => r(s.address().port)))))
    .then((ps) => { console.log(ps.join(" ")); servers.forEach((s) => s.close()); });
' "$((replicas + 3))")"
set -- $ports
lb_port="$1" mqtt_port="$2" mqtts_port="$3"
shift 3
replica_ports="$*"

secret() { head -c 24 /dev/urandom | base64 | tr -d '+/=\n'; }

echo "== private CA and certificate ($dir/pki)"
pki="$dir/pki"
mkdir -p "$pki"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086
openssl req -x509 $ec -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 -subj "/CN=Bosun topology CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# shellcheck disable=SC2086
openssl req $ec -keyout "$pki/server.key" -out "$pki/server.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$pki/server.ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/server.crt" -days 30 -extfile "$pki/server.ext" 2>/dev/null
cat "$pki/server.crt" "$pki/server.key" >"$pki/lb.pem"
chmod 0600 "$pki/ca.key" "$pki/server.key" "$pki/lb.pem"
record BOSUN_CA_FILE "$pki/ca.crt"

echo "== PostgreSQL database"
db="bosun_topo_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
psql "$pg_admin" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $db" >/dev/null
record BOSUN_TOPO_PG_URL "$pg_admin"
record BOSUN_TOPO_DATABASE "$db"
database_url="${pg_admin%/*}/$db"

echo "== Mosquitto with dynamic security (mqtt :$mqtt_port for replicas, mqtts :$mqtts_port for robots)"
mq="$dir/mosquitto"
mkdir -p "$mq"
broker_password="$(secret)"
mosquitto_ctrl dynsec init "$mq/dynamic-security.json" bosun-server "$broker_password" >/dev/null
cp "$pki/server.crt" "$mq/broker.crt"
cp "$pki/server.key" "$mq/broker.key"
# The same settings as deploy/mosquitto/mosquitto.conf, on this topology's ports and paths.
{
  echo "per_listener_settings false"
  echo "allow_anonymous false"
  echo "listener $mqtt_port 127.0.0.1"
  echo "listener $mqtts_port 127.0.0.1"
  echo "certfile $mq/broker.crt"
  echo "keyfile $mq/broker.key"
  echo "plugin $plugin"
  echo "plugin_opt_config_file $mq/dynamic-security.json"
  echo "persistence true"
  echo "persistence_location $mq/"
  echo "autosave_interval 60"
  # Started as root, Mosquitto drops to its own user, which must own its files.
  if [ "$(id -u)" = 0 ]; then echo "user mosquitto"; fi
} >"$mq/mosquitto.conf"
if [ "$(id -u)" = 0 ]; then
  chmod 0755 "$dir"
  chown -R mosquitto: "$mq"
  runuser -u mosquitto -- test -r "$mq/mosquitto.conf" ||
    die "the mosquitto user cannot reach $mq: choose a DIR whose parents others may enter"
fi
mosquitto -c "$mq/mosquitto.conf" >"$mq/log" 2>&1 &
mosquitto_pid=$!
record BOSUN_TOPO_MOSQUITTO_PID "$mosquitto_pid"
record BOSUN_MQTT_PUBLIC_URL "mqtts://127.0.0.1:$mqtts_port"

wait_for() { # what, pid of the process it waits for, command...
  what="$1" pid="$2"
  shift 2
  i=0
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || die "$what exited (its log is in $dir)"
    i=$((i + 1))
    [ "$i" -lt 600 ] || die "gave up waiting for $what"
    sleep 0.2
  done
}
wait_for "Mosquitto" "$mosquitto_pid" node -e '
  const s = require("node:net").connect(Number(process.argv[1]), "127.0.0.1");
  s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));
' "$mqtt_port"

echo "== $replicas Bosun replicas, started together"
admin_key="bsn_topo_$(secret)"
record BOSUN_API_KEY "$admin_key"
pids=""
urls=""
i=0
for port in $replica_ports; do
  i=$((i + 1))
  mkdir -p "$dir/replica$i"
  # shellcheck disable=SC2086
  BOSUN_DATABASE_URL="$database_url" \
    BOSUN_MQTT_URL="mqtt://bosun-server:$broker_password@127.0.0.1:$mqtt_port" \
    BOSUN_MQTT_AUTH=dynsec \
    BOSUN_MQTT_PUBLIC_URL="mqtts://127.0.0.1:$mqtts_port" \
    BOSUN_PUBLIC_URL="https://127.0.0.1:$lb_port" \
    BOSUN_BOOTSTRAP_API_KEY="$admin_key" \
    BOSUN_DATA_DIR="$dir/replica$i" \
    $bosun server --host 127.0.0.1 --port "$port" >"$dir/replica$i/log" 2>&1 &
  pids="$pids${pids:+,}$!"
  urls="$urls${urls:+,}http://127.0.0.1:$port"
done
record BOSUN_TOPO_REPLICA_PIDS "$pids"
record BOSUN_TOPO_REPLICA_URLS "$urls"
set -- $(echo "$pids" | tr ',' ' ')
for port in $replica_ports; do
  wait_for "the replica on :$port" "$1" curl -fsS "http://127.0.0.1:$port/healthz"
  shift
done

echo "== haproxy on https://127.0.0.1:$lb_port"
{
  sed '/^    server bosun[0-9]/d' "$repo/deploy/haproxy/haproxy.cfg"
  i=0
  for port in $replica_ports; do
    i=$((i + 1))
    echo "    server bosun$i 127.0.0.1:$port check"
  done
} >"$dir/haproxy.cfg"
BOSUN_LB_BIND="127.0.0.1:$lb_port" BOSUN_LB_CERT="$pki/lb.pem" haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!
record BOSUN_TOPO_HAPROXY_PID "$haproxy_pid"
wait_for "haproxy" "$haproxy_pid" curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$lb_port/healthz"
record BOSUN_SERVER "https://127.0.0.1:$lb_port"

trap - EXIT
cat <<EOF

Bosun topology up in $dir:
  load balancer   https://127.0.0.1:$lb_port   (CA: $pki/ca.crt)
  replicas        $urls
  broker          mqtts://127.0.0.1:$mqtts_port for robots, mqtt://127.0.0.1:$mqtt_port for replicas
  database        $database_url
Use it:   . $env_file; export BOSUN_SERVER BOSUN_API_KEY
          bosun-agent provision --server \$BOSUN_SERVER --ca-file \$BOSUN_CA_FILE --token ...
Stop it:  $here/down.sh $dir
EOF
