#!/bin/sh
# One command to prepare Mosquitto 2 for Bosun (docs/scale.md "Secured topology"):
#   sudo deploy/mosquitto/setup-dynsec.sh [server-user]
# Creates the dynamic-security file with the Bosun server's broker account as the plugin's admin,
# installs deploy/mosquitto/mosquitto.conf as a conf.d drop-in, restarts Mosquitto and prints the
# BOSUN_MQTT_URL / BOSUN_MQTT_AUTH lines for the server. The password is generated and shown once.
# At its first connection the server gives its account the `bosun-server` role (every device topic)
# and from then on creates one client and role per device.
set -eu
user="${1:-bosun-server}"
here="$(cd "$(dirname "$0")" && pwd)"
file=/var/lib/mosquitto/dynamic-security.json
plugin="$(dpkg -L mosquitto 2>/dev/null | grep 'mosquitto_dynamic_security\.so$' | head -n 1)"
[ -n "$plugin" ] || { echo "mosquitto_dynamic_security.so not found (Debian package: mosquitto >= 2.0)" >&2; exit 1; }
[ ! -e "$file" ] || { echo "$file exists; remove it to start over" >&2; exit 1; }
password="$(head -c 24 /dev/urandom | base64 | tr -d '+/=')"
mosquitto_ctrl dynsec init "$file" "$user" "$password" >/dev/null
chown mosquitto: "$file"
chmod 0600 "$file"
sed "s#^plugin .*#plugin $plugin#" "$here/mosquitto.conf" >/etc/mosquitto/conf.d/bosun.conf
systemctl restart mosquitto
echo "BOSUN_MQTT_URL=mqtt://$user:$password@$(hostname -f):1883"
echo "BOSUN_MQTT_AUTH=dynsec"
echo "BOSUN_MQTT_PUBLIC_URL=mqtts://$(hostname -f):8883"
