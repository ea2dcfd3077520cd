#!/usr/bin/env bash
# Refreshes docs/screenshots/ from the end-to-end tests (a real browser and the real
# desktop app). The test command writes its screenshots under target/screenshots instead,
# so that a test run leaves the clone clean; run this when the UI changed, and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
./scripts/setup.sh
npm run build -w ui
cargo build --workspace --bins --examples --locked
export WARDEN_SCREENSHOTS="$PWD/docs/screenshots"
(cd tests/e2e && ../../scripts/with-test-session.sh node --test browser.test.mjs)
tests/e2e/run-app.sh
git status --short docs/screenshots
