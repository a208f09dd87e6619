"""``sdbot doctor``: is this installation ready to run?

Checks configuration, policy and roster files, the database, its migrations, the Bot API (and the
staff group, when ``STAFF_GROUP_ID`` is set) and
whether the working-day calendar covers the coming year. Each check is ok, warn or fail; the
command exits non-zero when any check fails.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from telegram import Bot

    from bot.roster.model import CalendarOverrides

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Check:
    """The outcome of one check."""

    name: str
    status: str
    detail: str


def _settings(overrides: dict[str, Any]) -> tuple[Settings | None, Check]:
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        return None, Check("configuration", FAIL, str(exc))
    mode = "Telegram" if settings.token else "sandbox (no TELEGRAM_BOT_TOKEN)"
    return settings, Check("configuration", OK, f"settings valid; {mode}")


def check_files(settings: Settings) -> tuple[Any, list[Check]]:
    """Policy and roster files load."""
    from bot.desk import load_desk_policy, load_desk_roster

    checks = []
    roster = None
    for name, load in (("policy", load_desk_policy), ("roster", load_desk_roster)):
        try:
            value = load(settings)
            if name == "roster":
                roster = value
            checks.append(Check(name, OK, "loaded"))
        except Exception as exc:  # the loaders raise one-line errors naming file and key
            checks.append(Check(name, FAIL, str(exc)))
    return roster, checks


async def check_database(settings: Settings) -> list[Check]:
    """The database answers and is at the newest migration."""
    from sqlalchemy import text

    from storage.db import Database
    from storage.migrate import current_revision, head_revision

    db = Database(settings.database_url)
    try:
        async with db.read() as s:
            await asyncio.wait_for(s.execute(text("SELECT 1")), 10)
    except Exception as exc:
        return [Check("database", FAIL, f"cannot connect: {type(exc).__name__}: {exc}"[:300])]
    finally:
        await db.dispose()
    checks = [Check("database", OK, f"{db.engine.dialect.name} reachable")]
    current, head = await current_revision(settings.database_url), head_revision(settings.database_url)
    if current == head:
        checks.append(Check("migrations", OK, f"at {head}"))
    else:
        checks.append(Check("migrations", FAIL, f"at {current or 'nothing'}, code needs {head}: "
                                                "run `sdbot db upgrade`"))
    return checks


async def check_bot_api(settings: Settings, token: str | None = None) -> Check:
    """getMe answers with the configured token."""
    from telegram.error import InvalidToken, TelegramError

    token = token or settings.token
    if not token:
        return Check("bot_api", WARN, "no TELEGRAM_BOT_TOKEN: `sdbot run` uses the local sandbox")
    bot = _bot(settings, token)
    try:
        async with bot:
            me = await asyncio.wait_for(bot.get_me(), 15)
            info = await bot.get_webhook_info()
    except InvalidToken:
        return Check("bot_api", FAIL, "the Bot API refused the token (Unauthorized)")
    except (TelegramError, OSError, TimeoutError) as exc:
        return Check("bot_api", FAIL, f"unreachable: {type(exc).__name__}")
    hook = f"; webhook set to {info.url}" if info.url else "; no webhook set (polling)"
    if info.last_error_message:
        hook += f"; last webhook error: {info.last_error_message}"
    return Check("bot_api", OK, f"@{me.username}{hook}")


def _bot(settings: Settings, token: str) -> Bot:
    from telegram import Bot

    return Bot(token, base_url=settings.bot_api_base_url, base_file_url=settings.bot_api_file_url)


async def check_staff_group(settings: Settings, token: str | None = None) -> Check | None:
    """With ``STAFF_GROUP_ID``: the group is a supergroup with topics where the bot may manage
    topics; otherwise every ticket's topic would end as dead outbox rows (None: no staff group)."""
    from telegram.error import TelegramError

    token = token or settings.token
    group_id = settings.staff_group_id
    if group_id is None or not token:
        return None
    bot = _bot(settings, token)
    try:
        async with bot:
            chat = await asyncio.wait_for(bot.get_chat(group_id), 15)
            member = await asyncio.wait_for(bot.get_chat_member(group_id, bot.id), 15)
    except (TelegramError, OSError, TimeoutError) as exc:
        return Check("staff_group", FAIL, f"STAFF_GROUP_ID {group_id} cannot be read: {type(exc).__name__}")
    if not chat.is_forum:
        return Check("staff_group", FAIL, f"{group_id} is no supergroup with topics: turn Topics on")
    if member.status != "creator" and not getattr(member, "can_manage_topics", False):
        return Check("staff_group", FAIL, f"the bot may not manage topics in {group_id}: make it an "
                                          "administrator with the right to manage topics")
    return Check("staff_group", OK, f"{group_id}: topics on, the bot may manage them")


def check_calendar(roster: Any, today: dt.date, stored: CalendarOverrides | None = None) -> Check:
    """Every day of the coming year has official data or, past it, entered make-up working days
    (``stored``: the table admins entered in the database, when it could be read)."""
    from bot.roster.calendar import coverage_warning
    from bot.roster.calendar_store import merge

    table = merge(roster.calendar, stored) if stored is not None else roster.calendar
    end = today + dt.timedelta(days=365)
    for year in range(today.year, end.year + 1):
        warning = coverage_warning(year, table)
        if warning:
            return Check("calendar", WARN, warning)
    return Check("calendar", OK, f"covered until {end.isoformat()}")


async def stored_calendar(settings: Settings) -> CalendarOverrides | None:
    """The make-up days and days off entered in the database (None if it cannot be read)."""
    from bot.roster.calendar_store import as_table, stored_days
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        async with db.read() as s:
            return as_table(await stored_days(s))
    except Exception:  # reported by the database checks already
        return None
    finally:
        await db.dispose()


async def run_checks(overrides: dict[str, Any] | None = None, *, token: str | None = None,
                     today: dt.date | None = None) -> list[Check]:
    """Every check, in order (later checks are skipped when settings are invalid)."""
    settings, first = _settings(overrides or {})
    checks = [first]
    if settings is None:
        return checks
    roster, file_checks = check_files(settings)
    checks += file_checks
    db_checks = await check_database(settings)
    checks += db_checks
    checks.append(await check_bot_api(settings, token))
    staff_group = await check_staff_group(settings, token)
    if staff_group is not None:
        checks.append(staff_group)
    if roster is not None:
        stored = await stored_calendar(settings) if all(c.status == OK for c in db_checks) else None
        checks.append(check_calendar(roster, today or settings.clock().now().date(), stored))
    return checks


def report(checks: list[Check]) -> str:
    """Human-readable lines: status, name, detail."""
    marks = {OK: "ok  ", WARN: "WARN", FAIL: "FAIL"}
    return "\n".join(f"[{marks[c.status]}] {c.name:<13} {c.detail}" for c in checks)
