"""Remind admins, at most once a day from 1 December, when make-up working days are missing.

A ``calendar_check`` timer per check day (key ``calendar:check:YYYY-MM-DD``, unique, so a
restart or a second instance never sends a day's reminder twice) fires at 09:00 desk time; it
reminds every active admin who has opened a chat with the bot when next year (from 1 December) or this year has neither
official data nor entered make-up days, then schedules the next check: the next day while that
matters, else 1 December.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import timers
from bot.core import uow as uow_mod
from bot.core.notify import tell
from bot.core.roles import Role
from bot.desk import Desk
from bot.roster.calendar import coverage_warning, missing_years
from bot.roster.model import CalendarOverrides
from storage.models import Staff, TelegramUser

log = logging.getLogger(__name__)

KIND = "calendar_check"
CHECK_AT = dt.time(9, 0)


def check_day(day: dt.date, table: CalendarOverrides) -> dt.date:
    """``day`` itself when a reminder may be due on it, else the next 1 December."""
    if day.month == 12 or missing_years(day, table):
        return day
    return dt.date(day.year, 12, 1)


async def _table(session: AsyncSession, desk: Desk) -> CalendarOverrides:
    return await desk.stored_calendar.merged(session, desk.roster.calendar)


async def schedule_check(session: AsyncSession, desk: Desk, now: dt.datetime, table: CalendarOverrides,
                         after: dt.date | None = None) -> None:
    """Make sure the next check (on or after ``after``, default today) has its timer."""
    local = now.astimezone(desk.clock.tz)
    day = check_day(after or local.date(), table)
    due = max(now, dt.datetime.combine(day, CHECK_AT, tzinfo=desk.clock.tz))
    await timers.schedule_once(session, KIND, f"calendar:check:{day.isoformat()}", due, {"day": day.isoformat()})


async def _reachable_admins(session: AsyncSession) -> list[int]:
    """Telegram ids of the active admins who have opened a chat with the bot (others cannot be
    written to: a message to them would only die in the outbox)."""
    rows = await session.scalars(
        select(Staff.telegram_user_id)
        .join(TelegramUser, TelegramUser.id == Staff.telegram_user_id)
        .where(Staff.role == Role.ADMIN, Staff.active.is_(True))
        .order_by(Staff.id)
    )
    return [uid for uid in rows.all() if uid is not None]


async def start_checks(session: AsyncSession, desk: Desk, now: dt.datetime) -> None:
    """Log what is missing, and seed the daily check."""
    table = await _table(session, desk)
    today = now.astimezone(desk.clock.tz).date()
    for year in (today.year, today.year + 1):
        warning = coverage_warning(year, table)
        if warning:
            log.warning("roster calendar: %s", warning)
    await schedule_check(session, desk, now, table)


async def check_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """Remind the admins if something is missing today; schedule the next check.

    A check left over from an earlier day (the bot was down, or the clock moved) sends nothing
    and hands over to today's check, so each day has one reminder at most.
    """
    table = await _table(uow.session, desk)
    today = uow.now.astimezone(desk.clock.tz).date()
    if payload.get("day") != today.isoformat():
        await schedule_check(uow.session, desk, uow.now, table, after=today)
        return
    years = missing_years(today, table)
    for user_id in await _reachable_admins(uow.session) if years else []:
        await tell(uow, user_id, "calendar/text#reminder", default_locale=desk.settings.default_locale, years=years)
    await schedule_check(uow.session, desk, uow.now, table, after=today + dt.timedelta(days=1))
