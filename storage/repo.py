"""Small repositories over the session of the current unit of work."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import Select, Table, delete, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import Base, Conversation, Staff, TelegramUser

SEEN_EVERY = dt.timedelta(minutes=1)  # how stale ``TelegramUser.last_seen_at`` may get


def dialect_insert(session: AsyncSession, table: type[Base] | Table) -> PgInsert | SqliteInsert:
    """``INSERT`` into ``table`` in the session's dialect, for its ``ON CONFLICT`` clauses.

    Given the ``Table`` rather than the mapped class, the statement runs as plain Core: no ORM
    bulk-insert machinery (about half the CPU for the inbox's one-row batches)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table)


async def upsert_user(
    session: AsyncSession,
    *,
    user_id: int,
    first_name: str,
    last_name: str | None,
    username: str | None,
    locale: str,
    now: dt.datetime,
) -> TelegramUser:
    """Fetch the Telegram account row, creating it on first contact."""
    user = await session.get(TelegramUser, user_id)
    if user is None:
        user = TelegramUser(
            id=user_id,
            first_name=first_name[:128],
            last_name=(last_name or None) and last_name[:128],
            username=username,
            locale=locale,
            locale_chosen=False,
            verified=False,
            created_at=now,
            last_seen_at=now,
        )
        session.add(user)
        # link a staff record registered with this Telegram id (demo data, CLI)
        staff = await session.scalar(select(Staff).where(Staff.telegram_user_id == user_id))
        if staff is not None:
            user.staff_id = staff.id
            user.staff = staff
        return user
    note_seen(user, now)
    return user


def note_seen(user: TelegramUser, now: dt.datetime) -> None:
    """Record ``now`` as the user's last contact, at most once per ``SEEN_EVERY``: rewriting it on
    every update would make each update write the user row."""
    last = user.last_seen_at
    if not last <= now < last + SEEN_EVERY:  # also when the clock went back
        user.last_seen_at = now


async def get_conversation(session: AsyncSession, chat_id: int) -> Conversation | None:
    """The chat's running flow, if any."""
    return await session.get(Conversation, chat_id)


async def set_conversation(
    session: AsyncSession,
    chat_id: int,
    flow: str,
    step: str,
    data: dict[str, Any],
    now: dt.datetime,
) -> Conversation:
    """Move the chat's flow to ``step`` with ``data`` (in the current transaction)."""
    conv = await session.get(Conversation, chat_id)
    if conv is None:
        conv = Conversation(chat_id=chat_id, flow=flow, step=step, data=data, version=0, updated_at=now)
        session.add(conv)
    else:
        conv.flow, conv.step, conv.data = flow, step, dict(data)
        conv.version += 1
        conv.updated_at = now
    return conv


async def clear_conversation(session: AsyncSession, chat_id: int) -> None:
    """End the chat's flow."""
    await session.execute(delete(Conversation).where(Conversation.chat_id == chat_id))


async def claim_rows(
    session: AsyncSession, stmt: Select[Any], key: InstrumentedAttribute[Any], instance: str,
    until: dt.datetime,
) -> list[Any]:
    """Lock the rows ``stmt`` selects (skipping rows other instances hold) and mark them claimed.

    ``key`` is the primary-key column of the selected model; the claim lasts until ``until``.
    The claim is written with a Core UPDATE (no ORM synchronisation of the session: the returned
    objects keep the ``claimed_by`` / ``claimed_until`` they were read with).
    """
    rows = list((await session.scalars(stmt.with_for_update(skip_locked=True))).all())
    if rows:
        table = cast(Table, key.class_.__table__)
        await session.execute(
            update(table)
            .where(table.c[key.key].in_([getattr(r, key.key) for r in rows]))
            .values(claimed_by=instance, claimed_until=until)
        )
    return rows
