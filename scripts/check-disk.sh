#!/usr/bin/env bash
# Usage: scripts/check-disk.sh GB
# Stops with a clear message when the disk holding the Cargo target folder has less than
# GB free for a first (cold) build, or less than 2 GB for a later one, instead of the
# build failing minutes later with an LLVM write error. Sizes: docs/developer.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
need_gb=2
[ -d "$target_dir/debug" ] || need_gb="$1"
probe="$target_dir"
while [ ! -d "$probe" ]; do probe=$(dirname "$probe"); done
free_gb=$(($(df -Pk "$probe" | awk 'NR == 2 { print $4 }') / 1024 / 1024))
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "$(basename "$0"): only ${free_gb} GB free on the disk holding $(cd "$probe" && pwd); the build needs about ${need_gb} GB (free space or set CARGO_TARGET_DIR)" >&2
  exit 1
fi
