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

# shellcheck source=scripts/lib/venv-pip.sh
source "$root/scripts/lib/venv-pip.sh"
venv_pip_install install-sarif-tools sarif-tools "$SARIF_TOOLS_VERSION"

if ! "$sarif" --version >/dev/null 2>&1; then
  echo "install-sarif-tools: $sarif does not run after installation" >&2
  exit 2
fi
echo "$sarif"
