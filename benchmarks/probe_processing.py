"""Quick throughput probe: per-chat-ordered concurrent processing vs one update at a time.

N users each send /start at once to the sandbox (simulated Bot API round trip ``--delay-ms``);
the probe times until every user has a reply and prints updates/s for both models as JSON.
``max_concurrent_updates=1`` is the library's default model (one update at a time, bot-wide).

    python -m benchmarks.probe_processing [--users 300] [--delay-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bot.sandbox import SandboxServer
from tests.harness import Harness, fresh_sqlite, migrated_template, seeded, test_clock


async def _all_replied(h: Harness, users: int, deadline: float) -> None:
    """Wait until the sandbox has seen one sendMessage per user."""
    sent = 0
    while time.monotonic() < deadline:
        sent = (await h.get("/sandbox/stats"))["calls"].get("sendMessage", 0)
        if sent >= users:
            return
        await asyncio.sleep(0.02)
    raise SystemExit(f"only {sent} of {users} users got a reply")


async def probe(users: int, delay_ms: float, concurrency: int, workdir: Path, template: Path) -> float:
    """Updates per second for ``users`` simultaneous /start messages."""
    sandbox = SandboxServer(port=0)
    await sandbox.start()
    run_dir = workdir / f"c{concurrency}"
    run_dir.mkdir()
    h = Harness(sandbox, fresh_sqlite(template, run_dir), test_clock())
    try:
        await seeded(h)
        await h.post("/sandbox/config", {"delay_ms": delay_ms})
        await h.start(max_concurrent_updates=concurrency)
        ids = range(700000, 700000 + users)
        started = time.monotonic()
        await asyncio.gather(*(h.chat(uid, "en").send("/start") for uid in ids))
        await _all_replied(h, users, started + 600)
        return users / (time.monotonic() - started)
    finally:
        await h.close()
        await sandbox.stop()


def main() -> None:
    """Run both models and print their throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=50.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = migrated_template(Path(tmp))
        ordered = asyncio.run(probe(args.users, args.delay_ms, 256, Path(tmp), template))
        serial = asyncio.run(probe(args.users, args.delay_ms, 1, Path(tmp), template))
    print(json.dumps({
        "users": args.users, "bot_api_delay_ms": args.delay_ms,
        "per_chat_ordered_updates_per_s": round(ordered, 1),
        "one_at_a_time_updates_per_s": round(serial, 1),
        "speedup": round(ordered / serial, 1),
    }))


if __name__ == "__main__":
    main()
