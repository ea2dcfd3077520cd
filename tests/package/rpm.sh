#!/usr/bin/env bash
# The .rpm the bundler makes beside the .deb. This machine is Debian, so it is not
# installed: its metadata is read with `rpm` (name, version, files, dependencies, the
# install script) and its payload unpacked (rpm2cpio) and run: `warden --version`, and
# the shipped examples validate with the packaged `warden admin validate`.
# Usage: tests/package/rpm.sh PATH/TO/Warden-VERSION-1.x86_64.rpm
set -euo pipefail
cd "$(dirname "$0")/../.."
rpm_file="$(realpath "$1")"
fail() { echo "rpm test: $*" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
query() { rpm -qp --nosignature "$@" "$rpm_file" 2>/dev/null; }

[ "$(query --queryformat '%{NAME} %{VERSION}')" = "warden 0.1.0" ] || fail "name/version: $(query --queryformat '%{NAME} %{VERSION}')"
files="$(query -l)"
for f in /usr/bin/warden /usr/bin/warden-sessions /usr/bin/warden-desktop \
  /usr/share/applications/Warden.desktop /usr/share/icons/hicolor/512x512/apps/warden-desktop.png \
  /usr/share/warden/examples/requirements.toml /usr/share/warden/examples/managed_config.toml \
  /usr/share/doc/warden/admin.md; do
  grep -qx "$f" <<<"$files" || fail "$f is not in the package"
done
requires="$(query --requires)"
for dep in libayatana-appindicator-gtk3 "libwebkit2gtk-4.1.so.0" "libgtk-3.so.0"; do
  grep -q "^$dep" <<<"$requires" || fail "Requires lacks $dep: $requires"
done
query --scripts | grep -q 'install -m 0644 -o root -g root "/usr/share/warden/examples/$name"' \
  || fail "the install script does not copy the examples"

# Its digests hold (header and payload); then unpack it. (rpm2cpio exits 1 on this
# bundler's packages after writing the whole payload, so cpio's status and the files are
# what count.)
rpm -K --nosignature "$rpm_file" | grep -q 'digests OK' || fail "digests: $(rpm -K --nosignature "$rpm_file")"
rpm2cpio "$rpm_file" >"$scratch/payload.cpio" || true
(cd "$scratch" && cpio -idm --quiet <payload.cpio) || fail "cannot unpack the payload"
"$scratch/usr/bin/warden" --version | grep -q '^warden ' || fail "the packaged warden does not run"
for name in requirements.toml managed_config.toml; do
  WARDEN_HOME="$scratch/home" "$scratch/usr/bin/warden" admin validate "$scratch/usr/share/warden/examples/$name" >/dev/null \
    || fail "the packaged $name does not validate"
done
echo "rpm test: $(basename "$rpm_file") has its files, dependencies and install script; its warden runs"
