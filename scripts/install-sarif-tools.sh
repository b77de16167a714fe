#!/usr/bin/env bash
# Installs sarif-tools (Microsoft's SARIF command line, PyPI `sarif-tools`) into the project's
# venv (.venv/) unless it is already there. Prints the path of its `sarif` command on success.
# The audit's SARIF test runs `sarif summary` on Warden's SARIF as a real consumer would.
#
#   scripts/install-sarif-tools.sh      # install if missing, print path
#
# Tests find `sarif` through WARDEN_SARIF_BIN, else .venv/bin/sarif (this script).
set -euo pipefail

SARIF_TOOLS_VERSION="3.0.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
sarif="$venv/bin/sarif"

if [ -x "$sarif" ] && "$venv/bin/pip" show sarif-tools 2>/dev/null | grep -qx "Version: ${SARIF_TOOLS_VERSION}"; then
  echo "$sarif"
  exit 0
fi

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install-sarif-tools: python3 is required to install sarif-tools from PyPI; install python3 (with venv) and retry" >&2
  exit 2
fi

if [ ! -x "$venv/bin/pip" ]; then
  "$python" -m venv "$venv" >&2 || {
    echo "install-sarif-tools: could not create a venv at .venv; install the python3-venv package and retry" >&2
    exit 2
  }
fi

echo "install-sarif-tools: installing sarif-tools==${SARIF_TOOLS_VERSION} into .venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "sarif-tools==${SARIF_TOOLS_VERSION}" >&2 || {
  echo "install-sarif-tools: pip could not install sarif-tools==${SARIF_TOOLS_VERSION}; check access to PyPI" >&2
  exit 2
}

if ! "$sarif" --version >/dev/null 2>&1; then
  echo "install-sarif-tools: $sarif does not run after installation" >&2
  exit 2
fi
echo "$sarif"
