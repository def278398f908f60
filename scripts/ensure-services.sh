#!/usr/bin/env bash
# Makes sure the server binaries the tests use are installed, and starts the standard
# local Redis (6379) and PostgreSQL (5432) when they are installed but not running.
# Tests that need a server they can kill or reconfigure start their own on a free port.
set -u

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else "$@"; fi; }

missing=()
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || missing+=(postgresql)
have openssl || missing+=(openssl)
have chromium || missing+=(chromium)  # headless rendering check of the `fsdbt stats --html` report
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} with apt-get" >&2
  as_root apt-get update -qq >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if have redis-cli && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server on 127.0.0.1:6379" >&2
  mkdir -p /tmp/fsdbt-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/fsdbt-redis --logfile /tmp/fsdbt-redis/redis.log >/dev/null 2>&1 || true
fi

if have pg_isready && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if have pg_ctlcluster && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "starting the local PostgreSQL cluster" >&2
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
  fi
fi
# Anything still missing is handled by the test fixtures, which start private servers.
exit 0
