#!/usr/bin/env bash
# Builds and launches the Warden desktop app, installing what is missing first.
# On a machine without a display it starts one with Xvfb (screen :99).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

./scripts/setup.sh
npm run build -w ui
cargo build --locked -p warden-desktop --features custom-protocol
app="${CARGO_TARGET_DIR:-target}/debug/warden-desktop"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$app"
fi
echo "app: no display found; running under Xvfb on :99 (use a VNC viewer or screenshots to see it)"
exec dbus-run-session -- bash -c "
  Xvfb :99 -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  export DISPLAY=:99
  sleep 1
  exec '$app'
"
