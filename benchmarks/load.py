"""Load benchmark: N customers report faults concurrently, engineers acknowledge; vs an echo bot.

    python -m benchmarks.load [--customers 500] [--delay-ms 50] [--rate 0] [--flood]

The sandbox Bot API runs as its own process (``sdbot sandbox``, ``--delay-ms`` per call like a
real round trip); the bot runs as another (``sdbot run`` on a fresh SQLite database with the demo
data, the desk clock pinned to Monday office hours). Every customer walks the complete fault report
(/report, customer number, shared phone, equipment, symptom, severity, submit: 7 updates); the
engineers' chats press ``dp:ack:`` on every dispatch card. Then a bare python-telegram-bot echo bot
(``benchmarks/echo_bot.py``) serves the same number of users sending 7 texts each on the same
sandbox, and the JSON printed compares both.

* ``updates_per_s``  updates handled / wall time of the run
* ``latency``        user's update handed to the Bot API → the bot's first reply visible
* ``dispatch``       customer presses Submit → dispatch card visible in the engineer's chat
* ``peak_rss_mb``    VmHWM of the bot process; ``start_peak_rss_mb`` its VmHWM once it polls,
                     before the load (start-up and imports alone)
* ``cpu_ms_per_update``  CPU (utime + stime from /proc/PID/stat) the bot process spent during the
                     load, per update it handled; ``sandbox_cpu_ms_per_update`` the same for the
                     sandbox; ``cpu_ratio`` bot / echo bot. Steadier than wall clock on a shared box.
* ``cpu_vs_sandbox`` the bot's CPU / the sandbox's over the same load: the steadiest figure (the
                     box's speed swings ±20 % within minutes and moves both alike)
* ``--count-sql``    the bot runs under ``benchmarks.sql_count``: ``sql_per_update`` gives its SQL
                     statements (by first keyword, and commits) per update during the load.
* ``--rate R``       offered-rate mode: user actions are paced to R updates/s in total
* ``--flood``        the sandbox enforces Telegram's flood limits (30 msg/s, 1/s per chat, 429 +
                     retry_after) and the bot keeps its real outbound cap (BOT_API_MAX_RATE=30):
                     prints 429s provoked and the send delay of each outbox priority class.

Exit status 1 when a customer could not finish or a ticket got no dispatch card.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CUSTOMER_BASE,
    Api,
    CpuMeter,
    Customer,
    Engineers,
    Procs,
    RatePacer,
    dist,
    expect,
    peak_rss_mb,
    report,
    run_main,
)

PRIORITY_NAMES = {0: "urgent (dispatch, escalation)", 3: "notice", 5: "reply", 8: "report"}


async def run_customers(api: Api, customers: list[Customer], timeout: float) -> float:
    """Every customer reports once, all at the same time; returns the wall time."""
    began = time.perf_counter()
    results = await asyncio.gather(*(report(api, c, timeout=timeout) for c in customers),
                                   return_exceptions=True)
    for c, r in zip(customers, results, strict=True):
        if isinstance(r, BaseException):
            c.errors.append(f"{type(r).__name__}: {r}")
    return time.perf_counter() - began


async def wait_cards(engineers: Engineers, numbers: set[str], timeout: float) -> None:
    """Until every ticket's dispatch card has been seen (or the timeout)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and not numbers <= engineers.cards.keys():  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def wait_outbox(db_path: Path, timeout: float) -> None:
    """Until the bot's outbox has no pending row (or the timeout)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        con = sqlite3.connect(db_path)
        try:
            left = con.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
        finally:
            con.close()
        if not left:
            return
        await asyncio.sleep(0.5)


def outbox_delays(db_path: Path) -> dict[str, Any]:
    """Queue → sent delay of every outbox row, per priority class, read from the bot's database."""
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute("SELECT priority, created_at, sent_at, status FROM outbox").fetchall()
    finally:
        con.close()
    per: dict[int, list[float]] = {}
    unsent = 0
    for prio, created, sent, status in rows:
        if status != "sent" or sent is None:
            unsent += 1
            continue
        delay = (dt.datetime.fromisoformat(sent) - dt.datetime.fromisoformat(created)).total_seconds()
        per.setdefault(prio, []).append(max(0.0, delay))
    out: dict[str, Any] = {PRIORITY_NAMES.get(p, str(p)): dist(v) for p, v in sorted(per.items())}
    out["not_sent"] = unsent
    return out


def cpu_meters(procs: Procs) -> tuple[CpuMeter, CpuMeter]:
    """Started CPU meters of the bot process under test and of the sandbox (startup excluded)."""
    meters = (CpuMeter(procs.bot.pid if procs.bot else None),
              CpuMeter(procs.sandbox.pid if procs.sandbox else None))
    for m in meters:
        m.start()
    return meters


async def sql_counts(procs: Procs) -> dict[str, int] | None:
    """The statements the bot ran so far (``--count-sql``: it runs under ``benchmarks.sql_count``)."""
    path = procs.workdir / "sql_count.json"
    if procs.bot is None or procs.bot_env.get("SQL_COUNT_FILE") != str(path):
        return None
    path.unlink(missing_ok=True)
    os.kill(procs.bot.pid, signal.SIGUSR1)
    for _ in range(200):
        if path.exists():
            return {k: int(v) for k, v in json.loads(path.read_text()).items()}
        await asyncio.sleep(0.05)
    return None


def per_update(before: dict[str, int] | None, after: dict[str, int] | None, updates: int) -> dict[str, float] | None:
    """Statements per update by kind, between two ``sql_counts``."""
    if before is None or after is None or not updates:
        return None
    out = {k: round((n - before.get(k, 0)) / updates, 2) for k, n in sorted(after.items())}
    out["total"] = round(sum(v for k, v in out.items() if k != "COMMIT"), 2)
    return out


async def bench_bot(procs: Procs, api: Api, args: argparse.Namespace) -> dict[str, Any]:
    """The service-desk bot under the report load."""
    if args.count_sql:
        procs.bot_env["SQL_COUNT_FILE"] = str(procs.workdir / "sql_count.json")
    procs.start_bot(("benchmarks.sql_count", "run") if args.count_sql else ("bot", "run"))
    note(f"bot up in {await procs.wait_polling(api.http):.1f} s; {args.customers} customers report")
    start_rss = peak_rss_mb(procs.bot.pid) if procs.bot else None
    engineers = Engineers(api)
    await engineers.greet()
    engineers.start()
    customers = [Customer(CUSTOMER_BASE + i) for i in range(args.customers)]
    stats0 = await api.stats()
    sql0 = await sql_counts(procs)
    bot_cpu, sandbox_cpu = cpu_meters(procs)
    if args.rate:
        api.pace = RatePacer(args.rate)
    actions0 = api.actions
    wall = await run_customers(api, customers, args.timeout)
    api.pace = None
    numbers = {c.ticket for c in customers if c.ticket}
    await wait_cards(engineers, numbers, 180 if args.flood else 30)
    await asyncio.sleep(1.0)  # the last acks
    if args.flood:  # the outbox drains at the capped rate: wait for it before reading delays
        await wait_outbox(procs.db_path, 180)
    await engineers.stop()
    bot_cpu.stop()
    sandbox_cpu.stop()
    sql1 = await sql_counts(procs)
    stats1 = await api.stats()
    rss = procs.stop_bot()
    updates = api.actions - actions0
    submitted = [c for c in customers if c.submitted_at is not None and c.ticket]
    dispatch = [engineers.cards[c.ticket] - c.submitted_at for c in submitted  # type: ignore[operator]
                if c.ticket in engineers.cards]
    errors = {k: v - stats0["errors"].get(k, 0) for k, v in stats1["errors"].items()}
    result: dict[str, Any] = {
        "customers": len(customers),
        "finished": len(submitted),
        "failed": [c.errors[0] for c in customers if c.errors][:5],
        "updates": updates,
        "wall_s": round(wall, 2),
        "updates_per_s": round(updates / wall, 1),
        "latency": dist([x for c in customers for x in c.latencies]),
        "dispatch": dist(dispatch),
        "tickets_without_card": len(numbers - engineers.cards.keys()),
        "duplicate_cards": sum(n - 1 for n in engineers.card_count.values()),
        "acks_pressed": engineers.acks,
        "peak_rss_mb": rss,
        "start_peak_rss_mb": start_rss,
        "cpu_ms_per_update": bot_cpu.ms_per(updates),
        "sandbox_cpu_ms_per_update": sandbox_cpu.ms_per(updates),
        "cpu_vs_sandbox": cpu_vs_sandbox(bot_cpu.used, sandbox_cpu.used),
        "sandbox_errors": {k: v for k, v in errors.items() if v},
    }
    if args.count_sql:
        result["sql_per_update"] = per_update(sql0, sql1, updates)
    if args.flood:
        result["http_429"] = errors.get("429", 0)
        result["outbox_delay_by_priority"] = outbox_delays(procs.db_path)
    return result


def cpu_vs_sandbox(bot_s: float | None, sandbox_s: float | None) -> float | None:
    """The bot's CPU over the sandbox's in the same phase: how fast the box runs cancels out."""
    return round(bot_s / sandbox_s, 2) if bot_s and sandbox_s else None


async def bench_echo(procs: Procs, api: Api, args: argparse.Namespace) -> dict[str, Any]:
    """The bare echo bot: the same number of users, 7 texts each, one after the other."""
    procs.start_bot(("benchmarks.echo_bot",))
    note(f"echo bot up in {await procs.wait_polling(api.http):.1f} s; {args.customers} users")
    start_rss = peak_rss_mb(procs.bot.pid) if procs.bot else None
    users = [Customer(CUSTOMER_BASE + 100_000 + i) for i in range(args.customers)]

    async def user(c: Customer) -> None:
        for i in range(7):
            await expect(api, c, await api.send(c.user_id, f"echo {i} from {c.user_id}"),
                         lambda m: True, args.timeout)

    bot_cpu, sandbox_cpu = cpu_meters(procs)
    if args.rate:
        api.pace = RatePacer(args.rate)
    actions0 = api.actions
    began = time.perf_counter()
    results = await asyncio.gather(*(user(c) for c in users), return_exceptions=True)
    wall = time.perf_counter() - began
    api.pace = None
    bot_cpu.stop()
    sandbox_cpu.stop()
    rss = peak_rss_mb(procs.bot.pid) if procs.bot else None
    procs.stop_bot()
    updates = api.actions - actions0
    return {
        "users": len(users),
        "failed": sum(isinstance(r, BaseException) for r in results),
        "updates": updates,
        "wall_s": round(wall, 2),
        "updates_per_s": round(updates / wall, 1),
        "latency": dist([x for c in users for x in c.latencies]),
        "peak_rss_mb": rss,
        "start_peak_rss_mb": start_rss,
        "cpu_ms_per_update": bot_cpu.ms_per(updates),
        "sandbox_cpu_ms_per_update": sandbox_cpu.ms_per(updates),
    }


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sdbench-") as tmp:
        procs = Procs(Path(tmp), delay_ms=args.delay_ms)
        api: Api | None = None
        try:
            await procs.start_sandbox()
            api = Api(procs.url)
            procs.prepare_db()
            settings: dict[str, Any] = {}
            if args.flood:
                await api.post("/sandbox/config", {"flood_limits": True})
                settings["bot_api_max_rate"] = 30
                settings["bot_api_chat_pacing"] = True
            procs.configure_bot(**settings)
            out: dict[str, Any] = {
                "delay_ms": args.delay_ms,
                "offered_rate": args.rate or "unpaced",
                "flood_limits": args.flood,
            }
            if not args.flood and not args.no_echo:
                out["echo"] = await bench_echo(procs, api, args)
            out["bot"] = await bench_bot(procs, api, args)
            if "echo" in out:
                out["throughput_ratio"] = round(
                    out["bot"]["updates_per_s"] / max(out["echo"]["updates_per_s"], 1e-9), 3
                )
                bot_ms, echo_ms = out["bot"]["cpu_ms_per_update"], out["echo"]["cpu_ms_per_update"]
                out["cpu_ratio"] = round(bot_ms / echo_ms, 2) if bot_ms and echo_ms else None
            print(json.dumps(out, indent=2, ensure_ascii=False))
            bad = out["bot"]["finished"] < args.customers or out["bot"]["tickets_without_card"]
            return 1 if bad else 0
        finally:
            if api is not None:
                await api.close()
            procs.close()


def note(text: str) -> None:
    """Progress on stderr (stdout is the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=500)
    p.add_argument("--delay-ms", type=float, default=50.0, help="sandbox Bot API delay per call")
    p.add_argument("--rate", type=float, default=0.0, help="offered updates/s (0: as fast as it goes)")
    p.add_argument("--flood", action="store_true", help="Telegram flood limits on in the sandbox")
    p.add_argument("--no-echo", action="store_true", help="skip the echo-bot comparison")
    p.add_argument("--count-sql", action="store_true",
                   help="count the bot's SQL statements per update (benchmarks.sql_count)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a user waits for a reply")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    return run_main(main_async(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
