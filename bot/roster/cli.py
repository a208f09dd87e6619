"""``sdbot roster show``: print who is on duty per day (text table or JSON)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from bot.roster.calendar import coverage_warning
from bot.roster.duty import calendar_table, tz_of
from bot.roster.loader import DEFAULT_ROSTER, load_roster
from bot.roster.model import Assignment, CalendarRow, RosterError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def register(subparsers: Any) -> None:
    """Add ``roster show`` to an argparse subparsers object (``func`` returns an exit code)."""
    roster = subparsers.add_parser("roster", help="duty roster")
    sub = roster.add_subparsers(dest="roster_command", required=True)
    show = sub.add_parser("show", help="show the duty calendar for a date range")
    show.add_argument("--from", dest="start", type=_date, help="first date (default: today)")
    show.add_argument("--to", dest="end", type=_date, help="last date, inclusive (default: from + 6 days)")
    show.add_argument("--file", default=str(DEFAULT_ROSTER), help="roster TOML file")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_show)


def _hm(a: Assignment) -> str:
    end = "24:00" if a.end.time() == dt.time() and a.end.date() > a.start.date() else a.end.strftime("%H:%M")
    return f"{a.start:%H:%M}-{end}"


def _row_text(row: CalendarRow) -> str:
    day = row.day
    label = day.kind + (" (make-up)" if day.makeup else "")
    if day.name:
        label += f" {day.name}"
    parts = []
    for layer, items in row.assignments.items():
        if not items:
            continue
        by_member: dict[str, list[str]] = {}
        for a in items:
            who = f"{a.member} (for {a.covers})" if a.covers else a.member
            by_member.setdefault(who, []).append(_hm(a))
        parts.append(f"{layer}: " + "; ".join(f"{m} {', '.join(t)}" for m, t in by_member.items()))
    return f"{day.date} {day.date:%a} {label:<32} " + (" | ".join(parts) or "-")


def _row_json(row: CalendarRow) -> dict[str, Any]:
    return {
        "date": row.day.date.isoformat(), "kind": row.day.kind, "holiday": row.day.name,
        "makeup": row.day.makeup, "calendar_source": row.day.source,
        "assignments": {layer: [{"member": a.member, "start": a.start.isoformat(), "end": a.end.isoformat(),
                                 "reason": a.reason, "covers": a.covers} for a in items]
                        for layer, items in row.assignments.items()},
    }


def cmd_show(args: argparse.Namespace) -> int:
    """Print the calendar table; exit 2 on a bad roster file or range."""
    try:
        roster = load_roster(args.file)
    except RosterError as exc:
        print(f"roster: {exc}", file=sys.stderr)
        return 2
    start = args.start or dt.datetime.now(tz_of(roster)).date()
    end = args.end or start + dt.timedelta(days=6)
    if end < start:
        print("roster: --to must not be before --from", file=sys.stderr)
        return 2
    for year in range(start.year, end.year + 1):
        warning = coverage_warning(year)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    rows = calendar_table(roster, start, end)
    if args.json:
        print(json.dumps([_row_json(r) for r in rows], ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(_row_text(row).rstrip())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m bot.roster.cli roster show ...``."""
    parser = argparse.ArgumentParser(prog="sdbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
