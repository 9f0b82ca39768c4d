#!/bin/sh
# One command to prepare RabbitMQ for Bosun (docs/scale.md "Secured topology"):
#   sudo deploy/rabbitmq/setup-http-auth.sh http://bosun.internal:8080
# Enables rabbitmq_mqtt, rabbitmq_web_mqtt and rabbitmq_auth_backend_http installs
# deploy/rabbitmq/rabbitmq.conf pointing at the given Bosun URL with a generated broker secret,
# creates the server's internal user, restarts RabbitMQ and prints the server's environment lines.
set -eu
bosun="${1:?usage: setup-http-auth.sh http://bosun.internal:8080}"
here="$(cd "$(dirname "$0")" && pwd)"
secret="$(head -c 24 /dev/urandom | base64 | tr -d '+/=')"
password="$(head -c 24 /dev/urandom | base64 | tr -d '+/=')"
hostport="${bosun#http://}"
rabbitmq-plugins enable --offline rabbitmq_mqtt rabbitmq_web_mqtt rabbitmq_auth_backend_http
sed -e "s#BROKER_AUTH_SECRET@bosun.internal:8080#$secret@$hostport#" "$here/rabbitmq.conf" >/etc/rabbitmq/rabbitmq.conf
systemctl restart rabbitmq-server
rabbitmqctl add_user bosun-server "$password" >/dev/null
rabbitmqctl set_permissions -p / bosun-server '.*' '.*' '.*' >/dev/null
rabbitmqctl set_topic_permissions -p / bosun-server amq.topic '^bosun\.v1\.devices\.' '^bosun\.v1\.devices\.' >/dev/null
rabbitmqctl delete_user guest >/dev/null 2>&1 || true
echo "BOSUN_MQTT_URL=mqtt://bosun-server:$password@$(hostname -f):1883"
echo "BOSUN_MQTT_AUTH=http"
echo "BOSUN_BROKER_AUTH_SECRET=$secret"
