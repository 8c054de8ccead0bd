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

if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium"
  apt_install chromium
fi
# playwright-core downloads no browser; the tests use /usr/bin/chromium.
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_ci_when_stale "$DIR"
