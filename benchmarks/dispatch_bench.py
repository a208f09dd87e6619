"""Dispatch benchmark: delay from ticket submission to the dispatch card in the sandbox, and the
lateness of escalation (ack) timers.

    .venv/bin/python -m benchmarks.dispatch_bench [--tickets 30] [--burst 20] [--timers 20]

Runs the real bot against the Bot API sandbox and a fresh SQLite database (demo data, Monday
10:00 office hours). *Submission* is the start of the unit of work that opens and dispatches the
ticket (what intake does when the customer presses Submit); the card counts as delivered when the
sandbox shows it in the engineer's chat. Timer lateness is measured by the worker itself (fire
time − due time, real seconds) for ack timers that come due while the bot is running.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from bot.sandbox import SandboxServer
from tests.harness import Harness, fresh_sqlite, migrated_template, seeded, test_clock
from tests.support.dispatchkit import TG, greet, local, open_ticket, pending_timers


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def _line(name: str, ms: list[float]) -> str:
    return (f"{name}: n={len(ms)} p50 {_pct(ms, 50):.0f} ms, p95 {_pct(ms, 95):.0f} ms, "
            f"max {max(ms):.0f} ms, mean {statistics.mean(ms):.0f} ms")


async def _arrived(h: Harness, user_id: int, number: str, deadline: float) -> float:
    """perf_counter when a message with ``number`` is visible in ``user_id``'s chat."""
    since = 0
    while time.perf_counter() < deadline:
        data = await h.get("/sandbox/messages", user_id=user_id, since=since, wait=2)
        for m in data["messages"]:
            if number in (m.get("text") or ""):
                return time.perf_counter()
        since = data.get("last_id", since)
    raise TimeoutError(number)


async def run(tmp: Path, tickets: int, burst: int, timer_count: int) -> None:
    """Start sandbox and bot, measure, stop."""
    sandbox = SandboxServer(port=0)
    await sandbox.start()
    h = Harness(sandbox, f"sqlite+aiosqlite:///{tmp / 'desk.db'}", test_clock())
    try:
        await seeded(h)
        h.clock.set(local(h, 2026, 11, 23, 10, 0))
        await h.start()
        await greet(h, "customer", "li", "zhao", "admin")
        await open_ticket(h, sla=False)  # warm-up

        sequential = []
        for _ in range(tickets):
            _, number, _, started = await open_ticket(h, sla=False)
            sequential.append((await _arrived(h, TG["li"], number, time.perf_counter() + 10) - started) * 1000)
        print(_line("submission → dispatch card, one at a time", sequential))

        async def one() -> float:
            _, number, _, started = await open_ticket(h, sla=False)
            return (await _arrived(h, TG["li"], number, time.perf_counter() + 30) - started) * 1000

        burst_ms = await asyncio.gather(*(one() for _ in range(burst)))
        print(_line(f"submission → dispatch card, {burst} submitted at once", list(burst_ms)))

        # ack timers: bring the first one due 0.3 s of real time ahead; the others follow at the
        # real-time spacing of their tickets. The worker fires each one when it comes due.
        assert h.app is not None and h.app.timers is not None
        due = sorted(t.due_at for t in await pending_timers(h, "ack:"))[: max(1, timer_count)]
        h.clock.set(due[0] - dt.timedelta(seconds=0.3))
        before = len(h.app.timers.lateness)
        for _ in range(1200):  # at most a minute
            if len(h.app.timers.lateness) - before >= len(due):
                break
            await asyncio.sleep(0.05)
        late = [x * 1000 for x in h.app.timers.lateness[before:before + len(due)]]
        if late:
            print(_line("ack timer lateness (fire − due)", late))
        else:
            print("ack timer lateness: no timer fired in the window")
    finally:
        await h.close()
        await sandbox.stop()


def main() -> int:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--timers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        template = migrated_template(Path(tmp))  # synchronous migration, outside the event loop
        fresh_sqlite(template, Path(tmp))
        asyncio.run(run(Path(tmp), args.tickets, args.burst, args.timers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
