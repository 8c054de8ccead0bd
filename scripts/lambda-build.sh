#!/usr/bin/env bash
# Release-builds every function for Lambda (arm64, zipped bootstraps) with cargo lambda, and
# reports each zip's size against the 5 MB budget. Re-runnable: cargo only rebuilds what changed.
# Usage: scripts/lambda-build.sh [--target-dir DIR]   (default: $CARGO_TARGET_DIR, else target/)
#   Writes target/lambda/<function>/bootstrap.zip and a table to <target-dir>/lambda-sizes.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${1:-}" = "--target-dir" ]; then
  export CARGO_TARGET_DIR="$2"
fi
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BUDGET=$((5 * 1000 * 1000))

PATH="$(scripts/lambda-tools.sh lambda):$PATH"
# The workspace root is the local server, not a function: a bare build would pick only it.
cargo lambda build --release --arm64 --output-format zip --workspace --exclude total-identity

report="$TARGET_DIR/lambda-sizes.md"
{
  echo "| function | zipped bootstrap | unzipped | budget 5 MB |"
  echo "| --- | ---: | ---: | --- |"
} >"$report"
over=0
for dir in functions/*/; do
  name="$(basename "$dir")"
  zip="$TARGET_DIR/lambda/$name/bootstrap.zip"
  [ -f "$zip" ] || { echo "missing $zip" >&2; exit 1; }
  zipped=$(stat -c %s "$zip")
  unzipped=$(unzip -l "$zip" | awk '$4 == "bootstrap" {print $1}')
  verdict=ok
  if [ "$zipped" -gt "$BUDGET" ]; then verdict=OVER; over=1; fi
  printf '| `%s` | %s B | %s B | %s |\n' "$name" "$zipped" "$unzipped" "$verdict" >>"$report"
done
cat "$report"
exit "$over"
