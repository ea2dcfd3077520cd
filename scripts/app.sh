#!/usr/bin/env bash
# Builds and launches the Warden desktop app, installing what the app needs first (not
# the test tools). Stays in the foreground while the app runs. On a machine without a
# display it starts one with Xvfb (screen :99 or the next free one), and stops it when the
# app exits.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

./scripts/check-disk.sh 4
./scripts/setup.sh app
npm run build -w ui
cargo build --locked -p warden-desktop --features custom-protocol
app="${CARGO_TARGET_DIR:-target}/debug/warden-desktop"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app"
fi
n=99; while [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
echo "app: no display found; running under Xvfb on :$n (see it with: DISPLAY=:$n import -window root shot.png)"
exec dbus-run-session -- bash -c "
  Xvfb :$n -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=\$!
  trap 'kill \$xvfb 2>/dev/null || true' EXIT
  export DISPLAY=:$n
  for _ in \$(seq 50); do [ -e /tmp/.X11-unix/X$n ] && break; sleep 0.1; done
  '$app'
"
