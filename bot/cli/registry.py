"""``sdbot import customers FILE`` and ``sdbot export customers [-o FILE]`` (docs/customers.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.cli.common import in_session, settings_or_exit
from bot.customers import registry_io


def _database_url() -> str:
    """The configured database, migrated to the newest schema."""
    from storage.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)
    return settings.database_url


def _policy() -> Any:
    """The desk's policy (zones of districts); None when it cannot be loaded."""
    try:
        from bot.config import load_settings
        from bot.desk import load_desk_policy

        return load_desk_policy(load_settings())
    except Exception:  # the import still works without district → zone defaults
        return None


def _in_session(url: str, work: Callable[[Any], Awaitable[Any]], *, write: bool) -> Any:
    """Run ``work(session)`` in one write (or read-only) transaction on a fresh database handle."""
    return in_session(url, work, write=write)


def cmd_import(args: argparse.Namespace) -> int:
    """Check the whole file, then write it in one transaction (or nothing)."""
    path = Path(args.file)
    if not path.is_file():
        print(f"sdbot: {path}: no such file", file=sys.stderr)
        return 2
    try:
        rows = registry_io.read_table(path)
    except registry_io.RegistryImportError as exc:
        return _report_errors(path, exc, args.json)
    except Exception as exc:  # unreadable: not CSV/XLSX, bad encoding
        print(f"sdbot: {path}: cannot read ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    url = _database_url()
    policy = _policy()
    try:
        result = _in_session(url, lambda session: registry_io.import_rows(session, rows, policy), write=True)
    except registry_io.RegistryImportError as exc:
        return _report_errors(path, exc, args.json)
    if args.json:
        print(json.dumps({"ok": True, "created": result.created, "updated": result.updated}))
    else:
        made = ", ".join(f"{n} {k}" for k, n in result.created.items())
        changed = ", ".join(f"{n} {k}" for k, n in result.updated.items())
        print(f"{path}: imported — created {made}; updated {changed}")
    return 0


def _report_errors(path: Path, exc: registry_io.RegistryImportError, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"ok": False, "errors": [e.__dict__ for e in exc.errors]}, ensure_ascii=False))
    else:
        for error in exc.errors:
            print(f"{path}: {error}", file=sys.stderr)
        print(f"{path}: {len(exc.errors)} error(s); nothing was imported", file=sys.stderr)
    return 2


def cmd_export(args: argparse.Namespace) -> int:
    """Write the registry in the import format (CSV to stdout, or ``-o FILE.csv|.xlsx``)."""
    url = _database_url()
    rows = _in_session(url, registry_io.export_rows, write=False)
    out = Path(args.output) if args.output else None
    text = registry_io.write_table(rows, out)
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"{out}: {len(rows)} row(s)", file=sys.stderr)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """The desk confirms the reporter of an unverified ticket, links their Telegram account and
    queues a notice to them (``intake.desk_confirms``, as ``/verify`` in the bot)."""
    import datetime as dt

    from bot.tickets import intake

    url = _database_url()
    from bot.core.uow import UnitOfWork

    settings = settings_or_exit()
    locale = settings.default_locale

    async def confirm(session: Any) -> str:
        uow = UnitOfWork(session=session, now=settings.clock().now().astimezone(dt.UTC))  # the running bot sends the notice
        ticket = await intake.desk_confirms(uow, args.ticket, args.customer, default_locale=locale)
        return f"{ticket.number}: verified for {ticket.customer_label}"

    try:
        print(_in_session(url, confirm, write=True))
    except intake.VerifyError as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        return 2
    return 0


def register(sub: Any) -> None:
    """Add the registry commands to the ``sdbot`` parser."""
    imp = sub.add_parser("import", help="import data").add_subparsers(dest="import_cmd", required=True)
    p = imp.add_parser("customers", help="customers, contacts and equipment from CSV/XLSX (all or nothing)")
    p.add_argument("file", help="CSV (UTF-8) or XLSX file; columns in docs/customers.md")
    p.add_argument("--json", action="store_true", help="result or errors as JSON on stdout")
    p.set_defaults(func=cmd_import)
    exp = sub.add_parser("export", help="export data").add_subparsers(dest="export_cmd", required=True)
    p = exp.add_parser("customers", help="the customer registry in the import format")
    p.add_argument("-o", "--output", help="FILE.csv or FILE.xlsx (default: CSV on stdout)")
    p.set_defaults(func=cmd_export)
    cust = sub.add_parser("customers", help="customer accounts").add_subparsers(dest="customers_cmd", required=True)
    p = cust.add_parser("verify", help="confirm the reporter of an unverified ticket and link their account")
    p.add_argument("ticket", help="ticket number, e.g. SD-2026-000123")
    p.add_argument("--customer", help="customer number (default: the customer the reporter named)")
    p.set_defaults(func=cmd_verify)
