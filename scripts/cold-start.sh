#!/usr/bin/env bash
# Cold start: each function's init time (process start to its first Runtime API `next` call)
# against a hello-world lambda_runtime binary (infra/coldstart-baseline), both release-built in
# this run with the same profile. Host-architecture builds: the arm64 bootstraps cannot run here.
# Environments come from infra/template.yaml (scripts/local_stack env). Re-runnable.
# Usage: scripts/cold-start.sh [--target-dir DIR] [--runs N]   (table also in <target-dir>/cold-start.md)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=30
while [ $# -gt 0 ]; do
  case "$1" in
    --target-dir) export CARGO_TARGET_DIR="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    *) echo "usage: $0 [--target-dir DIR] [--runs N]" >&2; exit 2 ;;
  esac
done
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="$TARGET_DIR/lambda-host"

export AWS_REGION="${AWS_REGION:-ap-southeast-2}" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" AWS_EC2_METADATA_DISABLED=true
TOOLS="$(scripts/lambda-tools.sh lambda)"
PATH="$TOOLS:$PATH"

cargo lambda build --release --x86-64 --workspace --exclude total-identity --lambda-dir "$OUT"
cargo lambda build --release --x86-64 --manifest-path infra/coldstart-baseline/Cargo.toml --lambda-dir "$OUT"

"$TOOLS/python" scripts/local_stack env --template infra/template.yaml --out "$TARGET_DIR/cold-start" \
  --local-url http://127.0.0.1:9000 --write "$TARGET_DIR/cold-start/env.json"
bins=()
for dir in functions/*/; do
  name="$(basename "$dir")"
  bins+=(--bin "$name=$OUT/$name/bootstrap")
done
python3 scripts/cold_start.py --env "$TARGET_DIR/cold-start/env.json" "${bins[@]}" \
  --baseline "$OUT/coldstart-baseline/bootstrap" --runs "$RUNS" --out "$TARGET_DIR/cold-start.md"
