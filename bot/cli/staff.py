"""``sdbot staff add|list|deactivate|activate|role|invite|ical-token|notify``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot.cli.common import in_migrated_db, settings_or_exit
from bot.staff import accounts as staff_mod
from bot.staff import channels, ical_tokens


def _run(fn: Callable[[Any, dt.datetime], Awaitable[int]]) -> int:
    """Run ``fn(session, now)`` on the configured database; a staff error is one line, exit 2."""
    try:
        return in_migrated_db(fn)
    except staff_mod.StaffError as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        return 2


def cmd_add(args: argparse.Namespace) -> int:
    async def go(session: Any, now: dt.datetime) -> int:
        staff, code = await staff_mod.add_staff(
            session, key=args.key or _key(args.name), name=args.name, role=args.role, phone=args.phone, now=now
        )
        if args.json:
            print(json.dumps({"key": staff.key, "role": staff.role, "code": code}))
        else:
            print(f"added {staff.key} ({staff.role}); invite code: {code}")
            print(f"they send /register {code} to the bot within 72 hours")
        return 0

    return _run(go)


def cmd_invite(args: argparse.Namespace) -> int:
    async def go(session: Any, now: dt.datetime) -> int:
        staff = await staff_mod._get(session, args.key)
        code = await staff_mod.invite(session, staff, now)
        staff_mod.audit(session, now, "cli", "staff.invite", key=args.key)
        print(code)
        return 0

    return _run(go)


def cmd_list(args: argparse.Namespace) -> int:
    async def go(session: Any, now: dt.datetime) -> int:
        rows = await staff_mod.list_staff(session)
        data: list[dict[str, Any]] = [
            {"key": s.key, "name": s.name, "role": s.role, "active": s.active, "linked": s.telegram_user_id is not None,
             "notify": channels.masked(s)}
            for s in rows
        ]
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            for d in data:
                flags = ("" if d["active"] else " inactive") + ("" if d["linked"] else " not-registered")
                notify = f" notify: {', '.join(d['notify'])}" if d["notify"] else ""
                print(f"{d['key']:<12} {d['role']:<10} {d['name']}{flags}{notify}")
        return 0

    return _run(go)


def cmd_active(args: argparse.Namespace) -> int:
    async def go(session: Any, now: dt.datetime) -> int:
        await staff_mod.set_active(session, args.key, args.command_name == "activate", now, "cli")
        print(f"{args.key}: {args.command_name}d")
        return 0

    return _run(go)


def cmd_role(args: argparse.Namespace) -> int:
    async def go(session: Any, now: dt.datetime) -> int:
        await staff_mod.set_role(session, args.key, args.role, now, "cli")
        print(f"{args.key}: role {args.role}")
        return 0

    return _run(go)


def cmd_ical_token(args: argparse.Namespace) -> int:
    """Print a person's calendar subscription URL (``--rotate``: a new one; the old gets 404)."""
    async def go(session: Any, now: dt.datetime) -> int:
        if args.rotate:
            staff = await ical_tokens.rotate_token(session, args.key, now, "cli")
        else:
            staff = await staff_mod._get(session, args.key)  # noqa: SLF001
        token = await ical_tokens.ensure_token(session, staff)
        print(ical_tokens.feed_url(ical_tokens.public_base(settings_or_exit()), token))
        return 0

    return _run(go)


def cmd_notify(args: argparse.Namespace) -> int:
    """Set a person's Apprise URLs (escalation channels beyond Telegram; none: Telegram only)."""
    if not args.urls and not args.clear:
        print("sdbot: give one or more Apprise URLs, or --clear", file=sys.stderr)
        return 2

    async def go(session: Any, now: dt.datetime) -> int:
        staff = await channels.set_urls(session, args.key, [] if args.clear else args.urls, now, "cli")
        shown = channels.masked(staff)
        print(f"{staff.key}: notify " + (", ".join(shown) if shown else "Telegram only"))
        return 0

    return _run(go)


def _key(name: str) -> str:
    base = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum()) or "staff"
    return base[:24] + "_" + staff_mod.new_code()[:4].lower()


def register(sub: Any) -> None:
    """Add the ``staff`` command tree."""
    staff = sub.add_parser("staff", help="engineers, supervisors, admins").add_subparsers(
        dest="staff_cmd", required=True
    )
    p = staff.add_parser("add", help="add a person and print a one-time invite code")
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=staff_mod.ROLES)
    p.add_argument("--phone")
    p.add_argument("--key", help="roster key (default: made from the name)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_add)
    p = staff.add_parser("invite", help="a new invite code for an existing person")
    p.add_argument("key")
    p.set_defaults(func=cmd_invite)
    p = staff.add_parser("list", help="list staff")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    for name in ("deactivate", "activate"):
        p = staff.add_parser(name, help=f"{name} a person")
        p.add_argument("key")
        p.set_defaults(func=cmd_active, command_name=name)
    p = staff.add_parser("role", help="change a person's role")
    p.add_argument("key")
    p.add_argument("role", choices=staff_mod.ROLES)
    p.set_defaults(func=cmd_role)
    p = staff.add_parser("ical-token", help="a person's private calendar subscription URL")
    p.add_argument("key")
    p.add_argument("--rotate", action="store_true", help="replace the token: the old URL stops working")
    p.set_defaults(func=cmd_ical_token)
    p = staff.add_parser("notify", help="a person's Apprise URLs: escalations beyond Telegram (issue 18)")
    p.add_argument("key")
    p.add_argument("urls", nargs="*", metavar="URL", help="Apprise URLs (wecombot://…, json://…, mailto://…)")
    p.add_argument("--clear", action="store_true", help="remove them: Telegram only")
    p.set_defaults(func=cmd_notify)
