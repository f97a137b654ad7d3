#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379 (or $SSO_BRIDGE_TEST_REDIS_PORT) for the
# Redis-backed tests; starts a throw-away one (no persistence) when none does.
set -euo pipefail
port="${SSO_BRIDGE_TEST_REDIS_PORT:-6379}"

answers() { redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; }
answers && exit 0

echo "ensure-redis: no Redis on 127.0.0.1:$port, starting one"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --dir /tmp --logfile "/tmp/sso-bridge-test-redis-$port.log"
for _ in $(seq 1 50); do
    answers && exit 0
    sleep 0.1
done
echo "ensure-redis: Redis did not start on port $port" >&2
exit 1
