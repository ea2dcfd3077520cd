#!/usr/bin/env bash
# Installs everything Warden needs to build, run and test on Debian/Ubuntu:
# apt packages, npm packages (from package-lock.json) and tauri-driver.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential pkg-config libssl-dev
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth webkit2gtk-driver dbus gnome-keyring libsecret-tools keyutils libdbus-1-dev
  sqlite3 chromium python3 python3-venv
  curl git openssl bsdutils
)

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

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
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
