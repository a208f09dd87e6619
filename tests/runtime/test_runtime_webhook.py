"""End-to-end: a webhook body that is not a well-formed update is refused and never stored."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import func, select

from bot.runtime.webhook import SECRET_HEADER
from storage.models import InboxUpdate
from tests.harness import Harness
from tests.support.instances import SECRET, register, start_instance

MESSAGE = {"message_id": 1, "date": 1764633600, "chat": {"id": 5301, "type": "private"},
           "from": {"id": 5301, "is_bot": False, "first_name": "Eve"}, "text": "/start",
           "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
MALFORMED: list[Any] = [
    {"update_id": "abc"},  # the example: a string id
    {"update_id": 901},  # no update kind at all
    {"update_id": True, "message": MESSAGE},
    {"update_id": 902, "message": "hello"},
    {"update_id": 903, "message": {**MESSAGE, "chat": {"id": "5301", "type": "private"}}},
    {"update_id": 904, "message": {k: v for k, v in MESSAGE.items() if k != "date"}},
    {"update_id": 905, "callback_query": {"id": "q", "data": "x"}},  # no sender
    {"update_id": 906, "message": MESSAGE, "edited_message": MESSAGE},
    [{"update_id": 907, "message": MESSAGE}],
    "update",
]


async def test_malformed_webhook_updates_get_400_and_nothing_is_stored(harness: Harness) -> None:
    server = await start_instance(harness)
    try:
        await register(harness, [server])
        chat = harness.chat(5301, "en")
        assert (await chat.ask("/start", wait=10))["text"].startswith("Hello")  # the chat exists
        async with server.desk_app.db.read() as s:
            before = await s.scalar(select(func.count()).select_from(InboxUpdate))
        async with aiohttp.ClientSession() as http:
            for body in MALFORMED:
                async with http.post(server.webhook_url, json=body,
                                     headers={SECRET_HEADER: SECRET}) as resp:
                    assert resp.status == 400, body
            async with server.desk_app.db.read() as s:
                assert await s.scalar(select(func.count()).select_from(InboxUpdate)) == before
            async with http.post(server.webhook_url, json={"update_id": 908, "message": MESSAGE},
                                 headers={SECRET_HEADER: SECRET}) as resp:
                assert resp.status == 200  # a well-formed one is still taken and answered
        reply = await chat.read(wait=10)
        assert reply and reply[0]["text"].startswith("Hello")
        async with server.desk_app.db.read() as s:
            assert set((await s.scalars(select(InboxUpdate.status))).all()) == {"done"}
            assert await s.scalar(select(func.count()).select_from(InboxUpdate)) == before + 1
    finally:
        await server.stop()
