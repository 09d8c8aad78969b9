#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries are installed: the distributed e2e deployment
# (tests/e2e/postgres.py) runs initdb into a temporary directory and starts its own throw-away
# cluster on a free loopback port. Installs the package with apt-get when running as root (and
# stops the packaged cluster it starts: nothing of ours uses it); otherwise says how to get it.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing postgresql (Debian package) for the distributed deployment tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  service postgresql stop >/dev/null 2>&1 || true
  exit 0
fi
echo "PostgreSQL's server binaries are needed: 'sudo apt-get install postgresql' (Debian/Ubuntu)," >&2
echo "'brew install postgresql' (macOS) or your system's package manager, then run this again." >&2
exit 1
