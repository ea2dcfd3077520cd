#!/usr/bin/env bash
# Side by side, in one run: `warden policy check` and `codex execpolicy check` on the
# same rules file: does a forbidden rule catch each spelling of the command, and how
# long does each whole process take? Codex installs from npm into a scratch folder
# outside the repository. Not part of CI (results in docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${WARDEN_PEERS_DIR:-$HOME/.cache/warden-peers}
ROUNDS=${ROUNDS:-50}
mkdir -p "$PEERS"
if [ ! -x "$PEERS/node_modules/.bin/codex" ]; then
  (cd "$PEERS" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent @openai/codex)
fi
cargo build --release -p warden-cli
WARDEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/warden
CODEX=$PEERS/node_modules/.bin/codex
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export WARDEN_HOME=$SCRATCH/home
cat > "$SCRATCH/team.rules" <<'RULES'
prefix_rule(pattern = ["git", "push", "--force"], decision = "forbidden", justification = "no force pushes")
prefix_rule(pattern = ["rm", "-rf"], decision = "forbidden", justification = "no recursive deletes")
RULES
echo "codex: $("$CODEX" --version)"
python3 - "$WARDEN" "$CODEX" "$SCRATCH/team.rules" "$ROUNDS" <<'PY'
import json, statistics, subprocess, sys, time
warden, codex, rules, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spellings = [
    ["git", "push", "--force"],
    ["/usr/bin/git", "push", "--force"],
    ["sudo", "git", "push", "--force"],
    ["git", "-C", ".", "push", "--force"],
    ["git", "push", "origin", "main", "--force"],
    ["git", "push", "-f"],
    ["git", "push", "origin", "+main"],
    ["bash", "-lc", "cargo test && git push --force"],
    ["env", "FOO=1", "git", "push", "--force"],
    ["timeout", "60", "git", "push", "--force"],
    ["sh", "-c", "echo $(git push --force)"],
    ["rm", "-rf", "build"],
    ["rm", "-r", "-f", "build"],
    ["rm", "-fr", "build"],
    ["rm", "--recursive", "--force", "build"],
    ["find", ".", "-exec", "rm", "-rf", "{}", ";"],
    ["xargs", "rm", "-rf"],
]
def decide(tool, argv):
    if tool == "warden":
        cmd = [warden, "policy", "check", "--rules", rules, "--"] + argv
    else:
        cmd = [codex, "execpolicy", "check", "--rules", rules, "--"] + argv
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(out.stdout).get("decision", "none")
    except json.JSONDecodeError:
        return "error: " + (out.stderr.strip().splitlines() or ["?"])[-1]
print("\n| command | warden | codex |\n|---|---|---|")
caught = {"warden": 0, "codex": 0}
for argv in spellings:
    row = []
    for tool in ("warden", "codex"):
        d = decide(tool, argv)
        caught[tool] += d == "forbidden"
        row.append(d)
    print(f"| `{' '.join(argv)}` | {row[0]} | {row[1]} |")
print(f"| **forbidden (of {len(spellings)})** | **{caught['warden']}** | **{caught['codex']}** |")
times = {"warden": [], "codex": []}
probe = ["bash", "-lc", "cargo test && git push origin main --force"]
for _ in range(rounds):
    for tool in ("warden", "codex"):
        t = time.perf_counter()
        decide(tool, probe)
        times[tool].append((time.perf_counter() - t) * 1000)
w, c = statistics.median(times["warden"]), statistics.median(times["codex"])
print(f"\nwhole process, median of {rounds}: warden {w:.1f} ms, codex {c:.1f} ms (codex / warden = {c / w:.1f}x)")
PY
