"""End-to-end: per-chat order after a failed send, and a 429 that holds only its own chat."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.harness import Chat, Harness

PACING = pytest.mark.parametrize("pacing", [False, True], ids=["unpaced", "paced"])


async def read_n(chat: Chat, n: int, deadline: float = 30.0) -> list[dict[str, Any]]:
    """The next ``n`` messages of ``chat`` (in the order they arrived), waiting up to ``deadline``."""
    got: list[dict[str, Any]] = []
    end = time.monotonic() + deadline
    while len(got) < n and time.monotonic() < end:
        got += await chat.read(wait=min(5.0, max(0.1, end - time.monotonic())))
    assert len(got) >= n, [m["text"] for m in got]
    return got


@PACING
async def test_a_failed_send_is_not_overtaken_by_later_replies(harness: Harness, pacing: bool) -> None:
    bot = harness
    await bot.start(bot_api_chat_pacing=pacing)
    await bot.post("/sandbox/faults", {"method": "sendMessage", "count": 1, "kind": "500"})
    chat = bot.chat(5101, "en")
    for command in ("/start", "/help", "/whoami"):
        await chat.send(command)
        await asyncio.sleep(0.3)
    replies = await read_n(chat, 3)
    texts = [m["text"] for m in replies]
    assert len(texts) == 3
    assert texts[0].startswith("Hello")  # /start's reply first, although its first send failed
    assert texts[1].startswith("Commands")  # then /help's
    assert not texts[2].startswith(("Hello", "Commands"))  # then /whoami's
    assert (await bot.get("/sandbox/stats"))["errors"].get("500") == 1  # the fault did happen


@PACING
async def test_a_429_for_one_chat_does_not_delay_other_chats(harness: Harness, pacing: bool) -> None:
    bot = harness
    await bot.start(bot_api_chat_pacing=pacing)
    await bot.post("/sandbox/faults", {"method": "sendMessage", "count": 1, "kind": "429",
                                       "retry_after": 8})
    slow, other = bot.chat(5102, "en"), bot.chat(5103, "en")
    began = time.monotonic()
    await slow.send("/start")
    for _ in range(100):  # the 429 has been given to the first chat's reply
        if (await bot.get("/sandbox/stats"))["errors"].get("429"):
            break
        await asyncio.sleep(0.05)
    await slow.send("/help")  # its reply must wait behind /start's
    reply = await other.ask("/help", wait=10)
    assert reply["text"].startswith("Commands")
    assert time.monotonic() - began < 6, "another chat's reply waited for the 429"
    first, second = await read_n(slow, 2, deadline=40)
    assert first["text"].startswith("Hello") and second["text"].startswith("Commands")
    assert time.monotonic() - began >= 7.5  # the refused chat did wait as Telegram asked


def answers(text: str) -> str:
    """Which command a reply answers."""
    return "start" if text.startswith("Hello") else "help" if text.startswith("Commands") else "whoami"


async def test_per_chat_order_holds_with_30_percent_of_sends_failing(bot: Harness) -> None:
    chats = [bot.chat(5110 + i, "en") for i in range(6)]
    script = ["/start", "/help", "/whoami", "/help", "/start", "/whoami"]
    await bot.post("/sandbox/faults", {"method": "sendMessage", "rate": 0.3, "kinds": ["429", "500"],
                                       "retry_after": 1, "seed": 7})
    for command in script:
        for chat in chats:
            await chat.send(command)
        await asyncio.sleep(0.05)
    got = await asyncio.gather(*(read_n(chat, len(script), deadline=90) for chat in chats))
    await bot.http.delete(bot.sandbox.url + "/sandbox/faults")
    expected = [c.removeprefix("/") for c in script]
    for chat, replies in zip(chats, got, strict=True):
        assert [answers(m["text"]) for m in replies] == expected, chat.user_id
    errors = (await bot.get("/sandbox/stats"))["errors"]
    assert errors.get("429", 0) + errors.get("500", 0) >= 5  # the faults did happen
