#!/usr/bin/env bash
# Installs Prometheus and promtool (Debian's `prometheus` package) unless both are already on
# PATH. Used by the metrics tests (scripts/test.sh calls it first). Prints the directory of the
# binaries on success.
#
#   scripts/install-prometheus.sh
#
# The tests find the binaries through WARDEN_PROMETHEUS_BIN / WARDEN_PROMTOOL_BIN, else PATH;
# under CI they fail (never skip) when the binaries are missing.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  dirname "$(command -v promtool)"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-prometheus: prometheus/promtool are missing and this is not root; run: sudo apt-get install -y --no-install-recommends prometheus" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-prometheus: prometheus/promtool are missing and apt-get is not available; install Prometheus 2.x (with promtool) on PATH" >&2
  exit 2
fi

echo "install-prometheus: installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
# The package's service is never started here: the tests run their own Prometheus.
policy_rc="/usr/sbin/policy-rc.d"
created_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
  chmod 0755 "$policy_rc"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy_rc"; fi; }
trap cleanup EXIT
if ! apt-get install -y --no-install-recommends prometheus >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends prometheus >&2 || {
    echo "install-prometheus: apt-get could not install prometheus; check access to Debian's archive" >&2
    exit 2
  }
fi

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "install-prometheus: prometheus and promtool are still not on PATH after installation" >&2
  exit 2
fi
dirname "$(command -v promtool)"
