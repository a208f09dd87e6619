"""``sdbot calendar add|list|remove``: make-up working days and extra days off in the database.

The same rules as the admins' ``/calendar`` in chat (``bot.roster.calendar_store``); "today" is the
desk's clock (``CLOCK_OFFSET_SECONDS`` moves it), messages are the English chat texts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.roster import in_db
from bot.core.i18n import render
from bot.roster import calendar_store as store
from bot.roster.calendar import coverage_warning, missing_years
from bot.roster.model import CalendarOverrides


def register(subparsers: Any) -> None:
    """Add ``calendar add|list|remove`` to an argparse subparsers object."""
    cal = subparsers.add_parser("calendar", help="make-up working days (调休) and extra days off")
    sub = cal.add_subparsers(dest="calendar_command", required=True)
    add = sub.add_parser("add", help="enter DATES as make-up working days or days off")
    add.add_argument("dates", help="2027-02-20 or 2027-02-09..2027-02-11 (inclusive)")
    add.add_argument("kind", help="workday (make-up working day) or off (day off)")
    add.add_argument("--name", default="", help="the holiday it belongs to, e.g. 'Spring Festival'")
    add.set_defaults(func=cmd_add)
    listing = sub.add_parser("list", help="entries from this year on (or of --year)")
    listing.add_argument("--year", type=int, help="only this year")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_list)
    remove = sub.add_parser("remove", help="withdraw the entries of DATES")
    remove.add_argument("dates", help="2027-02-20 or 2027-02-09..2027-02-11 (inclusive)")
    remove.set_defaults(func=cmd_remove)


def _file_table() -> CalendarOverrides:
    """The roster file's own [calendar] table (ROSTER_FILE, else the built-in roster)."""
    from bot.cli.common import settings_or_exit
    from bot.desk import load_desk_roster

    return load_desk_roster(settings_or_exit()).calendar


def _local_date(now: dt.datetime) -> dt.date:
    """``now`` as a date of the desk's time zone."""
    from bot.cli.common import settings_or_exit

    return now.astimezone(settings_or_exit().clock().tz).date()


def _days(days: list[dt.date]) -> str:
    return ", ".join(f"{d.isoformat()} {d:%a}" for d in days)


def _run(fn: Callable[[AsyncSession, dt.datetime], Awaitable[list[str]]]) -> int:
    """Run ``fn(session, now)``; print its lines, or the one-line error (exit 2)."""
    try:
        lines = in_db(fn)
    except store.CalendarInputError as exc:
        print("calendar: " + render("en", f"calendar/text#{exc.reason}", **exc.params), file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    """Store make-up working days or days off."""
    async def go(session: AsyncSession, now: dt.datetime) -> list[str]:
        days, kind = store.parse_days(args.dates), store.parse_kind(args.kind)
        change = await store.add_days(session, _file_table(), days, kind, args.name,
                                      today=_local_date(now), now=now, by="cli")
        lines = [f"{'make-up working day' if kind == 'workday' else 'day off'}: {_days(change.changed)}"]
        if change.unchanged:
            lines.append(f"already so, left alone: {_days(change.unchanged)}")
        return lines

    return _run(go)


def cmd_remove(args: argparse.Namespace) -> int:
    """Withdraw stored entries."""
    async def go(session: AsyncSession, now: dt.datetime) -> list[str]:
        change = await store.remove_days(session, store.parse_days(args.dates), today=_local_date(now), now=now, by="cli")
        lines = [f"withdrawn: {_days(change.changed)}"]
        if change.unchanged:
            lines.append(f"no entry, left alone: {_days(change.unchanged)}")
        return lines

    return _run(go)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the stored entries and what is still missing."""
    async def go(session: AsyncSession, now: dt.datetime) -> list[str]:
        rows = await store.stored_days(session)
        today = _local_date(now)
        shown = [r for d, r in rows.items() if (d.year == args.year if args.year else d.year >= today.year)]
        table = store.merge(_file_table(), store.as_table(rows))
        years = [args.year] if args.year else missing_years(today, table)
        warnings = [w for w in (coverage_warning(y, table) for y in years) if w]
        if args.json:
            return [json.dumps({
                "days": [{"date": r.day.isoformat(), "kind": r.kind, "name": r.name, "by": r.created_by,
                          "at": r.created_at.isoformat()} for r in shown],
                "warnings": warnings,
            }, ensure_ascii=False, indent=2)]
        lines = [f"{r.day.isoformat()} {r.day:%a} {r.kind:<8} {r.name}".rstrip() for r in shown]
        return (lines or ["no make-up working days or days off entered"]) + [f"warning: {w}" for w in warnings]

    return _run(go)
