#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with its own, freshly unlocked
# gnome-keyring (the real Secret Service), isolated from the user's keyrings and data:
# XDG_DATA_HOME points at a new temporary folder for the duration.
#   scripts/with-test-session.sh COMMAND [ARGS...]
set -euo pipefail
exec dbus-run-session -- bash -c '
  set -euo pipefail
  XDG_DATA_HOME="$(mktemp -d)"
  export XDG_DATA_HOME
  trap "rm -rf \"$XDG_DATA_HOME\"" EXIT
  eval "$(printf %s warden-test | gnome-keyring-daemon --unlock --components=secrets)"
  "$@"
' with-test-session "$@"
