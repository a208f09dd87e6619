#!/usr/bin/env bash
# The wheel works outside the checkout: `pip wheel .` → an empty venv → `sdbot run` (sandbox mode,
# in a temporary directory) answers /start. Usage: .ci/wheel-check.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
py="${1:-python3}"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$py" -m pip wheel --no-deps -q -w "$work/dist" .
"$py" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl -c constraints.txt
cd "$work"
export SANDBOX_PORT=18281 WEB_PORT=18280 WEBHOOK_PORT=18288 DATABASE_URL="sqlite+aiosqlite:///$work/desk.db"
"$work/venv/bin/sdbot" --version
"$work/venv/bin/sdbot" run >"$work/run.log" 2>&1 &
pid=$!
"$work/venv/bin/python" - <<'PY'
import json, time, urllib.request

base = "http://127.0.0.1:18281"
def call(path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)

deadline = time.monotonic() + 120
while True:
    try:
        call("/sandbox/send", {"user_id": 5001, "text": "/start", "language_code": "en"})
        break
    except OSError:
        if time.monotonic() > deadline:
            raise SystemExit("wheel check: the sandbox never came up")
        time.sleep(0.5)
while time.monotonic() < deadline:
    msgs = call("/sandbox/messages?user_id=5001&wait=5")["messages"]
    if msgs:
        print("wheel check: the installed sdbot answered /start:", msgs[0]["text"].splitlines()[0])
        raise SystemExit(0)
raise SystemExit("wheel check: no answer to /start")
PY
