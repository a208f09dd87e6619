"""Operations commands: ``sdbot doctor`` and ``sdbot db backup|restore|prune|copy``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import settings_or_exit


def _database_url() -> str:
    return settings_or_exit().database_url


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check configuration, files, database, migrations, Bot API and the calendar."""
    from bot.cli.doctor import FAIL, report, run_checks

    checks = asyncio.run(run_checks())
    print(report(checks))
    failed = [c for c in checks if c.status == FAIL]
    print(f"{len(failed)} check(s) failed" if failed else "all good")
    return 1 if failed else 0


def _ops(fn: Any, *fargs: Any) -> int:
    from bot.cli.dbtools import OpsError

    try:
        result = fn(*fargs)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
    except OpsError as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        return 1
    return 0 if result is None else result


def cmd_backup(args: argparse.Namespace) -> int:
    """Consistent backup of the configured database."""
    from bot.cli.dbtools import backup

    def go() -> None:
        print(f"backup written to {backup(_database_url(), Path(args.path))}")

    return _ops(go)


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the configured database's contents with a backup."""
    from bot.cli.dbtools import restore

    if not args.yes:
        print("sdbot: restore replaces everything in the database; stop the bot and add --yes",
              file=sys.stderr)
        return 2

    def go() -> None:
        restore(_database_url(), Path(args.path))
        print("database restored; start the bot again")

    return _ops(go)


def cmd_copy(args: argparse.Namespace) -> int:
    """Copy the configured database (e.g. SQLite) into an empty one (e.g. PostgreSQL)."""
    from bot.cli.dbtools import copy_database

    async def go() -> None:
        counts = await copy_database(_database_url(), args.to)
        total = sum(counts.values())
        print(f"copied {total} rows in {len(counts)} tables; now set DATABASE_URL to the target")

    return _ops(go)


def cmd_prune(args: argparse.Namespace) -> int:
    """Delete old processed rows from the inbox, the outbox and the timers."""

    from bot.cli.dbtools import prune
    from bot.config import desk_now

    async def go() -> None:
        counts = await prune(_database_url(), desk_now(), args.days)
        print(", ".join(f"{n} {table} rows" for table, n in counts.items()) + " deleted")

    return _ops(go)


def register(sub: Any) -> None:
    """Add ``doctor`` to the command tree."""
    p = sub.add_parser("doctor", help="check configuration, database, Bot API and calendar")
    p.set_defaults(func=cmd_doctor)


def register_db(db: Any) -> None:
    """Add ``backup``, ``restore``, ``prune`` and ``copy`` under ``sdbot db``."""
    p = db.add_parser("backup", help="consistent online backup (SQLite file or pg_dump archive)")
    p.add_argument("path", help="backup file to write")
    p.set_defaults(func=cmd_backup)
    p = db.add_parser("restore", help="restore a backup made by `sdbot db backup` (bot stopped)")
    p.add_argument("path", help="backup file to read")
    p.add_argument("--yes", action="store_true", help="really replace the database's contents")
    p.set_defaults(func=cmd_restore)
    p = db.add_parser("prune", help="delete processed inbox/outbox/timer rows older than --days")
    p.add_argument("--days", type=int, default=30, help="keep this many days (default 30)")
    p.set_defaults(func=cmd_prune)
    p = db.add_parser("copy", help="copy every row into an empty database (SQLite → PostgreSQL)")
    p.add_argument("--to", required=True, metavar="URL",
                   help="target, e.g. postgresql+asyncpg://sdbot:PASS@127.0.0.1/sdbot")
    p.set_defaults(func=cmd_copy)
