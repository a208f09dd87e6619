"""Escalation timing: many unacknowledged tickets under load; how late does each step fire?

    python -m benchmarks.escalation [--customers 1000] [--ack-minutes 1] [--crash-after 90 --down 10]

The bot runs with a copy of the shipped policy whose ``dispatch.ack_timeout_minutes`` is
``--ack-minutes`` (so the chain reminder → next engineer → supervisors plays out in minutes).
``--customers`` customers report a fault each, all at once; nobody acknowledges. The repeat rule
is on (``escalation.repeat_minutes`` = ``--ack-minutes`` too): after the chain the supervisors are
reminded again, so the run waits until ``--repeats`` rounds of those have fired for every ticket.
Every ack timer row records its due time and the time it fired (desk clock); the lateness
``fired − due`` is printed as a distribution (target: p99 ≤ 2 s while running), with the send
delay of the urgent outbox rows (reminders, escalations) next to it.

With ``--crash-after S`` the bot is killed with SIGKILL S seconds into the run, kept down for
``--down`` seconds and restarted: timers that were due but had not fired when the restarted bot
was polling again are measured against that moment (target: ≤ 5 s after it, i.e. ≤ restart time
+ 5 s overall).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CUSTOMER_BASE,
    Api,
    Customer,
    Procs,
    desk_up,
    dist,
    independent_faults_policy,
    report,
    run_main,
)
from benchmarks.crash import note
from benchmarks.load import outbox_delays


def fast_policy(workdir: Path, minutes: int) -> Path:
    """A copy of the shipped policy with a shorter ack timeout and repeat interval (and each
    report a fault of its own: ``independent_faults_policy``)."""
    text = independent_faults_policy(workdir).read_text(encoding="utf-8")
    for key in ("ack_timeout_minutes", "repeat_minutes"):
        text, n = re.subn(rf"(?m)^{key}\s*=\s*\d+", f"{key} = {minutes}", text)
        if n != 1:
            raise SystemExit(f"{key} not found in the shipped policy")
    path = workdir / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def ack_timers(db_path: Path, repeats: int = 0) -> tuple[list[tuple[dt.datetime, dt.datetime]], int]:
    """(due, fired) of every fired ack timer (desk clock, UTC), chain steps and the first ``repeats``
    supervisors' reminders, and how many of those are still to fire."""
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute(
            "SELECT due_at, fired_at, status, json_extract(payload, '$.repeat') FROM timers WHERE kind = 'ack'"
        ).fetchall()
    finally:
        con.close()
    wanted = [(d, f, s) for d, f, s, r in rows if (r or 0) <= repeats]
    fired = [(_utc(d), _utc(f)) for d, f, s in wanted if s == "done" and f]
    return fired, sum(1 for _, _, s in wanted if s == "pending")


async def wait_timers_done(db_path: Path, limit: float, repeats: int) -> int:
    """Until the chains and ``repeats`` rounds of supervisors' reminders have fired, or ``limit``
    seconds; how many were still to fire."""
    deadline = time.monotonic() + limit
    pending = -1
    while time.monotonic() < deadline:
        _, pending = await asyncio.to_thread(ack_timers, db_path, repeats)
        if pending == 0:
            return 0
        await asyncio.sleep(2)
    return pending


async def crash_once(procs: Procs, api: Api, after: float, down: float) -> tuple[float, float]:
    """kill -9 ``after`` seconds from now, restart after ``down``; (killed, polling) as UTC epoch."""
    await asyncio.sleep(after)
    procs.kill_bot()
    killed = time.time()
    note("bot killed")
    await asyncio.sleep(down)
    procs.start_bot()
    await procs.wait_polling(api.http)
    note("bot restarted")
    return killed, time.time()


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sdesc-") as tmp:
        work = Path(tmp)
        async with desk_up(work, delay_ms=args.delay_ms, acknowledge=False,
                           policy_file=fast_policy(work, args.ack_minutes)) as desk:
            procs, api, engineers = desk.procs, desk.api, desk.engineers
            offset = float(procs.bot_env["CLOCK_OFFSET_SECONDS"])
            customers = [Customer(CUSTOMER_BASE + i) for i in range(args.customers)]
            note(f"{args.customers} customers report; nobody acknowledges (ack timeout {args.ack_minutes} min)")
            crash = (asyncio.create_task(crash_once(procs, api, args.crash_after, args.down))
                     if args.crash_after else None)

            async def one(c: Customer) -> None:
                try:
                    await report(api, c, timeout=args.timeout)
                except Exception as exc:  # noqa: BLE001
                    c.errors.append(f"step {c.step}: {type(exc).__name__} {exc}")

            await asyncio.gather(*(one(c) for c in customers))
            note(f"{sum(1 for c in customers if c.tickets)} tickets open; waiting for the chains")
            window = crash and await crash
            limit = args.ack_minutes * 60 * (5 + args.repeats) + 120
            left = await wait_timers_done(procs.db_path, limit, args.repeats)
            await engineers.stop()
            procs.stop_bot()
            fired, pending = ack_timers(procs.db_path, args.repeats)
            running, after_crash = [], []
            for due, at in fired:
                real_due = due.timestamp() - offset
                real_fired = at.timestamp() - offset
                if window and real_due <= window[1] <= real_fired:  # overdue when the bot came back
                    after_crash.append(real_fired - max(real_due, window[1]))
                else:
                    running.append((at - due).total_seconds())
            result: dict[str, Any] = {
                "tickets": sum(1 for c in customers if c.tickets),
                "customers_failed": sum(1 for c in customers if c.errors),
                "ack_timers_fired": len(fired),
                "ack_timers_pending_at_end": left or pending,
                "lateness_running": dist(running, "s"),
                "urgent_send_delay": outbox_delays(procs.db_path).get("urgent (dispatch, escalation)"),
                "dispatch_cards_seen": len(engineers.cards),
            }
            if window:
                result["crash"] = {
                    "down_s": round(window[1] - window[0], 1),
                    "overdue_at_restart": len(after_crash),
                    "late_after_restart": dist(after_crash, "s"),
                }
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--ack-minutes", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2, help="rounds of supervisors' reminders to wait for")
    p.add_argument("--crash-after", type=float, default=0.0, help="kill -9 this many seconds in (0: no crash)")
    p.add_argument("--down", type=float, default=10.0, help="seconds the killed bot stays down")
    p.add_argument("--delay-ms", type=float, default=50.0)
    p.add_argument("--timeout", type=float, default=600.0)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run and print JSON."""
    return run_main(main_async(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
