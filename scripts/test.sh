#!/usr/bin/env bash
# The whole test suite: style, lints, type checks, unit and integration tests, and the
# end-to-end tests in a real browser and in the real desktop app.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# A cold run of the whole suite fills about 14 GB of the target folder (docs/developer.md).
./scripts/check-disk.sh 15

./scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "UI: type check, lint, unit tests, build (the desktop shell embeds ui/dist)"
npm run check -w ui
npm run lint -w ui
npm run test -w ui
npm run build -w ui

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo build (binaries for the end-to-end tests)"
# The app serves its bundled UI (`custom-protocol`), as the package ships it.
cargo build --workspace --bins --examples --locked --features warden-desktop/custom-protocol

step "cargo test (inside a D-Bus session with an unlocked gnome-keyring)"
WARDEN_TEST_KEYRING=1 scripts/with-test-session.sh cargo test --workspace --locked --features warden-desktop/custom-protocol

# A hung end-to-end run (a browser or app left waiting) fails after 15 minutes instead of
# holding CI; each takes well under a minute here. `timeout` signals the whole group.
e2e() {
  local status=0
  timeout --kill-after=30 900 "$@" || status=$?
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "test: $* did not finish within 15 minutes" >&2
  fi
  return "$status"
}

step "e2e: real browser (Chromium) against warden serve"
(cd tests/e2e && e2e ../../scripts/with-test-session.sh node --test browser.test.mjs)

step "e2e: real desktop app under Xvfb"
e2e tests/e2e/run-app.sh

step "package: build the .deb and .rpm; install the .deb with dpkg, use it from PATH, upgrade and remove it; install, upgrade and remove the .rpm with rpm in an overlay"
scripts/package-linux.sh --debug
e2e tests/package/deb.sh "${CARGO_TARGET_DIR:-target}"/debug/bundle/deb/Warden_*_amd64.deb
tests/package/rpm.sh "${CARGO_TARGET_DIR:-target}"/debug/bundle/rpm/Warden-*.x86_64.rpm

step "nothing the tests started is still running"
left="$(pgrep -af "^($PWD/target|${CARGO_TARGET_DIR:-$PWD/target})/debug/|^/usr/bin/warden|tauri-driver|WebKitWebDriver|Xvfb :9[0-9]" || true)"
if [ -n "$left" ]; then
  echo "test: processes the tests started are still running:" >&2
  echo "$left" >&2
  exit 1
fi

step "the clone is as it was (the tests write under target/ and the profile folders only)"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  dirty=$(git status --porcelain)
  if [ -n "$dirty" ]; then
    echo "test: the test run changed the clone:" >&2
    echo "$dirty" >&2
    exit 1
  fi
fi

echo
echo "all tests passed"
