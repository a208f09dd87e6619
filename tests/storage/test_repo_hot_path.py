"""What every update runs on its way in, kept to the statements it needs: the actor's row read once
per update, ``last_seen_at`` written once a minute, the inbox insert answered by RETURNING, a
timer added once by one INSERT."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select
from telegram import Update

from bot.core import timers
from bot.core.uow import UnitOfWork
from bot.runtime.inbox import store_updates
from handlers.base import load_actor
from storage.db import Database
from storage.models import InboxUpdate, TelegramUser, Timer
from storage.repo import SEEN_EVERY, note_seen, upsert_user

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
USER_ID = 7_000_001


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


def _user(last_seen: dt.datetime) -> TelegramUser:
    return TelegramUser(id=USER_ID, first_name="Li", locale="zh", locale_chosen=False, verified=False,
                        created_at=last_seen, last_seen_at=last_seen)


def _message(update_id: int, text: str, *, user_id: int = USER_ID) -> Update:
    return Update.de_json({
        "update_id": update_id,
        "message": {"message_id": update_id, "date": int(NOW.timestamp()), "text": text,
                    "chat": {"id": user_id, "type": "private"},
                    "from": {"id": user_id, "is_bot": False, "first_name": "Li", "language_code": "zh"}},
    }, None)


def _statements(db: Database) -> list[str]:
    """Every SQL statement the writer engine runs from now on (first keyword)."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", listen)
    return seen


def test_last_seen_is_written_at_most_once_per_interval() -> None:
    user = _user(NOW)
    note_seen(user, NOW + SEEN_EVERY - dt.timedelta(seconds=1))
    assert user.last_seen_at == NOW
    note_seen(user, NOW + SEEN_EVERY)
    assert user.last_seen_at == NOW + SEEN_EVERY
    note_seen(user, NOW)  # the clock went back: recorded, not left in the future
    assert user.last_seen_at == NOW


async def test_a_returning_user_within_the_interval_writes_nothing(db: Database) -> None:
    async with db.write() as s:
        created = await upsert_user(s, user_id=USER_ID, first_name="Li", last_name=None, username=None,
                                    locale="zh", now=NOW)
        assert created.last_seen_at == NOW
    statements = _statements(db)
    async with db.write() as s:
        await upsert_user(s, user_id=USER_ID, first_name="Li", last_name=None, username=None,
                          locale="zh", now=NOW + dt.timedelta(seconds=30))
    assert "UPDATE" not in statements and "SELECT" in statements
    async with db.write() as s:
        await upsert_user(s, user_id=USER_ID, first_name="Li", last_name=None, username=None,
                          locale="zh", now=NOW + SEEN_EVERY)
    async with db.read() as s:
        stored = await s.scalar(select(TelegramUser.last_seen_at).where(TelegramUser.id == USER_ID))
    assert stored == NOW + SEEN_EVERY


async def test_the_actor_is_read_once_per_update(db: Database) -> None:
    update = _message(1, "我的打印机坏了")
    async with db.write() as s:
        uow = UnitOfWork(session=s, now=NOW)
        first = await load_actor(update, uow)
        statements = _statements(db)
        second = await load_actor(update, uow)  # the next guarded handler of the same update
        assert statements == []
        assert first is not None and second is not None
        assert second.user is first.user is uow.user
        assert (second.role, second.locale) == (first.role, first.locale)
    other = _message(2, "hello", user_id=USER_ID + 1)
    async with db.write() as s:  # a unit of work holding another user's row reads this one
        uow = UnitOfWork(session=s, now=NOW, user=_user(NOW))
        actor = await load_actor(other, uow)
        assert actor is not None and actor.user.id == USER_ID + 1 == uow.user.id


async def test_stored_updates_come_back_from_the_insert(db: Database) -> None:
    statements = _statements(db)
    stored = await store_updates(db, [_message(11, "a"), _message(12, "b")], NOW)
    assert [u.update_id for u in stored.fresh] == [11, 12]
    assert statements.count("SELECT") == 0  # new ids: RETURNING says what was inserted
    assert statements.count("INSERT") == 1  # the batch's rows as one statement's parameters
    again = await store_updates(db, [_message(11, "a"), _message(13, "c")], NOW)
    assert [u.update_id for u in again.fresh] == [11, 13]  # 11 still pending: handed on again, its claim runs it once
    async with db.write() as s:
        await s.execute(InboxUpdate.__table__.update().values(status="done"))
    redelivered = await store_updates(db, [_message(11, "a"), _message(12, "other")], NOW)
    assert [u.update_id for u in redelivered.fresh] == [12]  # 11 is done; 12 re-used for new content


async def test_a_timer_is_added_once_by_one_insert(db: Database) -> None:
    statements = _statements(db)
    async with db.write() as s:
        assert await timers.schedule_once(s, "ack", "ack:1:1", NOW, {"ticket": 1})
        assert not await timers.schedule_once(s, "ack", "ack:1:1", NOW, {"ticket": 2})
        timers.schedule(s, "sla", "sla:1", NOW, {})  # added, not flushed yet: seen all the same
        assert not await timers.schedule_once(s, "sla", "sla:1", NOW, {})
    assert statements.count("SELECT") == 0
    async with db.write() as s:  # in any state: a fired one is not added again
        await s.execute(Timer.__table__.update().values(status="done"))
        assert not await timers.schedule_once(s, "ack", "ack:1:1", NOW, {})
    async with db.read() as s:
        rows = (await s.execute(select(Timer.key, Timer.payload, Timer.due_at).order_by(Timer.key))).all()
    assert [tuple(r) for r in rows] == [("ack:1:1", {"ticket": 1}, NOW), ("sla:1", {}, NOW)]
