#!/usr/bin/env bash
# The whole stack on this machine, from infra/template.yaml: DynamoDB Local and LocalStack (S3, SQS),
# the template's table, queues and bucket created on them, every function under `cargo lambda watch`
# (HTTP routes as in the template), and a poller that feeds the SQS- and DynamoDB-stream-triggered
# functions through cargo lambda's Invoke API the way Lambda's event source mappings do.
# Usage: scripts/local-stack.sh start|stop|status
#   LAMBDA_PORT (default 9000): the API and Invoke API; DYNAMODB_PORT, LOCALSTACK_PORT as their scripts.
#   LOCAL_STACK_NO_RELOAD=1: do not rebuild functions when sources change (CI).
#   LOCAL_STACK_BUILD: cargo build arguments instead of `-p <each function>`.
#   Writes .tools/local-stack/outputs.json (URLs and names) and logs watch.log, poller.log there.
set -euo pipefail

NAME=local-stack
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="$REPO_ROOT/.tools/local-stack"
# shellcheck source=service-lib.sh
. "$REPO_ROOT/scripts/service-lib.sh"
cd "$REPO_ROOT"

export AWS_REGION="${AWS_REGION:-ap-southeast-2}" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}" AWS_EC2_METADATA_DISABLED=true
export DYNAMODB_PORT="${DYNAMODB_PORT:-8000}" LOCALSTACK_PORT="${LOCALSTACK_PORT:-4566}"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${DYNAMODB_PORT}"
export AWS_ENDPOINT_URL="http://127.0.0.1:${LOCALSTACK_PORT}"
LAMBDA_PORT="${LAMBDA_PORT:-9000}"
API_URL="http://127.0.0.1:$LAMBDA_PORT"
READY_URL="$API_URL/"
# cargo lambda watch's instances per function; the poller runs at most this many batches at once.
CONCURRENCY=2

alive() { [ -f "$DIR/$1.pid" ] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null; }

# cargo lambda watch runs `cargo run --bin <function>`, which in this workspace (its root is also a
# package, the only default member) finds no such bin; this cargo adds `--package <function>`.
# Without reloads it starts the binary built above directly: no cargo (and no wait for cargo's
# lock while another build holds it) when an instance starts.
write_cargo_shim() {
  local real no_reload="${LOCAL_STACK_NO_RELOAD:-}" target="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"
  real="$(command -v cargo)"
  cat >"$DIR/cargo" <<EOF
#!/usr/bin/env bash
if [ "\${1:-}" = run ]; then
  bin= package=
  prev=
  for a in "\$@"; do
    case "\$prev" in --bin) bin=\$a ;; esac
    case "\$a" in --bin=*) bin=\${a#--bin=} ;; -p|--package|--package=*) package=1 ;; esac
    prev=\$a
  done
  if [ "$no_reload" = 1 ] && [ -n "\$bin" ] && [ -x "$target/debug/\$bin" ]; then exec "$target/debug/\$bin"; fi
  if [ -n "\$bin" ] && [ -z "\$package" ]; then set -- "\$@" --package "\$bin"; fi
fi
exec "$real" "\$@"
EOF
  chmod +x "$DIR/cargo"
}

# launch NAME COMMAND...: a background process in its own process group, logged to NAME.log.
launch_bg() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

stop_bg() {
  local name=$1 pid
  alive "$name" || { rm -f "$DIR/$name.pid"; return 0; }
  pid="$(cat "$DIR/$name.pid")"
  # The group: cargo lambda watch's function processes go with it.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$DIR/$name.pid"
  log "stopped $name (pid $pid)"
}

do_start() {
  if alive watch && alive poller && port_answers; then
    log "already running: $API_URL"
    return 0
  fi
  do_stop_stack
  mkdir -p "$DIR"
  need curl curl
  need openssl openssl
  : >"$DIR/started"
  local service url
  for service in dynamodb-local localstack; do
    case "$service" in
      dynamodb-local) url="$AWS_ENDPOINT_URL_DYNAMODB/" ;;
      localstack) url="$AWS_ENDPOINT_URL/_localstack/health" ;;
    esac
    if "scripts/$service.sh" status >/dev/null 2>&1; then
      continue
    elif [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" || true)" != 000 ]; then
      log "using the $service already answering at $url (e.g. infra/docker-compose.localstack.yml)"
    else
      "scripts/$service.sh" start
      echo "$service" >>"$DIR/started"
    fi
  done
  local tools python
  tools="$(scripts/lambda-tools.sh lambda)"
  python="$tools/python"
  "$python" scripts/local_stack provision --template infra/template.yaml --out "$DIR" --local-url "$API_URL"

  # Build every function first, so the first request does not wait for a compile.
  local packages=()
  mapfile -t packages < <("$python" -c 'import json,sys; [print(f["binary"]) for f in json.load(open(sys.argv[1]))["functions"].values()]' "$DIR/outputs.json")
  # LOCAL_STACK_BUILD replaces the package list, e.g. to build what a later `cargo test` reuses.
  local build
  build="${LOCAL_STACK_BUILD:-$(printf -- '-p %s ' "${packages[@]}")}"
  log "cargo build $build"
  # shellcheck disable=SC2086 # word splitting is the point
  cargo build $build

  write_cargo_shim
  local watch_flags=(--invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" --concurrency "$CONCURRENCY"
    --global "$DIR/cargo-lambda.toml")
  # No --timeout: cargo lambda applies it to the runtime's own long-poll for the next event too,
  # whose 408 kills an idle function for good. Callers time out instead (the poller: the
  # function's Timeout plus start-up slack).
  if [ "${LOCAL_STACK_NO_RELOAD:-}" = 1 ]; then watch_flags+=(--ignore-changes); fi
  launch_bg watch env CARGO="$DIR/cargo" "$python" scripts/local_stack watch --out "$DIR" -- \
    "$tools/cargo-lambda" lambda watch "${watch_flags[@]}"
  local deadline=$((SECONDS + ${START_TIMEOUT:-120}))
  until port_answers; do
    if [ "$SECONDS" -ge "$deadline" ] || ! alive watch; then
      log "ERROR: cargo lambda watch did not start; log tail:" >&2
      tail -n 30 "$DIR/watch.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
  launch_bg poller "$python" -u scripts/local_stack poll --out "$DIR" --invoke-url "$API_URL" --concurrency "$CONCURRENCY"
  sleep 1
  alive poller || { tail -n 30 "$DIR/poller.log" >&2; return 1; }
  log "running: API $API_URL, outputs $DIR/outputs.json, logs $DIR/watch.log and $DIR/poller.log"
}

do_stop_stack() {
  stop_bg poller
  stop_bg watch
}

do_stop() {
  do_stop_stack
  if [ -f "$DIR/started" ]; then
    while read -r service; do "scripts/$service.sh" stop; done <"$DIR/started"
    rm -f "$DIR/started"
  fi
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) alive watch && alive poller && port_answers ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
