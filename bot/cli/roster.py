"""``sdbot roster show|ical|cover|changes``: the duty calendar (text, JSON or iCalendar), covers stored in the database."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import ConfigError, desk_now, load_settings
from bot.roster.calendar import coverage_warning
from bot.roster.duty import calendar_table, tz_of
from bot.roster.loader import DEFAULT_ROSTER, load_roster
from bot.roster.model import Assignment, CalendarRow, Roster, RosterError


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
    show.add_argument("--db", action="store_true",
                      help="include what is stored in DATABASE_URL: covers, swaps, make-up days and days off")
    show.set_defaults(func=cmd_show)
    ical = sub.add_parser("ical", help="print the duty calendar as iCalendar (RFC 5545)")
    ical.add_argument("--staff", metavar="KEY", help="only this member's shifts (default: everyone's)")
    ical.add_argument("--from", dest="start", type=_date, help="first date (default: today)")
    ical.add_argument("--to", dest="end", type=_date, help="last date, inclusive (default: from + 30 days)")
    ical.add_argument("--file", default=str(DEFAULT_ROSTER), help="roster TOML file")
    ical.add_argument("--db", action="store_true",
                      help="include what is stored in DATABASE_URL: covers, swaps, make-up days and days off")
    ical.set_defaults(func=cmd_ical)
    cover = sub.add_parser("cover", help="store a cover: MEMBER takes COVERED's duty on DATES")
    cover.add_argument("member")
    cover.add_argument("covered")
    cover.add_argument("dates", help="2026-12-01, 2026-12-01..2026-12-03 or 2026-12-01T18:00..2026-12-02T08:00")
    cover.add_argument("--file", default=str(DEFAULT_ROSTER), help="roster TOML file")
    cover.set_defaults(func=cmd_cover)
    changes = sub.add_parser("changes", help="list stored covers and swaps that have not ended")
    changes.add_argument("--cancel", type=int, metavar="ID", help="withdraw cover/swap ID")
    changes.set_defaults(func=cmd_changes)


def _hm(a: Assignment) -> str:
    end = "24:00" if a.end.time() == dt.time() and a.end.date() > a.start.date() else a.end.strftime("%H:%M")
    return f"{a.start:%H:%M}-{end}"


def _row_text(row: CalendarRow, categories: dict[str, str | None] | None = None) -> str:
    day = row.day
    label = day.kind + (" (make-up)" if day.makeup else "")
    if day.name:
        label += f" {day.name}"
    if day.source == "stored":
        label += " [entered]"
    parts = []
    for layer, items in row.assignments.items():
        if not items:
            continue
        by_member: dict[str, list[str]] = {}
        for a in items:
            who = f"{a.member} (for {a.covers})" if a.covers else a.member
            by_member.setdefault(who, []).append(_hm(a))
        category = (categories or {}).get(layer)  # a specialty layer (issue 18) says its category
        named = f"{layer} [{category}]" if category else layer
        parts.append(f"{named}: " + "; ".join(f"{m} {', '.join(t)}" for m, t in by_member.items()))
    return f"{day.date} {day.date:%a} {label:<32} " + (" | ".join(parts) or "-")


def _row_json(row: CalendarRow, categories: dict[str, str | None] | None = None) -> dict[str, Any]:
    return {
        "categories": {layer: (categories or {}).get(layer) for layer in row.assignments},
        "date": row.day.date.isoformat(), "kind": row.day.kind, "holiday": row.day.name,
        "makeup": row.day.makeup, "calendar_source": row.day.source,
        "assignments": {layer: [{"member": a.member, "start": a.start.isoformat(), "end": a.end.isoformat(),
                                 "reason": a.reason, "covers": a.covers} for a in items]
                        for layer, items in row.assignments.items()},
    }


def _policy_categories() -> list[str] | None:
    """The equipment categories of the desk's policy file (None when it cannot be read)."""
    from bot.desk import load_desk_policy
    from bot.rules.policy import PolicyError

    try:
        return load_desk_policy(load_settings()).dispatch.categories
    except (PolicyError, ConfigError):
        return None


def cmd_show(args: argparse.Namespace) -> int:
    """Print the calendar table; exit 2 on a bad roster file or range."""
    try:
        roster = load_roster(args.file, _policy_categories())
    except RosterError as exc:
        print(f"roster: {exc}", file=sys.stderr)
        return 2
    start = args.start or desk_now().astimezone(tz_of(roster)).date()
    end = args.end or start + dt.timedelta(days=6)
    if end < start:
        print("roster: --to must not be before --from", file=sys.stderr)
        return 2
    if getattr(args, "db", False):
        roster = _with_stored(roster)
    for year in range(start.year, end.year + 1):
        warning = coverage_warning(year, roster.calendar)
        if warning:
            print(f"warning: {warning}" + ("" if args.db else " (entries stored in the database: --db)"),
                  file=sys.stderr)
    rows = calendar_table(roster, start, end)
    categories = {layer.name: layer.category for layer in roster.layers}
    if args.json:
        print(json.dumps([_row_json(r, categories) for r in rows], ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(_row_text(row, categories).rstrip())
    return 0


def cmd_ical(args: argparse.Namespace) -> int:
    """Print the calendar as iCalendar; exit 2 on a bad roster file, range or staff key."""
    from bot.roster.ical import roster_calendar

    try:
        roster = load_roster(args.file)
    except RosterError as exc:
        print(f"roster: {exc}", file=sys.stderr)
        return 2
    if args.staff and args.staff not in roster.members:
        print(f"roster: {args.staff!r} is not a member of the roster", file=sys.stderr)
        return 2
    now = desk_now()
    start = args.start or now.astimezone(tz_of(roster)).date()
    end = args.end or start + dt.timedelta(days=30)
    if end < start:
        print("roster: --to must not be before --from", file=sys.stderr)
        return 2
    if args.db:
        roster = _with_stored(roster)
    sys.stdout.write(roster_calendar(roster, start, end, member=args.staff, stamp=now).to_ical().decode())
    return 0


def in_db(fn: Any) -> Any:
    """Run ``fn(session, now)`` in one write transaction on the configured database."""
    from bot.cli.common import in_migrated_db

    return in_migrated_db(fn)


def _with_stored(roster: Roster) -> Roster:
    """``roster`` with the covers, swaps and calendar days stored in the database."""
    import dataclasses

    from bot.roster.calendar_store import as_table, merge, stored_days
    from bot.roster.model import Override
    from bot.roster.store import current_overrides

    async def fetch(session: Any, now: dt.datetime) -> Roster:
        rows = await current_overrides(session, now)
        covers = [Override(r.member, r.covers, r.starts_at, r.ends_at, None, r.kind)
                  for r in rows if r.status == "active"]
        calendar = merge(roster.calendar, as_table(await stored_days(session)))
        return dataclasses.replace(roster, overrides=roster.overrides + tuple(covers), calendar=calendar)

    return in_db(fetch)


def cmd_cover(args: argparse.Namespace) -> int:
    """Store a cover in the database (as a supervisor's /cover does)."""
    from bot.roster.store import add_cover, parse_range, span_text

    try:
        roster = load_roster(args.file)
        span = parse_range(args.dates, tz_of(roster))

        async def go(session: Any, now: dt.datetime) -> str:
            row = await add_cover(session, roster, args.member, args.covered, span, now, "cli")
            return f"cover #{row.id}: {row.member} for {row.covers}, {span_text(row.starts_at, row.ends_at, tz_of(roster))}"

        print(in_db(go))
    except RosterError as exc:
        print(f"roster: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    """List (or withdraw one of) the stored covers and swaps."""
    from bot.roster.store import cancel_override, current_overrides

    async def go(session: Any, now: dt.datetime) -> list[str]:
        if args.cancel is not None:
            row = await cancel_override(session, args.cancel)
            return [f"#{row.id} withdrawn"]
        return [f"#{r.id} {r.kind} {r.status}: {r.member} for {r.covers} {r.starts_at.isoformat()} – {r.ends_at.isoformat()}"
                for r in await current_overrides(session, now)]

    try:
        lines = in_db(go)
    except RosterError as exc:
        print(f"roster: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines) if lines else "no covers or swaps")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m bot.cli.roster roster show ...``."""
    parser = argparse.ArgumentParser(prog="sdbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
