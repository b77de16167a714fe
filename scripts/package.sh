#!/usr/bin/env bash
# Builds the release binaries and the Linux packages: a .deb and an .rpm of Jamf Warden.
#
#   scripts/package.sh [--profile release|dev] [--out DIR]
#
# Writes DIR/jamf-warden_<version>-1_<arch>.deb and DIR/jamf-warden-<version>-1.<arch>.rpm
# (DIR defaults to target/packages) and prints their paths, one a line.
#
# Tools: Debian's own dpkg-deb and rpmbuild (the `rpm` package, installed here when missing and
# running as root). They are prebuilt, so nothing is compiled for packaging; cargo-deb and
# cargo-generate-rpm would each be a cargo install of a few minutes on every fresh CI machine.
#
# `--profile dev` packages an unoptimised build with the same layout, modes and scripts: the
# install test (scripts/test-install.sh) uses it, as the release build's LTO takes minutes.
#
# Contents (both packages):
#   /usr/bin/wardend, /usr/bin/wardenctl
#   the systemd unit (deb: /lib/systemd/system, rpm: /usr/lib/systemd/system)
#   /usr/lib/sysusers.d/jamf-warden.conf, /usr/lib/tmpfiles.d/jamf-warden.conf
#   /etc/jamf-warden/: wardend.toml, baseline.toml, desired/acme.toml (conffiles, root:jamf-warden
#     0640 in 0750 directories) and credentials/ (root, 0700)
#   man pages (wardend.8, wardenctl*.1) and bash, zsh and fish completions (cargo run -p xtask)
#   /usr/share/doc/jamf-warden: README.md and docs/*.md
# The maintainer scripts create the user and apply the tmpfiles entry; they never start,
# restart or enable the service and never touch an edited config (conffiles, noreplace).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

profile=release
out="$root/target/packages"
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$profile" in
  release) bindir="$root/target/release" ;;
  dev) bindir="$root/target/debug" ;;
  *) echo "package.sh: --profile is release or dev, not $profile" >&2; exit 2 ;;
esac

need_tools() {
  local missing=()
  command -v dpkg-deb >/dev/null || missing+=(dpkg)
  command -v rpmbuild >/dev/null || missing+=(rpm)
  command -v gzip >/dev/null || missing+=(gzip)
  command -v strip >/dev/null && command -v objdump >/dev/null || missing+=(binutils)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "package.sh: missing ${missing[*]}: apt-get install ${missing[*]} (as root)" >&2
      exit 1
    fi
    echo "package.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
      { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }
  fi
}
need_tools

pkgid="$(cargo pkgid --locked -p warden-daemon)"   # path+file:///...#warden-daemon@0.1.0
version="${pkgid##*[#@]}"
release=1
deb_arch="$(dpkg --print-architecture)"
rpm_arch="$(uname -m)"

echo "package.sh: building wardend and wardenctl ($profile profile)" >&2
cargo build --locked --profile "$profile" -p warden-daemon -p warden-ctl --bins >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gen="$work/gen"
cargo run --locked --quiet -p xtask -- man "$gen/man" >&2
cargo run --locked --quiet -p xtask -- completions "$gen/completions" >&2

# The tree both packages install. $1: the stage; $2: the systemd unit directory; $3: zsh's.
stage() {
  local s="$1" unitdir="$2" zshdir="$3"
  install -d -m 0755 "$s/usr/bin" "$s$unitdir" "$s/usr/lib/sysusers.d" "$s/usr/lib/tmpfiles.d" \
    "$s/usr/share/man/man1" "$s/usr/share/man/man8" "$s/usr/share/bash-completion/completions" \
    "$s$zshdir" "$s/usr/share/fish/vendor_completions.d" "$s/usr/share/doc/jamf-warden/docs"
  # dev builds carry line tables: strip them like the release profile does
  install -m 0755 -s "$bindir/wardend" "$bindir/wardenctl" "$s/usr/bin/"
  install -m 0644 deploy/systemd/jamf-warden.service "$s$unitdir/"
  install -m 0644 deploy/systemd/jamf-warden.sysusers.conf "$s/usr/lib/sysusers.d/jamf-warden.conf"
  install -m 0644 deploy/systemd/jamf-warden.tmpfiles.conf "$s/usr/lib/tmpfiles.d/jamf-warden.conf"
  # The example config and the desired files it names (relative to it). In the packages these
  # are root:root until the maintainer scripts apply the tmpfiles entry (deb), or carry their
  # owner in the package (rpm); the modes are the final ones already.
  install -d -m 0750 "$s/etc/jamf-warden" "$s/etc/jamf-warden/desired"
  install -d -m 0700 "$s/etc/jamf-warden/credentials"
  install -m 0640 config/wardend.toml config/baseline.toml "$s/etc/jamf-warden/"
  install -m 0640 config/desired/acme.toml "$s/etc/jamf-warden/desired/"
  local page
  for page in "$gen"/man/*.1; do gzip -9n <"$page" >"$s/usr/share/man/man1/$(basename "$page").gz"; done
  gzip -9n <"$gen/man/wardend.8" >"$s/usr/share/man/man8/wardend.8.gz"
  chmod 0644 "$s"/usr/share/man/man*/*
  install -m 0644 "$gen"/completions/bash/* "$s/usr/share/bash-completion/completions/"
  install -m 0644 "$gen"/completions/zsh/* "$s$zshdir/"
  install -m 0644 "$gen"/completions/fish/* "$s/usr/share/fish/vendor_completions.d/"
  install -m 0644 README.md "$s/usr/share/doc/jamf-warden/"
  install -m 0644 docs/*.md "$s/usr/share/doc/jamf-warden/docs/"
  printf '%s\n' "Jamf Warden" "License: MIT OR Apache-2.0" >"$s/usr/share/doc/jamf-warden/copyright"
  chmod 0644 "$s/usr/share/doc/jamf-warden/copyright"
}

# Shell shared by both packages' scripts. DPKG_ROOT is set by `dpkg --root DIR
# --force-script-chrootless` (an install into DIR, used by scripts/test-install.sh); it is empty
# on a normal install.
scriptlib() {
  cat <<'EOF'
r="${DPKG_ROOT:-}"
# The jamf-warden user and group, from the sysusers.d entry; useradd where systemd-sysusers is
# missing (a container without systemd).
create_user() {
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers ${r:+--root="$r"} jamf-warden.conf
  elif ! getent passwd jamf-warden >/dev/null 2>&1; then
    [ -z "$r" ] || { echo "jamf-warden: systemd-sysusers is needed to install into $r" >&2; exit 1; }
    getent group jamf-warden >/dev/null 2>&1 || groupadd --system jamf-warden
    useradd --system --gid jamf-warden --home-dir /var/lib/jamf-warden --no-create-home \
      --shell /usr/sbin/nologin --comment "Jamf Warden daemon" jamf-warden
  fi
}
# Owners and modes of /etc/jamf-warden from the tmpfiles.d entry (chown/chmod where
# systemd-tmpfiles is missing; the same lines).
apply_modes() {
  if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles ${r:+--root="$r"} --create jamf-warden.conf
  else
    [ -z "$r" ] || { echo "jamf-warden: systemd-tmpfiles is needed to install into $r" >&2; exit 1; }
    grep -E '^[dz] ' /usr/lib/tmpfiles.d/jamf-warden.conf | while read -r type path mode user group _; do
      [ "$type" = d ] && mkdir -p "$path"
      for p in $path; do
        [ -e "$p" ] || continue
        chown "$user:$group" "$p" && chmod "$mode" "$p"
      done
    done
  fi
}
systemd_running() { [ -z "$r" ] && [ -d /run/systemd/system ]; }
EOF
}

# ---- .deb
deb_root="$work/deb"
stage "$deb_root" /lib/systemd/system /usr/share/zsh/vendor-completions
install -d -m 0755 "$deb_root/DEBIAN"
glibc="$(objdump -T "$bindir/wardend" "$bindir/wardenctl" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 | cut -d_ -f2)"
cat >"$deb_root/DEBIAN/control" <<EOF
Package: jamf-warden
Version: $version-$release
Architecture: $deb_arch
Maintainer: Jamf Warden maintainers <jamf-warden@example.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$deb_root" | cut -f1)
Depends: libc6 (>= ${glibc:-2.34}), libgcc-s1
Recommends: systemd
Section: admin
Priority: optional
Homepage: https://example.invalid/jamf-warden
Description: Jamf Pro API roles and clients: drift, risk audit and secret rotation
 wardend checks each configured Jamf Pro instance for drift between the declared API roles
 and clients and what is live, flags overly broad roles, rotates client secrets on a schedule
 into HashiCorp Vault, and writes every change to a tamper-evident change log. wardenctl is
 its command-line client.
EOF
cat >"$deb_root/DEBIAN/conffiles" <<'EOF'
/etc/jamf-warden/wardend.toml
/etc/jamf-warden/baseline.toml
/etc/jamf-warden/desired/acme.toml
EOF
{
  echo '#!/bin/sh'
  echo 'set -e'
  scriptlib
  cat <<'EOF'
if [ "$1" = configure ]; then
  create_user
  apply_modes
  # never started, restarted or enabled here: edit the config, then `systemctl enable --now`
  if systemd_running; then systemctl daemon-reload || true; fi
fi
EOF
} >"$deb_root/DEBIAN/postinst"
{
  echo '#!/bin/sh'
  echo 'set -e'
  scriptlib
  cat <<'EOF'
# removed, not upgraded: stop and disable the service before its binary goes
if [ "$1" = remove ] && systemd_running; then
  systemctl disable --now jamf-warden.service || true
fi
EOF
} >"$deb_root/DEBIAN/prerm"
{
  echo '#!/bin/sh'
  echo 'set -e'
  scriptlib
  cat <<'EOF'
# The user, /var/lib/jamf-warden (state and change log: audit evidence) and the credentials are
# kept, even on purge; dpkg removes the unchanged conffiles on purge.
if systemd_running; then systemctl daemon-reload || true; fi
EOF
} >"$deb_root/DEBIAN/postrm"
chmod 0755 "$deb_root/DEBIAN/postinst" "$deb_root/DEBIAN/prerm" "$deb_root/DEBIAN/postrm"
mkdir -p "$out"
deb="$out/jamf-warden_${version}-${release}_${deb_arch}.deb"
# xz for the release packages; gzip for the test's dev build (three times faster here)
zopt=(-Zxz)
[ "$profile" = release ] || zopt=(-Zgzip -z1)
dpkg-deb --root-owner-group "${zopt[@]}" --build "$deb_root" "$deb" >&2

# ---- .rpm
rpm_stage="$work/rpmroot"
stage "$rpm_stage" /usr/lib/systemd/system /usr/share/zsh/site-functions
top="$work/rpmbuild"
mkdir -p "$top/SPECS"
spec="$top/SPECS/jamf-warden.spec"
{
  cat <<EOF
Name: jamf-warden
Version: $version
Release: $release
Summary: Jamf Pro API roles and clients: drift, risk audit and secret rotation
License: MIT OR Apache-2.0
URL: https://example.invalid/jamf-warden
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
wardend checks each configured Jamf Pro instance for drift between the declared API roles and
clients and what is live, flags overly broad roles, rotates client secrets on a schedule into
HashiCorp Vault, and writes every change to a tamper-evident change log. wardenctl is its
command-line client.

%install
cp -a "$rpm_stage/." "%{buildroot}/"

%pre
EOF
  # %pre: the user must exist before the files carry its group. The sysusers.d file is not
  # installed yet, so systemd-sysusers reads it from stdin (as Fedora's sysusers macros do).
  scriptlib
  echo 'if command -v systemd-sysusers >/dev/null 2>&1; then'
  printf "  systemd-sysusers \${r:+--root=\"\$r\"} --replace=/usr/lib/sysusers.d/jamf-warden.conf - <<'SYSUSERS'\n"
  cat deploy/systemd/jamf-warden.sysusers.conf
  echo 'SYSUSERS'
  echo 'else'
  echo '  create_user'
  echo 'fi'
  echo
  echo '%post'
  scriptlib
  echo 'apply_modes'
  echo '# never started, restarted or enabled here: edit the config, then `systemctl enable --now`'
  echo 'if systemd_running; then systemctl daemon-reload || true; fi'
  echo
  echo '%preun'
  scriptlib
  echo '# erased, not upgraded: stop and disable the service before its binary goes'
  echo 'if [ "$1" -eq 0 ] && systemd_running; then systemctl disable --now jamf-warden.service || true; fi'
  echo
  echo '%postun'
  scriptlib
  echo 'if systemd_running; then systemctl daemon-reload || true; fi'
  echo
  cat <<'EOF'
%files
%attr(0755,root,root) /usr/bin/wardend
%attr(0755,root,root) /usr/bin/wardenctl
/usr/lib/systemd/system/jamf-warden.service
/usr/lib/sysusers.d/jamf-warden.conf
/usr/lib/tmpfiles.d/jamf-warden.conf
%dir %attr(0750,root,jamf-warden) /etc/jamf-warden
%dir %attr(0750,root,jamf-warden) /etc/jamf-warden/desired
%dir %attr(0700,root,root) /etc/jamf-warden/credentials
%config(noreplace) %attr(0640,root,jamf-warden) /etc/jamf-warden/wardend.toml
%config(noreplace) %attr(0640,root,jamf-warden) /etc/jamf-warden/baseline.toml
%config(noreplace) %attr(0640,root,jamf-warden) /etc/jamf-warden/desired/acme.toml
/usr/share/man/man1/*
/usr/share/man/man8/*
/usr/share/bash-completion/completions/*
/usr/share/zsh/site-functions/*
/usr/share/fish/vendor_completions.d/*
/usr/share/doc/jamf-warden
EOF
} >"$spec"
rpmbuild -bb --quiet --target "$rpm_arch" --define "_topdir $top" --define "_rpmdir $top/RPMS" "$spec" >&2
rpm="$out/jamf-warden-${version}-${release}.${rpm_arch}.rpm"
mv "$top/RPMS/$rpm_arch/jamf-warden-${version}-${release}.${rpm_arch}.rpm" "$rpm"

echo "$deb"
echo "$rpm"
