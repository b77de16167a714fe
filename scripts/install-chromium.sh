#!/usr/bin/env bash
# Installs Chromium (Debian's `chromium` package) unless a Chromium is already there. Prints the
# path of the browser on success. The audit's HTML test renders the report with headless
# Chromium (a PDF, a screenshot and the DOM) and checks it shows the charts and the table of
# contents without a CSP violation or console error; scripts/demo.sh takes a screenshot with it.
#
#   scripts/install-chromium.sh      # install if missing, print path
#
# Tests find the browser through WARDEN_CHROMIUM_BIN, else this script; under CI they fail
# (never skip) when it is missing.
set -euo pipefail

find_chromium() {
  local c
  if [ -n "${WARDEN_CHROMIUM_BIN:-}" ] && [ -x "$WARDEN_CHROMIUM_BIN" ]; then
    echo "$WARDEN_CHROMIUM_BIN"
    return 0
  fi
  for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  return 1
}

if path="$(find_chromium)"; then
  echo "$path"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-chromium: chromium is missing and this is not root; run: sudo apt-get install -y --no-install-recommends chromium" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: chromium is missing and apt-get is not available; install Chromium and set WARDEN_CHROMIUM_BIN to its path" >&2
  exit 2
fi

echo "install-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends chromium >&2 || {
    echo "install-chromium: apt-get could not install chromium; check access to Debian's archive" >&2
    exit 2
  }
fi

if ! path="$(find_chromium)"; then
  echo "install-chromium: chromium is still not on PATH after installation" >&2
  exit 2
fi
if ! "$path" --version >/dev/null 2>&1; then
  echo "install-chromium: $path does not run after installation (try: $path --version)" >&2
  exit 2
fi
echo "$path"
