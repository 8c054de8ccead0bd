#!/usr/bin/env bash
# Installs the Node packages of the signing interop test (tests/interop: jose, standardwebhooks)
# from the committed package-lock.json, when node_modules is missing or older than the lock file.
set -euo pipefail

NAME=interop-deps
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/tests/interop"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

need node nodejs
need npm npm
# npm writes this file on every install, so its age is the age of node_modules.
MARKER="$DIR/node_modules/.package-lock.json"
if [ -f "$MARKER" ] && [ ! "$DIR/package-lock.json" -nt "$MARKER" ]; then
  exit 0
fi
log "npm ci in tests/interop"
(cd "$DIR" && npm ci --silent --no-audit --no-fund)
touch "$MARKER"
