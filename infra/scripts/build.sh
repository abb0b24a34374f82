#!/usr/bin/env bash
# Build the five functions the way `sam deploy` ships them, with no Docker:
#   sam build --beta-features   (template.yaml's BuildMethod rust-cargolambda)
# SAM runs `cargo lambda build --release --arm64` per function; cargo-lambda cross-links with
# zig. Both come from PyPI, pinned, into .venv-build (SAM CLI into .venv-sam, as
# validate-template.sh does); the Rust target aarch64-unknown-linux-gnu is added with rustup.
# Then prints every function's zip size (the artifact Lambda receives: bootstrap, zipped).
# Exit status: non-zero if the build fails or a zip is over the budget (ZIP_BUDGET_MB, 8).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
SAM_VERSION=1.170.0
CARGO_LAMBDA_VERSION=1.9.2
ZIG_VERSION=0.17.0
BUDGET_MB=${ZIP_BUDGET_MB:-8}
BUILDVENV=$ROOT/.venv-build
SAMVENV=$ROOT/.venv-sam

if [ ! -x "$BUILDVENV/bin/cargo-lambda" ]; then
    [ -x "$BUILDVENV/bin/python" ] || "$PY" -m venv "$BUILDVENV"
    "$BUILDVENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION"
fi
if [ ! -x "$SAMVENV/bin/sam" ]; then
    [ -x "$SAMVENV/bin/python" ] || "$PY" -m venv "$SAMVENV"
    "$SAMVENV/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$SAM_VERSION"
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null
# cargo-lambda finds zig as `python3 -m ziglang` of the venv
export PATH="$BUILDVENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}

start=$(date +%s)
"$SAMVENV/bin/sam" build --beta-features --template-file template.yaml
echo "sam build: $(($(date +%s) - start)) s"

# what Lambda receives: each function's artifact directory, zipped as sam package would
echo
printf '%-24s %12s %12s\n' function "bootstrap" "zip"
over=0
for dir in .aws-sam/build/*Function; do
    name=$(basename "$dir")
    zip="$ROOT/target/lambda-zips/$name.zip"
    mkdir -p "$(dirname "$zip")"
    rm -f "$zip"
    "$BUILDVENV/bin/python" - "$dir" "$zip" <<'PY'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for root, _, files in os.walk(src):
        for f in files:
            p = os.path.join(root, f)
            z.write(p, os.path.relpath(p, src))
PY
    bin=$(stat -c %s "$dir/bootstrap")
    size=$(stat -c %s "$zip")
    awk -v n="$name" -v b="$bin" -v z="$size" 'BEGIN { printf "%-24s %9.1f MB %9.1f MB\n", n, b / 1048576, z / 1048576 }'
    if [ "$size" -gt $((BUDGET_MB * 1048576)) ]; then over=1; fi
done
if [ "$over" -ne 0 ]; then echo "a zip is over ${BUDGET_MB} MB"; exit 1; fi
