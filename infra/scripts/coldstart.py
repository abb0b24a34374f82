#!/usr/bin/env python3
"""Cold starts, measured: each function binary under a small Lambda Runtime API emulator on
127.0.0.1, one event each, then its init time and peak RSS.

    python3 infra/scripts/coldstart.py [--bin-dir target/release] [--runs 5]

Init time is from spawning the process to its first `GET /runtime/invocation/next` (what
Lambda bills as Init Duration: tracing, configuration, SDK clients; no network). The event
then runs against AWS at $MOTO_ENDPOINT when set (tables and secret need not exist: the
answer, success or error, is reported either way), else against a closed loopback port.
Peak RSS is the process's VmHWM after it answered. Prints one line per function (median of
--runs) and exits non-zero when an init is over --init-ms or an RSS over --rss-mb.
"""

import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

FUNCTIONS = ["scheduled-sync", "immediate-sync", "account-sync", "license-info", "admin-api"]
ACCOUNT = "001Wk0000000001IAA"


def api_event(method, path, body=None):
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "coldstart", "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}", "stage": "$default", "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "coldstart"},
            "authorizer": {"iam": {"accountId": "123456789012", "userArn":
                                   "arn:aws:iam::123456789012:user/admin", "userId": "AIDA"}},
        },
        "body": body, "isBase64Encoded": False,
    }


def schedule_event(task):
    return {"source": "flexbridge.schedule", "task": task, "scheduledTime": "2026-11-20T02:00:00Z",
            "executionId": "coldstart", "attempt": "1",
            "scheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/coldstart"}


def sqs_event():
    body = json.dumps({"v": 1, "task_id": "sched-coldstart", "account_id": ACCOUNT,
                       "kind": "scheduled", "window_from": None, "window_to": None})
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "coldstart", "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0",
                       "SenderId": "coldstart", "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:work", "awsRegion": "us-east-1"}]}


EVENTS = {
    "scheduled-sync": lambda: schedule_event("scheduled-sync"),
    "immediate-sync": lambda: api_event("POST", "/sync", json.dumps({"hours": 1})),
    "account-sync": sqs_event,
    "license-info": lambda: schedule_event("license-info"),
    "admin-api": lambda: api_event("GET", "/runs"),
}


class Emulator(http.server.ThreadingHTTPServer):
    """The Runtime API: one event for the first `next`, then `next` waits until stopped."""

    daemon_threads = True

    def __init__(self, event):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = event
        self.first_next = None
        self.answered = None
        self.outcome = None
        self.served = False
        self.stop = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    server: Emulator

    def log_message(self, *_):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self.send_error(404)
        if self.server.first_next is None:
            self.server.first_next = time.monotonic()
        if self.server.served:
            self.server.stop.wait(30)
            try:
                self.send_error(410)
            except OSError:
                pass  # the process was stopped while it waited: expected
            return
        self.server.served = True
        body = json.dumps(self.server.event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "coldstart-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:coldstart")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(n) if n else b""
        kind = self.path.rsplit("/", 1)[-1]  # response | error (init/error too)
        if self.server.answered is None:
            self.server.answered = time.monotonic()
            self.server.outcome = kind if kind != "response" else summarize(payload)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def summarize(payload):
    try:
        v = json.loads(payload or b"null")
    except ValueError:
        return "response"
    if isinstance(v, dict) and "statusCode" in v:
        return f"HTTP {v['statusCode']}"
    if isinstance(v, dict) and "batchItemFailures" in v:
        return f"{len(v['batchItemFailures'])} item failure(s)"
    return "response"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_once(binary, function):
    emu = Emulator(EVENTS[function]())
    threading.Thread(target=emu.serve_forever, daemon=True).start()
    endpoint = os.environ.get("MOTO_ENDPOINT") or f"http://127.0.0.1:{closed_port()}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{emu.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": function, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart", "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        # template.yaml's Globals (names only)
        "LOG_TABLE": "fb-log", "STATE_TABLE": "fb-state", "LICENSE_TABLE": "fb-licenses",
        "WORK_QUEUE_URL": f"{endpoint}/123456789012/fb-work",
        "CONNECTION_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:fb-connection",
        "SCHEDULE_NAME": "fb-scheduled-sync", "SCHEDULE_GROUP": "default",
        "LOG_RETENTION_DAYS": "90", "EXTRA_ALLOWED_HOSTS": "", "LICENSE_HISTORY_RETENTION_DAYS": "730",
        "ACCOUNT_CONCURRENCY": "4",
    }
    start = time.monotonic()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = start + 60
        while emu.answered is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        if emu.answered is None:
            err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
            raise RuntimeError(f"{function}: no answer (exit {proc.poll()}) {err[-400:]}")
        time.sleep(0.05)  # the runtime is back in `next`: its peak includes the whole event
        rss = peak_rss_kb(proc.pid)
    finally:
        emu.stop.set()
        proc.kill()
        proc.wait()
        emu.shutdown()
        emu.server_close()
    return ((emu.first_next - start) * 1000, (emu.answered - emu.first_next) * 1000, rss / 1024,
            emu.outcome)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", default="target/release")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--init-ms", type=float, default=50.0)
    ap.add_argument("--rss-mb", type=float, default=48.0)
    args = ap.parse_args()
    print(f"{'function':<16} {'init ms':>8} {'event ms':>9} {'peak RSS MB':>12}  first answer")
    bad = False
    for f in FUNCTIONS:
        binary = os.path.join(args.bin_dir, f)
        results = [run_once(binary, f) for _ in range(args.runs)]
        init = statistics.median(r[0] for r in results)
        event = statistics.median(r[1] for r in results)
        rss = max(r[2] for r in results)
        print(f"{f:<16} {init:8.1f} {event:9.1f} {rss:12.1f}  {results[0][3]}")
        bad |= init > args.init_ms or rss > args.rss_mb
    if bad:
        print(f"over budget: init > {args.init_ms} ms or peak RSS > {args.rss_mb} MB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
