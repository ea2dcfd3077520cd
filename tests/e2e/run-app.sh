#!/usr/bin/env bash
# Runs the desktop e2e test with a private D-Bus session and keyring
# (scripts/with-test-session.sh) and an Xvfb display.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../scripts/with-test-session.sh bash -c '
  set -euo pipefail
  Xvfb :99 -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  trap "kill $xvfb 2>/dev/null || true" EXIT
  export DISPLAY=:99
  dbus-update-activation-environment DISPLAY 2>/dev/null || true
  for _ in $(seq 50); do [ -e /tmp/.X11-unix/X99 ] && break; sleep 0.1; done
  node --test app.test.mjs
'
