"""Outbound pacing: under Telegram's flood limits the bot provokes no 429, urgent messages first."""

from __future__ import annotations

import asyncio

from bot.runtime.pacing import PriorityBucket
from tests.harness import Harness


async def test_bucket_serves_the_most_urgent_waiter_first() -> None:
    bucket = PriorityBucket(rate=20.0, burst=1.0)
    await bucket.acquire()  # the burst is used up: everyone below waits
    order: list[str] = []

    async def take(name: str, priority: int) -> None:
        await bucket.acquire(priority)
        order.append(name)

    waiters = [asyncio.create_task(take(n, p)) for n, p in
               [("reply-1", 5), ("report", 8), ("reply-2", 5), ("dispatch", 0), ("notice", 3)]]
    await asyncio.sleep(0)  # all five queue before the first token comes back
    await asyncio.gather(*waiters)
    assert order == ["dispatch", "notice", "reply-1", "reply-2", "report"]


async def test_bucket_keeps_its_rate() -> None:
    bucket = PriorityBucket(rate=50.0, burst=2.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(12):
        await bucket.acquire()
    assert loop.time() - started >= (12 - 2) / 50.0 * 0.9


async def test_cancelled_waiter_gives_its_turn_away() -> None:
    bucket = PriorityBucket(rate=20.0, burst=1.0)
    await bucket.acquire()
    doomed = asyncio.create_task(bucket.acquire(0))
    await asyncio.sleep(0)
    doomed.cancel()
    await asyncio.wait_for(bucket.acquire(5), timeout=1.0)


async def test_flood_limits_provoke_no_429(harness: Harness) -> None:
    await harness.post("/sandbox/config", {"flood_limits": True})
    await harness.start(bot_api_chat_pacing=True, bot_api_max_rate=30)
    one = harness.chat(5030, "en")
    for _ in range(6):  # six replies to one chat, faster than 1/s
        await one.send("/start")
    others = [harness.chat(5100 + i, "en") for i in range(40)]  # 40 chats at once: over 30/s
    await asyncio.gather(*(c.send("/start") for c in others))
    got: list[dict] = []
    for _ in range(20):
        got += await one.read(wait=2)
        if len(got) >= 6:
            break
    assert len(got) == 6
    for chat in others:
        assert await chat.read(wait=10)
    stats = await harness.get("/sandbox/stats")
    assert stats["errors"].get("429", 0) == 0, stats["errors"]


async def test_a_busy_chat_is_handed_back_not_waited_for() -> None:
    from telegram.error import RetryAfter

    from bot.runtime.pacing import MAX_CHAT_WAIT, PacedRateLimiter

    limiter = PacedRateLimiter(1000, max_retries=0)
    await limiter.initialize()
    sent: list[int] = []

    async def send(n: int) -> dict[str, int]:
        sent.append(n)
        return {"ok": n}

    async def one(n: int) -> str:
        try:
            await limiter.process_request(send, (n,), {}, "sendMessage", {"chat_id": 42}, None)
        except RetryAfter:
            return "later"
        return "sent"

    loop = asyncio.get_running_loop()
    started = loop.time()
    outcomes = await asyncio.gather(*(one(n) for n in range(10)))
    assert loop.time() - started <= MAX_CHAT_WAIT + 0.5  # nobody waited long
    assert outcomes.count("sent") >= 2 and "later" in outcomes
    assert len(sent) == outcomes.count("sent")
    other = await limiter.process_request(send, (99,), {}, "sendMessage", {"chat_id": 43}, None)
    assert other == {"ok": 99}  # another chat is not held up
    await limiter.shutdown()


async def test_a_group_has_its_slower_bucket() -> None:
    from telegram.error import RetryAfter

    from bot.runtime.pacing import GROUP_BURST, GROUP_RATE, PacedRateLimiter

    limiter = PacedRateLimiter(1000, max_retries=0)
    await limiter.initialize()

    async def send() -> dict[str, bool]:
        return {"ok": True}

    async def one(chat_id: int) -> str:
        try:
            await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat_id}, None)
        except RetryAfter:
            return "later"
        return "sent"

    group = -1001234567890
    outcomes = [await one(group) for _ in range(12)]
    # the burst goes at once, about half a message more in the 2 s a send may wait, the rest later
    assert outcomes.count("sent") <= GROUP_BURST + 2 * GROUP_RATE + 1
    assert outcomes.count("sent") >= GROUP_BURST and "later" in outcomes
    assert limiter.chats[group].rate == GROUP_RATE
    assert await one(42) == "sent"  # a private chat is not held up by the group
    await limiter.shutdown()
