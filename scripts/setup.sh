#!/usr/bin/env bash
# Installs what Warden needs on Debian/Ubuntu. `setup.sh app`: what building and running
# the app needs (apt packages, the UI's npm packages). `setup.sh` (or `setup.sh test`):
# that and the test tools (Chromium, WebKitWebDriver and tauri-driver, the test peers'
# Python packages, the e2e npm packages). Needs root or sudo for apt. Safe to run again:
# it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

# Building and running the desktop app and the CLI.
APT_PACKAGES=(
  build-essential pkg-config libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev libdbus-1-dev
  xvfb xauth dbus gnome-keyring
  curl git
)
if [ "$mode" != "app" ]; then
  APT_PACKAGES+=(
    webkit2gtk-driver libsecret-tools keyutils sqlite3 chromium python3 python3-venv
    openssl bsdutils x11-utils xdotool dunst libglib2.0-bin rpm rpm2cpio cpio
  )
fi

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: Rust (cargo) is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: Node.js 20+ and npm are required" >&2; exit 1; }

if [ "$mode" = "app" ]; then
  # The UI's packages only (not the e2e tools).
  if [ ! -d ui/node_modules ] && [ ! -x node_modules/.bin/vite ]; then
    echo "setup: installing the UI's npm packages"
    npm ci -w ui --no-audit --no-fund --loglevel=error
  fi
  exit 0
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
  || [ ! -d node_modules/playwright-core ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Test peers' Python packages (the OTLP receiver, the MCP server), in a virtual
# environment of the project's.
if ! .venv/bin/python3 -c "import grpc, opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc, mcp.server.mcpserver" 2>/dev/null; then
  echo "setup: installing the OTLP receiver and MCP server test peers into .venv"
  python3 -m venv .venv
  .venv/bin/python3 -m pip install --quiet --disable-pip-version-check \
    -r tests/otlp/requirements.txt -r tests/mcp/requirements.txt
fi

if ! command -v tauri-driver >/dev/null; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked --quiet
fi
