# Shared helpers for the scripts that install test tools or run a local emulator in the background.
# An emulator script sets NAME, DIR (its .tools folder), PORT and READY_URL, and defines
# `do_install` and `launch` (which execs the server in the foreground).
# shellcheck shell=bash

HOST=127.0.0.1
LOG="$DIR/server.log"
PID_FILE="$DIR/server.pid"

log() { echo "$NAME: $*"; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need() { # need COMMAND DEBIAN-PACKAGE...
  local cmd=$1
  shift
  if ! command -v "$cmd" >/dev/null 2>&1; then
    log "installing $*"
    apt_install "$@"
  fi
}

npm_ci_when_stale() { # npm_ci_when_stale DIR: the committed package-lock.json into DIR/node_modules
  local dir=$1
  need node nodejs
  need npm npm
  # npm writes this file on every install, so its age is the age of node_modules.
  local marker="$dir/node_modules/.package-lock.json"
  if [ -f "$marker" ] && [ ! "$dir/package-lock.json" -nt "$marker" ]; then
    return 0
  fi
  log "npm ci in ${dir#"$REPO_ROOT"/}"
  (cd "$dir" && npm ci --silent --no-audit --no-fund)
  touch "$marker"
}

port_answers() {
  local code
  code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$READY_URL" 2>/dev/null || true)"
  [ -n "$code" ] && [ "$code" != "000" ]
}

our_pid() { # prints the pid from the pid file if that process is alive
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

do_start() {
  need curl curl
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
  mkdir -p "$DIR"
  (cd "$DIR" && launch </dev/null >"$LOG" 2>&1) &
  pid=$!
  echo "$pid" >"$PID_FILE"
  local deadline=$((SECONDS + ${START_TIMEOUT:-90}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if port_answers; then
      log "started (pid $pid, port $PORT)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  log "ERROR: did not become ready on port $PORT; log tail:" >&2
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
  # The launcher subshell execs the server, so the pid is the server itself.
  kill "$pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

main() {
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
}
