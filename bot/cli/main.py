"""Command line: ``sdbot`` / ``python -m bot``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from bot.cli import ask, bench, calendar_days, ops, registry, roster, rules, staff
from bot.cli.common import on_database, settings_or_exit
from bot.config import Settings
from bot.core.logs import setup_logging


def _check_files(settings: Settings) -> None:
    """Load the policy and roster files once, so a bad file stops start-up with one line."""
    from bot.desk import load_desk_policy, load_desk_roster
    from bot.roster.model import RosterError
    from bot.rules.policy import PolicyError

    try:
        load_desk_policy(settings)
        load_desk_roster(settings)
    except (PolicyError, RosterError) as exc:
        print(f"sdbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot."""
    from bot.runtime.runner import run

    settings = settings_or_exit()
    _check_files(settings)
    setup_logging(settings.log_level, json_lines=settings.log_json, secrets=[settings.token or ""],
                  sql=settings.log_sql)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings, webhook=args.webhook, settle=True))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run only the Bot API sandbox (for benchmarks: its own process, its own core)."""
    from bot.sandbox import serve_forever

    setup_logging("INFO")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(args.host, args.port))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply migrations."""
    from storage.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)
    print("database is at the newest schema")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the demo data into the configured database."""
    from bot.demo import load_demo
    from storage.migrate import upgrade

    settings = settings_or_exit()
    upgrade(settings.database_url)
    loaded = on_database(settings.database_url, load_demo)
    print("demo data loaded" if loaded else "demo data already present")
    return 0


def _version() -> str:
    """The installed distribution's version (the checkout's, for an editable install)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("servicedesk-bot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The full command tree."""
    parser = argparse.ArgumentParser(prog="sdbot", description="Service-desk Telegram bot")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the bot (sandbox when TELEGRAM_BOT_TOKEN is unset)")
    p.add_argument(
        "--webhook", action="store_true",
        help="receive updates over a webhook (WEBHOOK_URL, WEBHOOK_HOST, WEBHOOK_PORT) and serve "
        "/healthz, /readyz and /metrics, instead of long polling",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sandbox", help="run only the Bot API sandbox server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    p.set_defaults(func=cmd_sandbox)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)
    ops.register_db(db)

    sub.add_parser("demo", help="load demo data").set_defaults(func=cmd_demo)

    for module in (rules, ask, ops, roster, calendar_days, staff, registry, bench):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sdbot`` script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
