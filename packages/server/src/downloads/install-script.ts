/**
 * `GET /install.sh`: enrols a robot in one line,
 *   curl -fsSL https://SERVER/install.sh | sudo sh -s -- --token bsn_act_...
 * POSIX sh (dash, busybox ash). Kept here as text (not a file beside the code) so it ships inside the
 * compiled server. The only substitution is the server URL, checked by `safeServerUrl` so it can
 * never break out of its single quotes. The script avoids `${...}` so it reads as plain shell here.
 */
const TEMPLATE = String.raw`#!/bin/sh
# Bosun agent installer, served by the Bosun server at @SERVER_URL@
#   curl -fsSL @SERVER_URL@/install.sh | sudo sh -s -- --token bsn_act_...
# Installs the bosun-agent .deb when dpkg exists (else the executable and its systemd unit),
# writes /etc/bosun/agent.env, provisions the device with the token and starts the agent.
set -eu

SERVER_URL='@SERVER_URL@'
TOKEN=''
PREFIX=''
SYSTEMD=1

usage() {
  cat <<USAGE
usage: install.sh --token bsn_act_... [--server URL] [--prefix DIR] [--no-systemd]
  --token TOKEN  activation token (bosun devices activation-token DEVICE_ID)
  --server URL   Bosun server (default $SERVER_URL)
  --prefix DIR   install under DIR instead of / (implies the executable, not the .deb)
  --no-systemd   do not install, enable or start the systemd unit
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --token) [ $# -ge 2 ] || die "--token needs a value"; TOKEN=$2; shift 2 ;;
    --token=*) TOKEN=$(printf '%s' "$1" | cut -d= -f2-); shift ;;
    --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER_URL=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX=$2; shift 2 ;;
    --no-systemd) SYSTEMD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
[ -n "$TOKEN" ] || { usage >&2; die "an activation token is required (--token)"; }
if [ -n "$PREFIX" ]; then
  mkdir -p "$PREFIX"
  PREFIX=$(cd "$PREFIX" && pwd)
fi

case "$(uname -m)" in
  x86_64|amd64) ARCH=x64; DEB_ARCH=amd64 ;;
  aarch64|arm64) ARCH=arm64; DEB_ARCH=arm64 ;;
  *) die "unsupported architecture $(uname -m) (x86_64 and aarch64 are built)" ;;
esac

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$2" "$SERVER_URL/downloads/$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$SERVER_URL/downloads/$1"
  else
    die "neither curl nor wget is installed"
  fi
}

# SHA-256 of a file: openssl first (it uses the CPU's SHA instructions, ~5x faster than coreutils
# on a 110 MB executable), else sha256sum; nothing when neither exists.
sha256_of() {
  if command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  elif command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  fi
}

# Downloads a file and checks it against the server's SHA256SUMS.
fetch_checked() {
  fetch "$1" "$TMP/$1" || die "cannot download $SERVER_URL/downloads/$1"
  actual=$(sha256_of "$TMP/$1")
  if [ -n "$actual" ]; then
    expected=$(awk -v f="$1" '$2 == f { print $1 }' "$TMP/SHA256SUMS")
    [ -n "$expected" ] || die "$1 is not listed in SHA256SUMS"
    [ "$expected" = "$actual" ] || die "checksum mismatch for $1"
  else
    echo "install.sh: neither openssl nor sha256sum found; not verifying $1" >&2
  fi
}

if [ "$(id -u)" != 0 ] && [ -z "$PREFIX" ]; then
  die "run as root (sudo sh -s -- ...), or pass --prefix DIR"
fi

fetch SHA256SUMS "$TMP/SHA256SUMS" || die "cannot reach $SERVER_URL/downloads/SHA256SUMS"

BIN="$PREFIX/usr/bin/bosun-agent"
ENV_FILE="$PREFIX/etc/bosun/agent.env"
STATE_DIR="$PREFIX/var/lib/bosun"
USE_DEB=0
if [ -z "$PREFIX" ] && command -v dpkg >/dev/null 2>&1; then USE_DEB=1; fi

if [ "$USE_DEB" = 1 ]; then
  echo "Installing bosun-agent_$DEB_ARCH.deb"
  fetch_checked "bosun-agent_$DEB_ARCH.deb"
  dpkg -i "$TMP/bosun-agent_$DEB_ARCH.deb" >/dev/null
else
  echo "Installing bosun-agent-linux-$ARCH to $BIN"
  fetch_checked "bosun-agent-linux-$ARCH"
  mkdir -p "$PREFIX/usr/bin" "$PREFIX/etc/bosun"
  install -m 0755 "$TMP/bosun-agent-linux-$ARCH" "$BIN"
  if [ "$SYSTEMD" = 1 ]; then
    fetch_checked bosun-agent.service
    mkdir -p "$PREFIX/etc/systemd/system"
    install -m 0644 "$TMP/bosun-agent.service" "$PREFIX/etc/systemd/system/bosun-agent.service"
    if [ -z "$PREFIX" ]; then
      getent group bosun >/dev/null 2>&1 || groupadd --system bosun
      getent passwd bosun >/dev/null 2>&1 || useradd --system --gid bosun --home-dir /var/lib/bosun \
        --no-create-home --shell /usr/sbin/nologin --comment 'Bosun agent' bosun
    fi
  fi
fi

# The server URL in agent.env; every other line (the administrator's) is kept.
mkdir -p "$PREFIX/etc/bosun"
if [ -f "$ENV_FILE" ]; then
  grep -v '^#\{0,1\}BOSUN_SERVER_URL=' "$ENV_FILE" > "$TMP/agent.env" || true
else
  printf '%s\n' 'BOSUN_AGENT_STATE_DIR=/var/lib/bosun' 'BOSUN_AGENT_SOCKET=/run/bosun/bosun.sock' \
    'BOSUN_LOG_LEVEL=info' > "$TMP/agent.env"
fi
printf 'BOSUN_SERVER_URL=%s\n' "$SERVER_URL" >> "$TMP/agent.env"
cat "$TMP/agent.env" > "$ENV_FILE"
chmod 0640 "$ENV_FILE"

mkdir -p "$STATE_DIR"
"$BIN" provision --server "$SERVER_URL" --token "$TOKEN" --state-dir "$STATE_DIR"
if [ -z "$PREFIX" ] && getent passwd bosun >/dev/null 2>&1; then
  chown -R bosun:bosun "$STATE_DIR"
  chown root:bosun "$ENV_FILE"
fi

if [ "$SYSTEMD" = 1 ] && [ -z "$PREFIX" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable bosun-agent.service >/dev/null 2>&1
  systemctl restart bosun-agent.service
  echo "bosun-agent is running: systemctl status bosun-agent; bosun-agent status"
else
  echo "Installed. Start the agent with:"
  echo "  $BIN run --state-dir $STATE_DIR"
fi
`;

/** The URL put into the script: http(s), host and port only, nothing a shell would interpret. */
export function safeServerUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return undefined;
  if (parsed.username || parsed.password || parsed.search || parsed.hash) return undefined;
  const clean = `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
  return /^https?:\/\/[A-Za-z0-9.:[\]_~/-]+$/.test(clean) ? clean : undefined;
}

export function renderInstallScript(serverUrl: string): string {
  return TEMPLATE.replaceAll('@SERVER_URL@', serverUrl);
}
