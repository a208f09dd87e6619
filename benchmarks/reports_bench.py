"""Time the supervisor reports on a big database (see benchmarks/gen_big_db.py).

Calls the same domain functions and templates the handlers use (read session, SQL aggregates,
rendering, paging; XLSX and CSV building for the export) and prints the times as JSON.
Targets: /stats for a month < 1 s, /log for a day < 1 s, /export for a month < 5 s.

    python -m benchmarks.gen_big_db /tmp/big.db
    python -m benchmarks.reports_bench /tmp/big.db [--month 2026-10] [--day 2026-11-20] [--chat]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.i18n import render
from bot.reports import chart, dutylog, export, paging, periods, stats, ticketviews
from bot.reports.sqlx import staff_names
from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.calendar import is_workday
from bot.rules.policy import load_policy
from handlers.supervisor import LOG_DETAIL_LIMIT
from storage.db import Database

TZ = ZoneInfo("Asia/Shanghai")


async def _timed(name: str, fn: Any, results: dict[str, Any], repeat: int) -> Any:
    """Run ``fn`` ``repeat`` times; record the first (cold) and the best time."""
    times, out = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        out = await fn()
        times.append(time.perf_counter() - began)
    results[name] = round(min(times), 3)
    if repeat > 1:
        results[name.replace("_s", "_first_s")] = round(times[0], 3)
    return out


async def run(path: Path, month: periods.Period, day: periods.Period, now: dt.datetime, repeat: int) -> dict[str, Any]:
    """Run each report ``repeat`` times (the export and chart once) and collect the times."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    policy = load_policy()
    roster = load_roster(DEFAULT_ROSTER)

    def workday(d: dt.date) -> bool:
        return is_workday(d, roster.calendar)

    office = (roster.hours.office_start, roster.hours.office_end)
    results: dict[str, Any] = {"month": month.label, "day": day.label}
    try:
        async def stats_month() -> int:
            async with db.read() as s:
                st = await stats.stats(s, month, TZ, now, policy)
            text = render("zh", "supervisor/stats", s=st, scores=policy.satisfaction.scores)
            results["stats_tickets"] = st.created
            return len(paging.split_pages(text))

        async def log_day() -> int:
            async with db.read() as s:
                log = await dutylog.duty_log(s, day, TZ, is_workday=workday, office=office)
                names = {k: v.name for k, v in (await staff_names(s)).items()}
            text = render("zh", "supervisor/log", label=day.label, engineer=None,
                          days=dutylog.view(log, names, workday), totals=log.totals, duty=[],
                          detailed=log.detailed)
            results["log_entries"] = sum(len(g.entries) for g in log.groups)
            return len(paging.split_pages(text))

        async def log_month() -> int:
            async with db.read() as s:
                log = await dutylog.duty_log(s, month, TZ, is_workday=workday, office=office,
                                             detail_limit=LOG_DETAIL_LIMIT)
                names = {k: v.name for k, v in (await staff_names(s)).items()}
            text = render("zh", "supervisor/log", label=month.label, engineer=None,
                          days=dutylog.view(log, names, workday), totals=log.totals, duty=[],
                          detailed=log.detailed)
            return len(paging.split_pages(text))

        async def log_day_engineer() -> int:
            async with db.read() as s:
                log = await dutylog.duty_log(s, day, TZ, staff_id=1, is_workday=workday, office=office)
            return sum(len(g.entries) for g in log.groups)

        async def export_month() -> tuple[int, int]:
            async with db.read() as s:
                data = await export.export_data(s, month, TZ, now)
            xlsx, csv_bytes = await asyncio.gather(
                asyncio.to_thread(export.to_xlsx, data), asyncio.to_thread(export.to_csv, data)
            )
            results["export_rows"] = len(data.events)
            results["export_xlsx_bytes"], results["export_csv_bytes"] = len(xlsx), len(csv_bytes)
            return len(xlsx), len(csv_bytes)

        async def open_now() -> int:
            async with db.read() as s:
                return (await ticketviews.open_tickets(s, TZ)).total

        async def overdue_now() -> int:
            async with db.read() as s:
                return (await ticketviews.overdue_tickets(s, now, TZ)).total

        async def chart_month() -> int:
            async with db.read() as s:
                series = await chart.day_series(s, month, TZ, now)
            png = await asyncio.to_thread(chart.render_png, series, title=month.label, created_label="tickets",
                                          compliance_label="on time %")
            return len(png)

        results["stats_pages"] = await _timed("stats_month_s", stats_month, results, repeat)
        results["log_pages"] = await _timed("log_day_s", log_day, results, repeat)
        await _timed("log_day_one_engineer_s", log_day_engineer, results, repeat)
        results["log_month_pages"] = await _timed("log_month_totals_s", log_month, results, repeat)
        await _timed("export_month_s", export_month, results, 1)
        results["open_total"] = await _timed("open_s", open_now, results, repeat)
        results["overdue_total"] = await _timed("overdue_s", overdue_now, results, repeat)
        await _timed("chart_month_s", chart_month, results, 1)
    finally:
        await db.dispose()
    return results


async def through_the_bot(path: Path, month: str, day: str, now: dt.datetime) -> dict[str, Any]:
    """The same reports as chat commands: the real bot and the sandbox, supervisor 2001 asking.

    Times run from sending the command to the answer (the last document for /export) arriving.
    The run adds rows to the database's inbox, outbox and user tables.
    """
    import sqlite3

    from bot.sandbox import SandboxServer
    from tests.harness import Harness, test_clock

    con = sqlite3.connect(path)  # a new sandbox numbers updates from 1 again: forget earlier runs
    con.execute("DELETE FROM inbox")
    con.commit()
    con.close()
    sandbox = SandboxServer(port=0)
    await sandbox.start()
    h = Harness(sandbox, f"sqlite+aiosqlite:///{path}", test_clock(now.replace(tzinfo=None)))
    results: dict[str, Any] = {}
    try:
        await h.start()
        chat = h.chat(2001, "en")
        await chat.ask("/help")
        for name, command, count, check in (
            ("chat_stats_month_s", f"/stats {month}", 1, lambda m: m[0]["text"].startswith("📊")),
            ("chat_log_day_s", f"/log {day}", 1, lambda m: m[0]["text"].startswith("📒")),
            ("chat_export_month_s", f"/export {month}", 3, lambda m: sum(bool(x["document"]) for x in m) == 2),
        ):
            began = time.perf_counter()
            await chat.send(command)
            got: list[dict[str, Any]] = []
            while len(got) < count:
                got += await chat.read(30)
            results[name] = round(time.perf_counter() - began, 3)
            if not check(got):
                raise SystemExit(f"{command}: unexpected answer {got[0]['text'][:200]!r}")
    finally:
        await h.close()
        await sandbox.stop()
    return results


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--day", default="2026-11-20")
    ap.add_argument("--now", default="2026-11-24T10:00:00+08:00")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chat", action="store_true", help="also time the commands through the bot and sandbox")
    args = ap.parse_args()
    now = dt.datetime.fromisoformat(args.now)
    month = periods.parse_args(args.month, now.date()).period
    day = periods.parse_args(args.day, now.date()).period
    assert month is not None and day is not None, "bad --month or --day"
    results = asyncio.run(run(args.path, month, day, now, args.repeat))
    if args.chat:
        results.update(asyncio.run(through_the_bot(args.path, args.month, args.day, now)))
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
