#!/usr/bin/env bash
# The .rpm the bundler makes beside the .deb. Its metadata is read with `rpm` (name,
# version, files, dependencies, the install script), its digests checked and its payload
# unpacked and run. Then it is installed for real with `rpm -i` into a copy-on-write view
# of this machine (overlayfs over /, so the machine itself is untouched): its %post runs
# as on a Fedora or RHEL box, the installed `warden` runs from /usr/bin, every library
# the binaries need is found, and an upgrade and a removal keep the /etc/warden/
# examples an admin edited. This machine's rpm database knows none of Debian's
# libraries, so the install skips rpm's dependency check (`--nodeps`) and `ldd` checks
# the libraries instead. Needs root (the overlay mount).
# Usage: tests/package/rpm.sh PATH/TO/Warden-VERSION-1.x86_64.rpm
set -euo pipefail
cd "$(dirname "$0")/../.."
rpm_file="$(realpath "$1")"
fail() { echo "rpm test: $*" >&2; exit 1; }
scratch="$(mktemp -d)"
view="$scratch/view"
cleanup() {
  set +e
  mountpoint -q "$view/proc" && umount "$view/proc"
  mountpoint -q "$view" && umount "$view"
  # Never delete through a view still mounted (it shows the whole machine).
  mountpoint -q "$view" || rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT
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

# Installed with rpm, in a view of this machine whose writes go to the scratch folder.
mkdir -p "$scratch/upper" "$scratch/work" "$view"
mount -t overlay warden-rpm-test -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$view" \
  || fail "cannot mount a copy-on-write view of / to install into (overlayfs; needs root)"
mount -t proc proc "$view/proc" || fail "cannot mount /proc in the view"
rm -rf "$view/etc/warden" # as on a machine that never had Warden
in_view() { chroot "$view" env -i HOME=/root PATH=/usr/bin:/bin "$@"; }
# Debian's rpm refuses to install unless told it may (`--force-debian`); others lack it.
debian_flag=()
# (Read whole first: `grep -q` leaving early could break rpm's pipe, and pipefail with it.)
rpm_help="$(rpm --help 2>/dev/null || true)"
grep -q -- '--force-debian' <<<"$rpm_help" && debian_flag=(--force-debian)
# The database where Fedora and RHEL keep it (Debian's rpm defaults to ~/.rpmdb).
rpm_view() { rpm --root "$view" --dbpath /var/lib/rpm "$@"; }
change_view() { rpm_view --nodeps "${debian_flag[@]}" "$@"; }
change_view -i "$rpm_file" || fail "rpm -i failed"
[ "$(rpm_view -q --queryformat '%{NAME} %{VERSION}' warden)" = "warden 0.1.0" ] || fail "rpm does not list warden as installed"
for f in $files; do [ -e "$view$f" ] || fail "$f is missing after rpm -i"; done
for name in requirements.toml managed_config.toml; do
  [ "$(stat -c '%U %a' "$view/etc/warden/$name")" = "root 644" ] || fail "%post did not put /etc/warden/$name (root, 0644)"
  cmp -s "$view/etc/warden/$name" "$view/usr/share/warden/examples/$name" || fail "/etc/warden/$name is not the shipped example"
done
for b in warden warden-sessions warden-desktop; do
  missing="$(in_view ldd "/usr/bin/$b" | grep 'not found' || true)"
  [ -z "$missing" ] || fail "/usr/bin/$b needs libraries this machine lacks: $missing"
done
in_view warden --version | grep -q '^warden ' || fail "the installed warden does not run"
in_view warden admin validate /etc/warden/requirements.toml >/dev/null || fail "the installed requirements example does not validate"

# An admin edits an example; an upgrade (the package again) and a removal keep the edit.
echo "# edited by the admin" >>"$view/etc/warden/requirements.toml"
change_view -U --replacepkgs "$rpm_file" || fail "rpm -U (upgrade) failed"
grep -q '^# edited by the admin$' "$view/etc/warden/requirements.toml" || fail "an upgrade overwrote the admin's edit"
change_view -e warden || fail "rpm -e failed"
[ ! -e "$view/usr/bin/warden" ] || fail "removal left /usr/bin/warden"
grep -q '^# edited by the admin$' "$view/etc/warden/requirements.toml" || fail "removal took the admin's edit"
[ -e "$view/etc/warden/managed_config.toml" ] || fail "removal took /etc/warden/managed_config.toml"
echo "rpm test: $(basename "$rpm_file") has its files, dependencies and install script; installed with rpm -i, its warden runs, upgraded and removed with /etc/warden kept"
