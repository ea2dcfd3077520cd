#!/usr/bin/env bash
# Side by side, in one run: the attack suite and whole-process `/bin/true` timing for
# Warden, Codex CLI's sandbox and Anthropic's sandbox-runtime (srt). Peers install from
# npm into a scratch folder outside the repository. Not part of CI (docs/security.md,
# docs/benchmarks.md hold the results).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${WARDEN_PEERS_DIR:-$HOME/.cache/warden-peers}
ROUNDS=${ROUNDS:-100}

if ! command -v bwrap >/dev/null || ! command -v socat >/dev/null || ! command -v rg >/dev/null; then
  sudo_if() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if apt-get install -y -q bubblewrap socat ripgrep
fi
mkdir -p "$PEERS/home" "$PEERS/ws"
if [ ! -x "$PEERS/node_modules/.bin/codex" ] || [ ! -x "$PEERS/node_modules/.bin/srt" ]; then
  (cd "$PEERS" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --silent @openai/codex @anthropic-ai/sandbox-runtime)
fi
cargo build --release -p warden-cli
WARDEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/warden
CODEX=$PEERS/node_modules/.bin/codex
SRT=$PEERS/node_modules/.bin/srt
echo "codex: $("$CODEX" --version)   srt: $("$SRT" --version)"

OUT=${OUT:-$PEERS/results}
mkdir -p "$OUT"
for runner in warden codex srt; do
  bin=$WARDEN; [ "$runner" = codex ] && bin=$CODEX; [ "$runner" = srt ] && bin=$SRT
  python3 tests/attacks/suite.py --runner "$runner" --bin "$bin" \
    --base "$PEERS/attacks-$runner" --json "$OUT/attacks-$runner.json" | tail -1 || true
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
runs = {r: json.load(open(f"{out}/attacks-{r}.json"))["results"] for r in ("warden", "codex", "srt")}
names = [c["name"] for c in runs["warden"]]
cats = {c["name"]: c["category"] for c in runs["warden"]}
print("\n| case | category | warden | codex | srt |\n|---|---|---|---|---|")
for n in names:
    cell = lambda r: next(("pass" if c["passed"] else "**FAIL**") for c in runs[r] if c["name"] == n)
    print(f"| {n} | {cats[n]} | {cell('warden')} | {cell('codex')} | {cell('srt')} |")
print("| **total** | | " + " | ".join(f"{sum(c['passed'] for c in runs[r])}/{len(runs[r])}" for r in ("warden", "codex", "srt")) + " |")
PY

echo
echo "whole-process /bin/true, $ROUNDS rounds each, alternating:"
SETTINGS=$PEERS/home/.srt-settings.json
echo "{\"network\":{\"allowedDomains\":[],\"deniedDomains\":[]},\"filesystem\":{\"denyRead\":[],\"allowWrite\":[\"$PEERS/ws\",\"/tmp\"],\"denyWrite\":[]}}" > "$SETTINGS"
python3 tests/attacks/timing.py --rounds "$ROUNDS" --ws "$PEERS/ws" --home "$PEERS/home" \
  "bare=[\"/bin/true\"]" \
  "warden=[\"$WARDEN\",\"exec\",\"--sandbox\",\"workspace-write\",\"--\",\"/bin/true\"]" \
  "codex=[\"$CODEX\",\"sandbox\",\"-c\",\"sandbox_mode=\\\"workspace-write\\\"\",\"--\",\"/bin/true\"]" \
  "srt=[\"$SRT\",\"-s\",\"$SETTINGS\",\"/bin/true\"]"
