#!/usr/bin/env bash
# Installs pinned Python-packaged tools into virtualenvs under .tools/ (from PyPI, no global installs):
#   lambda: cargo-lambda, ziglang (the arm64 cross linker), boto3 + PyYAML (scripts/local_stack.py)
#           from infra/local-requirements.txt;
#   sam:    cfn-lint and aws-sam-cli from infra/lint-requirements.txt;
#   schemathesis: the API fuzzer from infra/schemathesis-requirements.txt (scripts/schemathesis.sh).
# Every dependency is pinned and installed with --no-deps: no resolver work, same versions everywhere.
# Usage: scripts/lambda-tools.sh lambda|sam|schemathesis   Prints the venv's bin folder, to put first on PATH.
set -euo pipefail

NAME=lambda-tools
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/.tools"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

# install VENV REQUIREMENTS: (re)made only when the requirements file changed since the last install.
install() {
  local venv=$1 requirements=$2
  local stamp="$venv/.requirements"
  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then
    return 0
  fi
  need python3 python3 python3-venv
  log "installing $(basename "$requirements") into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  # No .pyc compilation at install: it is most of the time, and imports compile what they use.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --no-compile -r "$requirements" >&2
  cp "$requirements" "$stamp"
}

case "${1:-}" in
  lambda)
    install "$DIR/cargo-lambda/venv" "$REPO_ROOT/infra/local-requirements.txt"
    echo "$DIR/cargo-lambda/venv/bin"
    ;;
  sam)
    install "$DIR/sam/venv" "$REPO_ROOT/infra/lint-requirements.txt"
    echo "$DIR/sam/venv/bin"
    ;;
  schemathesis)
    install "$DIR/schemathesis/venv" "$REPO_ROOT/infra/schemathesis-requirements.txt"
    echo "$DIR/schemathesis/venv/bin"
    ;;
  *)
    echo "usage: $0 lambda|sam|schemathesis" >&2
    exit 2
    ;;
esac
