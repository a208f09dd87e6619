"""Durable timers in the domain: schedule and cancel timer rows inside the unit of work.

What happens when a timer of a kind comes due is a handler in the explicit table of
``bot/app.py`` (``TIMER_HANDLERS``); the worker that fires them is ``bot/runtime/timer_worker.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from storage.models import Timer
from storage.repo import dialect_insert

TimerHandler = Callable[[uow_mod.UnitOfWork, Any, dict[str, Any]], Awaitable[None]]
StartupHook = Callable[[AsyncSession, Any, dt.datetime], Awaitable[None]]

_TIMERS = cast(Table, Timer.__table__)


def schedule(
    session: AsyncSession, kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any]
) -> Timer:
    """Add a timer (``key`` is unique: one timer per purpose)."""
    row = Timer(kind=kind, key=key, due_at=due_at, payload=payload, status="pending")
    session.add(row)
    return row


async def schedule_once(
    session: AsyncSession, kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any]
) -> bool:
    """Add a timer unless one with ``key`` already exists (in any state); True when added.

    One statement (INSERT … ON CONFLICT DO NOTHING RETURNING) rather than a look-up and an insert;
    on PostgreSQL a concurrent transaction adding the same key makes this one add nothing.
    """
    for row in session.new:  # added earlier in this transaction, not flushed yet
        if isinstance(row, Timer) and row.key == key:
            return False
    added = await session.scalar(
        dialect_insert(session, _TIMERS)
        .values(kind=kind, key=key, due_at=due_at, payload=payload, status="pending")
        .on_conflict_do_nothing(index_elements=[_TIMERS.c.key])
        .returning(_TIMERS.c.id)
    )
    return added is not None


async def cancel(session: AsyncSession, key_prefix: str) -> None:
    """Cancel every pending timer whose key starts with ``key_prefix``."""
    await session.execute(
        update(Timer)
        .where(Timer.status == "pending", Timer.key.startswith(key_prefix, autoescape=True))
        .values(status="cancelled")
    )
