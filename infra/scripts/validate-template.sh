#!/usr/bin/env bash
# Validate template.yaml offline: cfn-lint, `sam validate` and `sam validate --lint`.
# Installs pinned tools in their own venvs (skipped when present): SAM CLI in .venv-sam (it pins
# boto3, so it gets its own), cfn-lint in .venv-test. Needs only a region and dummy credentials.
# Exit status: non-zero if any of the three reports an error.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
SAM_VERSION=1.170.0
CFN_LINT_VERSION=1.51.0
SAMVENV=$ROOT/.venv-sam
LINTVENV=$ROOT/.venv-test

if [ ! -x "$SAMVENV/bin/sam" ]; then
    "$PY" -m venv "$SAMVENV" && "$SAMVENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "aws-sam-cli==$SAM_VERSION" || { echo "cannot install aws-sam-cli"; exit 2; }
fi
if [ ! -x "$LINTVENV/bin/cfn-lint" ]; then
    [ -x "$LINTVENV/bin/python" ] || "$PY" -m venv "$LINTVENV" || { echo "cannot create $LINTVENV"; exit 2; }
    "$LINTVENV/bin/python" -m pip install --quiet --disable-pip-version-check "cfn-lint==$CFN_LINT_VERSION" \
        || { echo "cannot install cfn-lint"; exit 2; }
fi

export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export SAM_CLI_TELEMETRY=0

rc=0
run() { echo "==> $*"; if "$@"; then echo "ok"; else echo "FAILED: $*"; rc=1; fi; }
run "$LINTVENV/bin/cfn-lint" template.yaml
run "$SAMVENV/bin/sam" validate --template-file template.yaml
run "$SAMVENV/bin/sam" validate --lint --template-file template.yaml
exit $rc
