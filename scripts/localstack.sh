#!/usr/bin/env bash
# LocalStack in host mode (no Docker) for S3 and SQS, with presigned-URL signature checks on.
# Pinned per the team's notes: localstack-core 4.9.2 runs on Python 3.11 with cbor2<5.7 and pyopenssl<24.3.
# Usage: scripts/localstack.sh install|start|stop|status   (port: LOCALSTACK_PORT, default 4566)
set -euo pipefail

NAME=localstack
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/.tools/localstack"
PORT="${LOCALSTACK_PORT:-4566}"
READY_URL="http://127.0.0.1:$PORT/_localstack/health"
VENV="$DIR/venv"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

do_install() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import localstack.runtime.main' 2>/dev/null; then
    return 0
  fi
  need python3 python3 python3-venv
  log "installing localstack-core 4.9.2 into $VENV"
  mkdir -p "$DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    'localstack-core[runtime]==4.9.2' 'cbor2<5.7' 'pyopenssl<24.3' 2>&1 | grep -v 'dependency conflicts\|joserfc\|^$' || true
  "$VENV/bin/python" -c 'import localstack.runtime.main'
  log "installed"
}

launch() {
  mkdir -p "$DIR/volume"
  GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$PORT" SERVICES=s3,sqs \
    S3_SKIP_SIGNATURE_VALIDATION=0 LOCALSTACK_VOLUME_DIR="$DIR/volume" \
    exec "$VENV/bin/python" -m localstack.runtime.main
}

main "$@"
