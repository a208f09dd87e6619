"""A user who blocked the bot: Telegram answers 403, the outbox gives the message up at once."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.harness import Harness
from tests.support.dispatchkit import TG, card_of, open_ticket, start_desk

BLOCKED = "403 Forbidden: bot was blocked by the user"


async def _rows(h: Harness, chat_id: int) -> list[OutboxMessage]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list(await s.scalars(
            select(OutboxMessage).where(OutboxMessage.chat_id == chat_id).order_by(OutboxMessage.id)
        ))


async def test_blocked_engineer_card_is_dead_at_once_and_cards_arrive_after_unblock(
    harness: Harness,
) -> None:
    c = await start_desk(harness, "li")  # Monday 10:00: li is on duty
    app = harness.app
    assert app is not None and app.sender is not None
    before = len(await _rows(harness, TG["li"]))
    blocked = await harness.post("/sandbox/block", {"user_id": TG["li"]})
    assert blocked["blocked"]
    _, number, _, _ = await open_ticket(harness, sla=False)
    refused = (await _rows(harness, TG["li"]))[before:]
    assert refused and all(r.status == "dead" for r in refused)
    assert {r.last_error for r in refused} == {BLOCKED}
    assert all(r.attempts == 1 for r in refused)  # terminal: no retry is scheduled
    assert app.sender.failed >= len(refused)
    assert await app.sender.flush(5.0)  # nothing of li's is left to try
    assert [r.attempts for r in (await _rows(harness, TG["li"]))[before:]] == [1] * len(refused)
    stats = await harness.get("/sandbox/stats")
    assert stats["errors"]["403"] == len(refused)
    assert await c["li"].read(0.3) == []  # nothing reached the blocked chat
    # li unblocks the bot: what the bot sends from now on arrives
    await harness.post("/sandbox/unblock", {"user_id": TG["li"]})
    _, second, _, _ = await open_ticket(harness, sla=False)
    card = await card_of(c["li"], second)
    assert second != number and second in card["text"]
    await c["li"].send("/start")
    assert await c["li"].read()


async def test_my_chat_member_by_webhook_is_taken_without_harm(harness: Harness) -> None:
    """A webhook registered without allowed_updates receives my_chat_member (Telegram's default
    set): the bot stores and finishes it, and goes on answering."""
    from storage.models import InboxUpdate
    from tests.support.instances import register, start_instance

    server = await start_instance(harness)
    try:
        await register(harness, [server])
        chat = harness.chat(5001, "en")
        assert "service desk" in (await chat.ask("/start"))["text"]
        block = await harness.post("/sandbox/block", {"user_id": 5001})
        unblock = await harness.post("/sandbox/unblock", {"user_id": 5001})
        assert block["update_id"] and unblock["update_id"]
        assert "service desk" in (await chat.ask("/start"))["text"]
        async with server.desk_app.db.read() as s:
            rows = {r.update_id: r.status for r in await s.scalars(select(InboxUpdate))}
        assert rows[block["update_id"]] == rows[unblock["update_id"]] == "done"
    finally:
        await server.stop()


async def test_a_refused_upload_is_given_up_not_retried_forever(harness: Harness) -> None:
    """413 Request Entity Too Large (a NetworkError in python-telegram-bot) is final like a 400:
    retrying the same bytes cannot succeed, and it would hold up the chat's later messages."""
    await harness.start()
    chat = harness.chat(5001, "en")
    await chat.ask("/start")
    await harness.post("/sandbox/faults", {"method": "sendMessage", "count": 1, "kind": "413"})
    await chat.send("/help")
    assert await chat.read(1.0) == []
    rows = await _rows(harness, 5001)
    assert rows[-1].status == "dead" and rows[-1].attempts == 1
    assert "Request Entity Too Large" in (rows[-1].last_error or "")
    assert "Commands" in (await chat.ask("/help"))["text"]  # the chat is not held up
