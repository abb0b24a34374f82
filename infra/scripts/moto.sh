#!/usr/bin/env bash
# A moto server on 127.0.0.1 for the AWS adapters' tests, by hand:
#   eval "$(bash infra/scripts/moto.sh start)"   # starts it, prints `export MOTO_ENDPOINT=...`
#   cargo test -p aws-adapters                   # uses MOTO_ENDPOINT
#   bash infra/scripts/moto.sh stop
# Without MOTO_ENDPOINT the tests start their own server (one per test binary) and stop it.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
STATE=$ROOT/target/moto
PY=${MOTO_PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x "$ROOT/.venv-test/bin/python" ]; then PY=$ROOT/.venv-test/bin/python; else PY=python3; fi
fi
mkdir -p "$STATE"
case "${1:-}" in
start)
    if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
        echo "export MOTO_ENDPOINT=$(cat "$STATE/endpoint")"; exit 0
    fi
    "$PY" -c 'import moto.server' 2>/dev/null || { echo "moto[server] is not installed for $PY (pip install 'moto[server]')" >&2; exit 2; }
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    nohup "$PY" "$ROOT/tests/moto_server.py" -H 127.0.0.1 -p "$PORT" >"$STATE/moto.log" 2>&1 &
    echo $! >"$STATE/pid"
    echo "http://127.0.0.1:$PORT" >"$STATE/endpoint"
    for _ in $(seq 1 100); do
        "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
        sleep 0.1
    done
    echo "export MOTO_ENDPOINT=http://127.0.0.1:$PORT"
    ;;
stop)
    if [ -f "$STATE/pid" ]; then kill "$(cat "$STATE/pid")" 2>/dev/null || true; rm -f "$STATE/pid" "$STATE/endpoint"; fi
    ;;
*)
    echo "usage: $0 start|stop" >&2; exit 64
    ;;
esac
