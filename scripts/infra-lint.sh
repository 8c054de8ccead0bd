#!/usr/bin/env bash
# Lints infra/template.yaml with cfn-lint and `sam validate --lint` (pinned, in .tools/sam/venv).
# Offline: dummy credentials and a region are all sam validate needs; telemetry is off.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PATH="$(scripts/lambda-tools.sh sam):$PATH"
export AWS_REGION="${AWS_REGION:-ap-southeast-2}" AWS_DEFAULT_REGION="${AWS_REGION:-ap-southeast-2}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0

echo "== cfn-lint $(cfn-lint --version | awk '{print $2}')"
cfn-lint infra/template.yaml
echo "== sam validate --lint ($(sam --version | awk '{print $4}'))"
sam validate --lint --template infra/template.yaml
