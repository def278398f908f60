#!/usr/bin/env bash
# Installs wrk, the load generator of the 16-client HTTP benchmark: a C client does not take
# the CPU the server needs on a small machine. Never fails: without wrk the benchmark falls
# back to a Python client and says so in its output.
set -u

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else "$@"; fi; }

if ! have wrk; then
  if have apt-get; then
    echo "installing wrk with apt-get" >&2
    as_root apt-get update -qq >/dev/null 2>&1 \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1
  fi
  have wrk || echo "wrk is not installed; the 16-client HTTP figures will use the Python client" >&2
fi
exit 0
