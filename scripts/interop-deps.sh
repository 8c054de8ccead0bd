#!/usr/bin/env bash
# Installs the Node packages of the signing interop test (tests/interop: jose, standardwebhooks)
# from the committed package-lock.json, when node_modules is missing or older than the lock file.
set -euo pipefail

NAME=interop-deps
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/tests/interop"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

npm_ci_when_stale "$DIR"
