#!/usr/bin/env bash
# Make sure Debian's redis-server is installed (the demo and the real-migration tests start their own
# redis-server processes on free loopback ports). Installs it with apt-get when running as root;
# otherwise says how to get it.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/sbin/redis-server ] || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing redis-server (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  # Our tests and the demo start their own servers on free ports; a packaged service on 6379
  # would only get in the way of tests that expect nothing to listen there.
  service redis-server stop >/dev/null 2>&1 || true
  exit 0
fi
echo "redis-server is needed: install it with 'sudo apt-get install redis-server' (Debian/Ubuntu)," >&2
echo "'brew install redis' (macOS) or your system's package manager, then run this again." >&2
exit 1
