"""End-to-end: a bot restarted on its database with a new sandbox (or restarted Telegram ids)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.core.clock import Clock
from bot.runtime.runner import start_sandbox
from bot.sandbox import SandboxServer
from storage.db import Database
from storage.models import InboxUpdate
from tests.harness import Harness, fresh_sqlite, seeded
from tests.harness import test_clock as make_clock


async def greet(h: Harness, user_id: int, n: int = 2) -> list[int]:
    """``n`` /start messages answered; their update ids."""
    chat = h.chat(user_id, "en")
    ids = []
    for _ in range(n):
        sent = await chat.send("/start")
        ids.append(sent["update_id"])
        reply = await chat.read(wait=10)
        assert reply and reply[0]["text"].startswith("Hello"), reply
    return ids


async def run_once(sandbox: SandboxServer, url: str, clock: Clock, user_id: int) -> list[int]:
    """Start the bot against ``sandbox``, have a user talk to it, stop both."""
    h = Harness(sandbox, url, clock)
    try:
        await h.start()
        return await greet(h, user_id)
    finally:
        await h.close()
        await sandbox.stop()


async def test_restarted_update_ids_with_new_content_are_processed(
    template_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram (or a new sandbox) numbering updates from 1 again is not taken for re-delivery."""
    url, clock = fresh_sqlite(template_db, tmp_path), make_clock()
    await seeded(Harness(SandboxServer(), url, clock))  # demo data only: no bot running
    first = SandboxServer(port=0)
    await first.start()
    before = await run_once(first, url, clock, 5201)
    second = SandboxServer(port=0)  # numbers from 1 again
    await second.start()
    with caplog.at_level(logging.WARNING, logger="bot.inbox"):
        after = await run_once(second, url, clock, 5202)
    assert set(before) & set(after), "the second sandbox should reuse update ids"
    assert "re-used with other content" in caplog.text
    db = Database(url)
    try:
        async with db.read() as s:
            statuses = (await s.scalars(select(InboxUpdate.status))).all()
    finally:
        await db.dispose()
    assert statuses and set(statuses) == {"done"}


async def test_two_runs_on_one_database_both_answer(template_db: Path, tmp_path: Path) -> None:
    """``make run`` twice: the sandbox continues above the update and message ids already seen."""
    url, clock = fresh_sqlite(template_db, tmp_path), make_clock()
    await seeded(Harness(SandboxServer(), url, clock))
    settings = Settings(database_url=url, telegram_bot_token=None, sandbox_port=0)
    before = await run_once(await start_sandbox(settings, clock), url, clock, 5203)
    second = await start_sandbox(settings, clock)
    h = Harness(second, url, clock)
    try:
        await h.start()
        after = await greet(h, 5203)
        messages = (await h.get("/sandbox/messages", user_id=5203, since=0))["messages"]
    finally:
        await h.close()
        await second.stop()
    assert min(after) > max(before)
    assert min(m["id"] for m in messages) > 2 * len(before)  # the user's and the bot's, each run


async def test_a_reused_id_waits_while_the_earlier_update_is_pending(db_url: str) -> None:
    """Same id, other content, the first still unprocessed: held back (unconfirmed), not lost."""
    import datetime as dt

    from sqlalchemy import update
    from telegram import Bot, Update

    from bot.runtime.inbox import store_updates

    bot = Bot("123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz")

    def message(text: str) -> Update:
        return Update.de_json({"update_id": 41, "message": {
            "message_id": 1, "date": 1764633600, "chat": {"id": 5210, "type": "private"},
            "from": {"id": 5210, "is_bot": False, "first_name": "A"}, "text": text}}, bot)

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    db = Database(db_url)
    try:
        first = await store_updates(db, [message("one")], now)
        again = await store_updates(db, [message("one")], now)  # a re-delivery while pending
        other = await store_updates(db, [message("two")], now)
        assert [len(x.fresh) for x in (first, again, other)] == [1, 1, 0] and len(other.held) == 1
        async with db.write() as s:
            await s.execute(update(InboxUpdate).values(status="done"))
        assert (await store_updates(db, [message("one")], now)).fresh == []  # done: a duplicate
        later = await store_updates(db, [message("two")], now)
        assert len(later.fresh) == 1 and later.held == []
        async with db.read() as s:
            row = await s.get(InboxUpdate, 41)
        assert row is not None and row.status == "pending" and row.payload["message"]["text"] == "two"
    finally:
        await db.dispose()
