#!/usr/bin/env bash
# Installs what the browser tests need (tests/browser.rs): Debian's Chromium at /usr/bin/chromium,
# and the Node packages of tests/browser (playwright-core, jose, jsqr, pngjs) from the committed
# package-lock.json, when node_modules is missing or older than the lock file.
set -euo pipefail

NAME=browser-deps
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/tests/browser"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

need node nodejs
need npm npm
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  apt_install chromium
fi
# npm writes this file on every install, so its age is the age of node_modules.
MARKER="$DIR/node_modules/.package-lock.json"
if [ -f "$MARKER" ] && [ ! "$DIR/package-lock.json" -nt "$MARKER" ]; then
  exit 0
fi
log "npm ci in tests/browser"
# playwright-core downloads no browser; the tests use /usr/bin/chromium.
(cd "$DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
touch "$MARKER"
