#!/usr/bin/env bash
# Runs the desktop e2e test with a private D-Bus session and keyring
# (scripts/with-test-session.sh) and an Xvfb display.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../scripts/with-test-session.sh bash -c '
  set -euo pipefail
  n=99; while [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 1280x900x24 -nolisten tcp >/dev/null 2>&1 &
  xvfb=$!
  trap "kill $xvfb 2>/dev/null || true" EXIT
  export DISPLAY=":$n"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  dbus-update-activation-environment DISPLAY 2>/dev/null || true
  node --test ${WARDEN_E2E_ONLY:+--test-name-pattern="$WARDEN_E2E_ONLY"} app.test.mjs
'
