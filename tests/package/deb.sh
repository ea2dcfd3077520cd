#!/usr/bin/env bash
# The Linux package as an admin ships it: built by scripts/package-linux.sh, installed with
# a real `dpkg -i`, used from PATH (`warden --version`, a sandboxed `warden exec`, `warden
# serve` loaded in Chromium, the installed desktop app's window under Xvfb), upgraded and
# removed; the /etc/warden/ examples an admin edited survive both. Needs root (dpkg), and
# leaves the machine as it found it (a `warden` package already installed stops it).
# Usage: tests/package/deb.sh PATH/TO/Warden_VERSION_amd64.deb
set -euo pipefail
cd "$(dirname "$0")/../.."
deb="$(realpath "$1")"
root_do() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
fail() { echo "package test: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' warden 2>/dev/null | grep -q "install ok installed"; then
  fail "a warden package is already installed here; not touching it"
fi
scratch="$(mktemp -d)"
backup=""
if [ -e /etc/warden ]; then
  backup="$scratch/etc-warden"
  root_do cp -a /etc/warden "$backup"
fi
cleanup() {
  set +e
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null
  dpkg-query -W -f='${Status}' warden 2>/dev/null | grep -q "install ok" && root_do dpkg -r warden >/dev/null
  root_do rm -rf /etc/warden
  [ -n "$backup" ] && root_do cp -a "$backup" /etc/warden
  rm -rf "$scratch"
}
trap cleanup EXIT

# The tray icon needs the app-indicator library at run time: the package says so.
dpkg-deb -f "$deb" Depends | grep -q 'libayatana-appindicator3-1' || fail "Depends lacks libayatana-appindicator3-1 (the tray)"
echo "package test: dpkg -i $(basename "$deb")"
root_do dpkg -i "$deb" >/dev/null

for f in /usr/bin/warden /usr/bin/warden-sessions /usr/bin/warden-desktop \
  /usr/share/applications/Warden.desktop /usr/share/icons/hicolor/512x512/apps/warden-desktop.png \
  /usr/share/warden/examples/requirements.toml /usr/share/doc/warden/admin.md; do
  [ -e "$f" ] || fail "$f is missing"
done
grep -q '^Exec=warden-desktop' /usr/share/applications/Warden.desktop || fail "the desktop entry does not run warden-desktop"
for name in requirements.toml managed_config.toml; do
  [ "$(stat -c '%U %a' "/etc/warden/$name")" = "root 644" ] || fail "/etc/warden/$name is not root-owned 0644"
done

# From PATH, in a clean environment and a folder of its own.
export WARDEN_HOME="$scratch/home"
use() { (cd "$scratch" && env -i HOME="$scratch" WARDEN_HOME="$WARDEN_HOME" PATH=/usr/bin:/bin "$@"); }
use warden --version | grep -q '^warden ' || fail "warden --version"
# The shipped examples are valid as shipped, and so are the settings they suggest.
for name in requirements.toml managed_config.toml; do
  use warden admin validate "/etc/warden/$name" >/dev/null || fail "/etc/warden/$name does not validate"
  grep -E '^# ([a-z_]+ =|\[)' "/etc/warden/$name" | sed 's/^# //; s/ \{2,\}#.*$//' >"$scratch/uncommented-$name"
done
# (The bundle's placeholder key is not a key; the rest must load.)
grep -v '^\[bundle\]\|^url =\|^public_key =' "$scratch/uncommented-requirements.toml" >"$scratch/suggested-requirements.toml"
use warden admin validate "$scratch/suggested-requirements.toml" >/dev/null || fail "the suggested requirements do not validate"
cp "$scratch/uncommented-managed_config.toml" "$scratch/suggested-managed_config.toml"
use warden admin validate "$scratch/suggested-managed_config.toml" >/dev/null || fail "the suggested managed config does not validate"

mkdir -p "$scratch/ws"
(cd "$scratch/ws" && env -i HOME="$scratch" WARDEN_HOME="$WARDEN_HOME" PATH=/usr/bin:/bin \
  warden exec --sandbox workspace-write -- sh -c 'echo inside > inside.txt') || fail "a sandboxed write inside the workspace"
[ "$(cat "$scratch/ws/inside.txt")" = inside ] || fail "the sandboxed command did not write its file"
if (cd "$scratch/ws" && env -i HOME="$scratch" WARDEN_HOME="$WARDEN_HOME" PATH=/usr/bin:/bin \
  warden exec --sandbox workspace-write -- sh -c 'echo out > /var/tmp/warden-package-escape' 2>/dev/null); then
  fail "the sandbox let a write outside the workspace through"
fi
[ ! -e /var/tmp/warden-package-escape ] || fail "a file outside the workspace was written"

# warden serve with the UI built into the binary: the page loads in Chromium.
# `exec` all the way down, so that $! is the server itself (warden hands over to
# warden-sessions by exec, keeping its pid) and killing it leaves nothing behind.
(cd "$scratch" && exec env -i HOME="$scratch" WARDEN_HOME="$WARDEN_HOME" PATH=/usr/bin:/bin \
  warden serve) >"$scratch/serve.out" 2>"$scratch/serve.err" &
serve_pid=$!
for _ in $(seq 100); do grep -q 'serving on' "$scratch/serve.out" && break; sleep 0.1; done
url="$(sed -n 's/^Warden is serving on //p' "$scratch/serve.out")"
[ -n "$url" ] || fail "warden serve did not start: $(cat "$scratch/serve.err")"
page="$(cd tests/e2e && node ../package/serve-page.mjs "$url")" || fail "the served page did not load"
echo "$page" | grep -q '^status: connected to warden serve' || fail "the served page did not connect: $page"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=""
if pgrep -f '^/usr/bin/warden' >/dev/null; then fail "a warden process is still running: $(pgrep -af '^/usr/bin/warden')"; fi

# The installed app's window, under Xvfb with a D-Bus session.
dbus-run-session -- bash -c '
  set -euo pipefail
  n=99; while [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  export DISPLAY=":$n"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  env WARDEN_HOME="'"$WARDEN_HOME"'" /usr/bin/warden-desktop >/dev/null 2>&1 &
  app=$!
  seen=""
  for _ in $(seq 100); do
    if xwininfo -root -tree 2>/dev/null | grep -q "\"Warden\""; then seen=yes; break; fi
    sleep 0.2
  done
  kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true
  kill "$xvfb" 2>/dev/null || true
  [ -n "$seen" ] || { echo "package test: the installed app showed no Warden window" >&2; exit 1; }
'

# An admin edits the examples; an upgrade (installing again) and a removal keep the edit.
echo "# edited by the admin" | root_do tee -a /etc/warden/requirements.toml >/dev/null
root_do dpkg -i "$deb" >/dev/null
grep -q '^# edited by the admin$' /etc/warden/requirements.toml || fail "an upgrade overwrote the admin's edit"
root_do dpkg -r warden >/dev/null
[ ! -e /usr/bin/warden ] || fail "removal left /usr/bin/warden"
grep -q '^# edited by the admin$' /etc/warden/requirements.toml || fail "removal took the admin's edit"
[ -e /etc/warden/managed_config.toml ] || fail "removal took /etc/warden/managed_config.toml"
echo "package test: installed, used from PATH, upgraded and removed; /etc/warden kept"
