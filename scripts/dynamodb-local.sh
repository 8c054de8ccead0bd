#!/usr/bin/env bash
# AWS's DynamoDB Local (its jar ships in the npm package amplify-dynamodb-simulator), on Java 17.
# Usage: scripts/dynamodb-local.sh install|start|stop|status   (port: DYNAMODB_PORT, default 8000)
set -euo pipefail

SIM_PKG="amplify-dynamodb-simulator@2.9.30"
NAME=dynamodb-local
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/.tools/dynamodb-local"
PORT="${DYNAMODB_PORT:-8000}"
READY_URL="http://127.0.0.1:$PORT/"
JAR="$DIR/DynamoDBLocal.jar"
LIB_DIR="$DIR/DynamoDBLocal_lib"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"

do_install() {
  need java openjdk-17-jre-headless
  if [ -f "$JAR" ] && [ -d "$LIB_DIR" ]; then
    return 0
  fi
  need npm nodejs npm
  local tmp tgz
  tmp="$(mktemp -d)"
  log "downloading $SIM_PKG"
  tgz="$(cd "$tmp" && npm pack --silent "$SIM_PKG" | tail -n1)"
  tar -xzf "$tmp/$tgz" -C "$tmp" package/emulator
  mkdir -p "$DIR"
  rm -rf "$LIB_DIR"
  cp -R "$tmp/package/emulator/DynamoDBLocal_lib" "$LIB_DIR"
  # The jar goes last, so its presence means "fully installed".
  cp "$tmp/package/emulator/DynamoDBLocal.jar" "$JAR.tmp"
  mv "$JAR.tmp" "$JAR"
  rm -rf "$tmp"
  log "installed to $DIR"
}

launch() {
  exec java -Djava.library.path="$LIB_DIR" -jar "$JAR" -inMemory -sharedDb -disableTelemetry -port "$PORT"
}

main "$@"
