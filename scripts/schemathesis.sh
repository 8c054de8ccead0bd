#!/usr/bin/env bash
# Fuzzes the local server against its own OpenAPI document with schemathesis (pinned, from
# PyPI, in .tools/schemathesis/venv): starts `total-identity serve` on a fresh embedded store,
# creates a tenant whose rate limit the fuzzer cannot reach, and runs positive and negative
# cases on every operation. Fails on any 5xx, undocumented status, response that does not
# match its schema, or accepted request that breaks the schema. Stops the server it started.
# Env: ST_MAX_EXAMPLES (default 25 per operation), ST_SEED (default 1; fixed, so CI is
# reproducible), ST_BUILD (cargo build arguments, default `--bin total-identity`; scripts/test
# passes the flags of its own build so nothing is rebuilt), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin_dir="$(scripts/lambda-tools.sh schemathesis)"
echo "schemathesis: building the server" >&2
# shellcheck disable=SC2086 # ST_BUILD is a list of arguments
cargo build --quiet ${ST_BUILD:---bin total-identity}
server="${CARGO_TARGET_DIR:-target}/debug/total-identity"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

store=(--store embedded --data-dir "$work/data")
key="$("$server" tenant create --name Fuzz --redirect-origin https://yourapp.com --json \
  --rate-limit-burst 1000000 --rate-limit-per-sec 1000000 "${store[@]}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')"

RUST_LOG=warn "$server" serve --listen 127.0.0.1:0 "${store[@]}" >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base="$(sed -n 's/^listening on //p' "$work/stdout")"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "schemathesis: the server did not start" >&2; exit 1; }
echo "schemathesis: fuzzing $base" >&2

# Real ids for the path parameters, so operations reach past 404: a session to read and
# cancel, and a document + dvs + bank journey for the journey endpoints.
create() {
  curl -sf "$base/identity" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$1"
}
session_id="$(create '{"reference":"fuzz_read","redirect_url":"https://yourapp.com/done"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["session_id"])')"
secret="$(create '{"reference":"fuzz_journey","redirect_url":"https://yourapp.com/done","steps":["document","dvs","bank"],
  "first_name":"Fuzz","last_name":"Tester","birth_date":"1990-01-31"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["identity_url"].rsplit("/", 1)[1])')"
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.session_id" = "$session_id"
"path.secret" = "$secret"
TOML

status=0
# From the temporary folder: schemathesis keeps a cache in its working directory.
(cd "$work" && "$bin_dir/schemathesis" --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,negative_data_rejection,status_code_conformance,response_schema_conformance,content_type_conformance \
  --mode all \
  --phases examples,coverage,fuzzing \
  --max-examples "${ST_MAX_EXAMPLES:-25}" \
  --seed "${ST_SEED:-1}" \
  --workers 2 \
  --max-redirects 0 \
  --no-color \
  --generation-database none \
  --report-dir "$work/report") || status=$?
if [ "$status" != 0 ]; then
  echo "schemathesis: failures above; the server's log:" >&2
  tail -50 "$work/stderr" >&2
fi
exit "$status"
