#!/usr/bin/env bash
# Installs the Lambda and template tools into virtualenvs under .tools/, pinned, from PyPI:
#   lambda: cargo-lambda (build, watch, invoke) and ziglang (the arm64 cross linker);
#   sam:    cfn-lint and aws-sam-cli (template lints).
# Usage: scripts/lambda-tools.sh lambda|sam   Prints the venv's bin folder, to put first on PATH.
set -euo pipefail

NAME=lambda-tools
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/.tools"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

CARGO_LAMBDA=1.9.2
ZIGLANG=0.13.0.post1
CFN_LINT=1.58.0
SAM_CLI=1.170.0

# install VENV MARKER-COMMAND PACKAGE...: a venv is (re)made only when its marker command
# does not run, so a second call costs nothing.
install() {
  local venv=$1 check=$2
  shift 2
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    return 0
  fi
  need python3 python3 python3-venv
  log "installing $* into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
  "$venv/bin/python" -c "$check" >/dev/null
}

case "${1:-}" in
  lambda)
    venv="$DIR/cargo-lambda/venv"
    install "$venv" "import subprocess, sys; sys.exit(subprocess.call(['$venv/bin/cargo-lambda', 'lambda', '--version'], stdout=subprocess.DEVNULL) or subprocess.call(['$venv/bin/python', '-m', 'ziglang', 'version'], stdout=subprocess.DEVNULL))" \
      "cargo-lambda==$CARGO_LAMBDA" "ziglang==$ZIGLANG"
    echo "$venv/bin"
    ;;
  sam)
    venv="$DIR/sam/venv"
    install "$venv" "import cfnlint, samcli; assert cfnlint.version.__version__ == '$CFN_LINT' and samcli.__version__ == '$SAM_CLI'" \
      "cfn-lint==$CFN_LINT" "aws-sam-cli==$SAM_CLI"
    echo "$venv/bin"
    ;;
  *)
    echo "usage: $0 lambda|sam" >&2
    exit 2
    ;;
esac
