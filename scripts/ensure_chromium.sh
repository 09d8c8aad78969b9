#!/usr/bin/env bash
# Make sure Debian's chromium is installed: the web-UI test (tests/ui) drives the Airflow UI with
# Playwright in headless chromium, launched from /usr/bin/chromium (Playwright's own browser
# download does not work on a machine without general internet access, Debian's package does).
# Installs it with apt-get when running as root; otherwise says how to get it. Quick and silent
# when it is already there.
set -euo pipefail
CHROMIUM="${DCS_UI_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing chromium (Debian package) for the web-UI test"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  "$CHROMIUM" --version
  exit 0
fi
echo "chromium is needed by the web-UI test (tests/ui): install it with 'sudo apt-get install chromium'" >&2
echo "(Debian/Ubuntu; or point DCS_UI_CHROMIUM at a Chromium/Chrome binary), then run this again." >&2
exit 1
