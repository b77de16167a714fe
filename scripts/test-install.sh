#!/usr/bin/env bash
# The install test: builds the .deb and .rpm with scripts/package.sh, installs the .deb into a
# throwaway root with `dpkg --root` (its maintainer scripts run against that root: they honour
# DPKG_ROOT), and checks what an ops host would get: the user, owners and modes, conffiles kept
# on reinstall, `systemd-analyze verify` on the installed unit, and the installed example config
# accepted by the installed `wardend --check-config` running as the service user. Then the .rpm
# (rpm -qlp, --scripts, owners, modes and config flags) and the launchd job.
#
#   scripts/test-install.sh            (PACKAGE_PROFILE=release to test the release build)
#
# Needs root (dpkg --root, setpriv). Missing tools are installed with apt-get; when that is
# impossible the test fails under CI and is skipped, loudly, elsewhere.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${PACKAGE_PROFILE:-dev}"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "test-install: ok: $*"; }
bad() { failed=$((failed + 1)); echo "test-install: FAIL: $*" >&2; }
check() { # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
skip_or_fail() {
  if [ -n "${CI:-}" ]; then echo "test-install: FAIL: $*" >&2; exit 1; fi
  echo "test-install: SKIPPED: $*" >&2
  exit 0
}

[ "$(id -u)" = 0 ] || skip_or_fail "must run as root (dpkg --root, setpriv)"
missing=()
for pair in dpkg-deb:dpkg rpm:rpm rpmbuild:rpm systemd-analyze:systemd systemd-sysusers:systemd \
  systemd-tmpfiles:systemd setpriv:util-linux python3:python3 objdump:binutils strip:binutils; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
[ -x /bin/kill ] || missing+=(procps)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "test-install: installing ${missing[*]}" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }; } >&2 ||
    skip_or_fail "cannot install ${missing[*]}"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 0755 "$work" # the service user must reach the throwaway root

# ---- build
mapfile -t pkgs < <(scripts/package.sh --profile "$profile" --out "$work/out")
deb="${pkgs[0]}"
rpm="${pkgs[1]}"
check "package.sh built a .deb and an .rpm" test -s "$deb" -a -s "$rpm"

# ---- the .deb's control files
dpkg-deb -e "$deb" "$work/control"
check "the three config files are conffiles" \
  diff <(sort "$work/control/conffiles") <(printf '%s\n' /etc/jamf-warden/baseline.toml \
    /etc/jamf-warden/desired/acme.toml /etc/jamf-warden/wardend.toml)
never_starts() { ! grep -Ev '^[[:space:]]*#' "$@" | grep -E 'systemctl +(start|restart|try-restart|reload-or-restart|enable)|invoke-rc\.d|deb-systemd-invoke'; }
check "the maintainer scripts never start or enable the service" \
  never_starts "$work/control/postinst" "$work/control/prerm" "$work/control/postrm"
for script in postinst prerm postrm; do
  check "the $script script parses" sh -n "$work/control/$script"
done

# ---- install into a throwaway root; the maintainer scripts run against it (DPKG_ROOT)
r="$work/root"
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" "$r/var/lib/dpkg/triggers"
touch "$r/var/lib/dpkg/status"
chmod -R 0755 "$r"
dpkg_root() { dpkg --root="$r" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
dpkg_root -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; bad "dpkg --root -i"; }

entry="$(grep '^jamf-warden:' "$r/etc/passwd" || true)"
uid="$(cut -d: -f3 <<<"$entry")"
gid="$(awk -F: '$1 == "jamf-warden" { print $3 }' "$r/etc/group")"
check "postinst created the system user jamf-warden ($entry)" \
  test -n "$uid" -a -n "$gid" -a "${uid:-1000}" -lt 1000 -a "$(cut -d: -f6,7 <<<"$entry")" = /var/lib/jamf-warden:/usr/sbin/nologin
mode() { # mode PATH MODE UID GID
  local got
  got="$(stat -c '%a %u:%g' "$r$1")"
  check "$1 is $2 $3:$4" test "$got" = "$2 $3:$4"
}
mode /etc/jamf-warden 750 0 "$gid"
mode /etc/jamf-warden/desired 750 0 "$gid"
mode /etc/jamf-warden/credentials 700 0 0
mode /etc/jamf-warden/wardend.toml 640 0 "$gid"
mode /etc/jamf-warden/baseline.toml 640 0 "$gid"
mode /etc/jamf-warden/desired/acme.toml 640 0 "$gid"
mode /usr/bin/wardend 755 0 0
mode /usr/bin/wardenctl 755 0 0
mode /lib/systemd/system/jamf-warden.service 644 0 0
mode /usr/lib/sysusers.d/jamf-warden.conf 644 0 0
mode /usr/lib/tmpfiles.d/jamf-warden.conf 644 0 0
check "nothing under /etc/jamf-warden is open to others" \
  test -z "$(find "$r/etc/jamf-warden" -perm /o=rwx)"
for f in /usr/share/man/man8/wardend.8.gz /usr/share/man/man1/wardenctl.1.gz \
  /usr/share/man/man1/wardenctl-rotate.1.gz /usr/share/bash-completion/completions/wardenctl \
  /usr/share/zsh/vendor-completions/_wardenctl /usr/share/fish/vendor_completions.d/wardenctl.fish \
  /usr/share/doc/jamf-warden/README.md /usr/share/doc/jamf-warden/copyright; do
  check "$f is installed" test -s "$r$f"
done
check "wardend.8 is a section-8 man page of wardend" grep -q '^\.TH wardend 8' <(gzip -dc "$r/usr/share/man/man8/wardend.8.gz")
check "the bash completion is what the installed wardenctl prints" \
  cmp -s "$r/usr/share/bash-completion/completions/wardenctl" <("$r/usr/bin/wardenctl" completions bash)
check "the installed wardend says it is wardend" grep -q '^wardend ' <("$r/usr/bin/wardend" --version)

# ---- the installed unit
unit="$r/lib/systemd/system/jamf-warden.service"
code() { grep -v '^#' "$unit"; }
check "the unit starts /usr/bin/wardend" grep -qx 'ExecStart=/usr/bin/wardend --config /etc/jamf-warden/wardend.toml' <(code)
check "the unit has no /usr/local path" test -z "$(code | grep /usr/local || true)"
check "the unit has no ExecStartPre (a failing one is restarted forever)" test -z "$(code | grep ExecStartPre || true)"
check "the unit does not restart exit 2 and bounds other restarts" \
  sh -c 'grep -qx RestartPreventExitStatus=2 "$1" && grep -qx StartLimitBurst=5 "$1"' _ "$unit"
# The throwaway root gets what the unit needs from a systemd host: systemd's own units (the
# targets it is ordered against) and /bin/kill (ExecReload).
cp -an /lib/systemd/system/. "$r/lib/systemd/system/"
install -D -m 0755 /bin/kill "$r/bin/kill"
verify() { systemd-analyze verify --man=no --root="$r" "/lib/systemd/system/$1" 2>&1; }
if out="$(verify jamf-warden.service)" && [ -z "$out" ]; then
  ok "systemd-analyze verify passes on the installed unit"
else
  bad "systemd-analyze verify on the installed unit: $out"
fi
# control: verify does look for the binary inside the root
sed 's|/usr/bin/wardend|/usr/local/bin/wardend|' "$unit" >"$r/lib/systemd/system/jw-control.service"
out="$(verify jw-control.service || true)"
check "control: verify refuses a unit whose binary is not in the root" grep -q 'not executable' <<<"$out"
rm "$r/lib/systemd/system/jw-control.service"

# ---- the installed example, checked by the installed wardend as the service user
as_user() { setpriv --reuid="$1" --regid="$2" --clear-groups "$r/usr/bin/wardend" \
  --config "$r/etc/jamf-warden/wardend.toml" --check-config; }
if as_user "$uid" "$gid" >"$work/effective" 2>"$work/check.err"; then
  ok "wardend --check-config accepts the installed example as jamf-warden"
else
  bad "wardend --check-config as jamf-warden: $(cat "$work/check.err")"
fi
check "... with the installed desired files" grep -q "$r/etc/jamf-warden/desired/acme.toml" "$work/effective"
check "control: another user cannot read the config" \
  sh -c '! "$@" >/dev/null 2>&1' _ setpriv --reuid=65534 --regid=65534 --clear-groups \
  "$r/usr/bin/wardend" --config "$r/etc/jamf-warden/wardend.toml" --check-config

# ---- an edited config survives a reinstall (conffile), and a removal
echo "# edited by the admin" >>"$r/etc/jamf-warden/wardend.toml"
dpkg_root -i "$deb" >"$work/dpkg2.log" 2>&1 || { cat "$work/dpkg2.log" >&2; bad "dpkg --root -i (again)"; }
check "reinstalling keeps the edited wardend.toml" grep -q '^# edited by the admin' "$r/etc/jamf-warden/wardend.toml"
mode /etc/jamf-warden/wardend.toml 640 0 "$gid"
dpkg_root -r jamf-warden >"$work/dpkg3.log" 2>&1 || { cat "$work/dpkg3.log" >&2; bad "dpkg --root -r"; }
check "removing drops the binaries" test ! -e "$r/usr/bin/wardend"
check "removing keeps the edited wardend.toml" grep -q '^# edited by the admin' "$r/etc/jamf-warden/wardend.toml"

# ---- the .rpm
rpm -qlp "$rpm" >"$work/rpm.files"
for f in /usr/bin/wardend /usr/bin/wardenctl /usr/lib/systemd/system/jamf-warden.service \
  /usr/lib/sysusers.d/jamf-warden.conf /usr/lib/tmpfiles.d/jamf-warden.conf \
  /etc/jamf-warden/wardend.toml /etc/jamf-warden/baseline.toml /etc/jamf-warden/desired/acme.toml \
  /etc/jamf-warden/credentials /usr/share/man/man8/wardend.8.gz /usr/share/man/man1/wardenctl.1.gz \
  /usr/share/bash-completion/completions/wardenctl /usr/share/zsh/site-functions/_wardenctl \
  /usr/share/fish/vendor_completions.d/wardenctl.fish /usr/share/doc/jamf-warden/README.md; do
  check "rpm -qlp lists $f" grep -qx "$f" "$work/rpm.files"
done
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" >"$work/rpm.attrs"
for line in 'drwxr-x--- root:jamf-warden  /etc/jamf-warden' \
  'drwx------ root:root  /etc/jamf-warden/credentials' \
  '-rw-r----- root:jamf-warden cn /etc/jamf-warden/wardend.toml' \
  '-rw-r----- root:jamf-warden cn /etc/jamf-warden/desired/acme.toml' \
  '-rwxr-xr-x root:root  /usr/bin/wardend'; do
  check "rpm: $line" grep -qxF -- "$line" "$work/rpm.attrs"
done
rpm -qp --scripts "$rpm" >"$work/rpm.scripts"
check "rpm %pre creates the user with systemd-sysusers (useradd fallback)" \
  grep -q 'systemd-sysusers.*--replace=/usr/lib/sysusers.d/jamf-warden.conf' "$work/rpm.scripts"
check "rpm %post applies the tmpfiles entry" grep -q 'systemd-tmpfiles.*--create jamf-warden.conf' "$work/rpm.scripts"
check "rpm scripts never start or enable the service" never_starts "$work/rpm.scripts"
# the %pre scriptlet, run against an empty root (its shell honours DPKG_ROOT like the deb's)
r2="$work/rpmroot"
mkdir -p "$r2/etc"
DPKG_ROOT="$r2" sh <(rpm -qp --qf '%{PREIN}' "$rpm") >/dev/null 2>&1 || true
check "the rpm's %pre creates the jamf-warden user" grep -q '^jamf-warden:x:[0-9]*:[0-9]*:Jamf Warden daemon:/var/lib/jamf-warden:' "$r2/etc/passwd"
for tag in PREIN POSTIN PREUN POSTUN; do
  check "the rpm's $tag script parses" sh -n <(rpm -qp --qf "%{$tag}" "$rpm")
done

# ---- launchd: the plist, its restart design and the macOS config
plist=deploy/launchd/com.example.jamf-warden.plist
check "the launchd plist parses and has the keys the restart design relies on" python3 - "$plist" <<'EOF'
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
args = p["ProgramArguments"]
assert args[:2] == ["/bin/sh", "-c"], args
assert "--check-config >/dev/null || exit 0; exec /usr/local/bin/wardend" in args[2], args[2]
assert args[3] == "/usr/local/etc/jamf-warden/wardend.toml", args
assert p["KeepAlive"] == {"SuccessfulExit": False}, p["KeepAlive"]
assert p["ThrottleInterval"] >= 60 and p["RunAtLoad"] is True
assert p["UserName"] == p["GroupName"] == "_jamfwarden"
assert p["StandardErrorPath"].startswith("/usr/local/var/log/jamf-warden/")
EOF
mac="$work/mac"
mkdir -p "$mac/desired"
cp deploy/launchd/wardend.toml config/baseline.toml "$mac/"
cp config/desired/acme.toml "$mac/desired/"
chmod -R u=rwX,go=rX "$mac"
check "the macOS config names the socket directory the plist documents" \
  grep -qx 'socket = "/usr/local/var/run/jamf-warden/wardend.sock"' "$mac/wardend.toml"
wardend="$root/target/debug/wardend"
[ "$profile" = release ] && wardend="$root/target/release/wardend"
# The job's shell command with this build's wardend, run as nobody (who cannot create the
# macOS directories, so a valid config gets as far as wardend's own start-up and exit 2).
job="$(python3 -c 'import plistlib, sys; print(plistlib.load(open(sys.argv[1], "rb"))["ProgramArguments"][2])' "$plist")"
job="${job//\/usr\/local\/bin\/wardend/$wardend}"
launch() { setpriv --reuid=65534 --regid=65534 --clear-groups /bin/sh -c "$job" "$1"; }
rc=0; launch "$mac/wardend.toml" >/dev/null 2>"$work/mac.err" || rc=$?
check "launchd job, valid config: wardend itself runs and its exit status reaches launchd ($rc)" \
  test "$rc" = 2 -a -n "$(grep -v 'is valid' "$work/mac.err" | grep -v '^wardend: \(warning\|note\)' || true)"
sed 's/^version = 1$/version = 1\nno_such_key = true/' "$mac/wardend.toml" >"$mac/broken.toml"
rc=0; launch "$mac/broken.toml" >/dev/null 2>"$work/mac-broken.err" || rc=$?
check "launchd job, broken config: exits 0 (KeepAlive leaves it stopped) and says why" \
  test "$rc" = 0 -a -n "$(grep no_such_key "$work/mac-broken.err" || true)"

echo "test-install: $profile build, ${SECONDS}s"
echo "test-install: $passed passed, $failed failed"
[ "$failed" = 0 ]
