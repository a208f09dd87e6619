"""Outbound pacing below Telegram's flood limits, most urgent messages first.

Telegram allows a bot about 30 messages a second overall and about one a second per chat (with a
short burst). python-telegram-bot's ``AIORateLimiter`` paces only the overall rate and groups, and
after any 429 it pauses *every* request, so one chatty private chat can stall dispatches to
everybody. ``ScopedRetryLimiter`` keeps a 429 to what it concerns: a refused message is handed
back to the outbox (which retries that row, holding only its chat), other requests wait on their
own, and only when several chats are refused in a row — Telegram limiting the bot as a whole — do
all messages wait. ``PacedRateLimiter`` adds a token bucket per chat and serves the overall budget
by priority (a group, such as the staff group, has a slower bucket: ~20 messages a minute): the
outbox sets :data:`OUTBOUND_PRIORITY` (0 = dispatches and escalations) around each
send, so when the overall cap is the bottleneck urgent messages go first.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import heapq
import itertools
import math
import time
from collections.abc import Callable
from typing import Any

from telegram.error import RetryAfter

from bot.runtime.metrics import CountingRateLimiter

OUTBOUND_PRIORITY: contextvars.ContextVar[int] = contextvars.ContextVar("outbound_priority", default=5)

#: Telegram's per-chat guidance, with a margin: rate per second and burst.
CHAT_RATE, CHAT_BURST = 0.9, 2.0
#: Telegram's guidance for a group (about 20 messages a minute), with a margin: the staff group.
GROUP_RATE, GROUP_BURST = 0.25, 5.0
#: Longer waits for a chat's turn are handed back to the outbox as a local retry-after, so a busy
#: chat (a hundred cards to one engineer) never holds up the messages of other chats.
MAX_CHAT_WAIT = 2.0
#: Share of the configured overall rate used as burst (the rest is paced evenly).
OVERALL_BURST_SHARE = 0.5
#: Methods that put a message in a chat, and count against the flood limits.
PACED_PREFIXES = ("send", "edit", "copy", "forward")
MAX_IDLE_BUCKETS = 10_000
#: This many different chats refused with 429 with no message getting through in between: the
#: bot as a whole is over its limit, and every message waits the longest ``retry_after`` given.
BOT_WIDE_CHATS = 3


class PriorityBucket:
    """A token bucket whose waiters are served lowest priority number first, FIFO within one."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = burst, clock()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    @property
    def idle(self) -> bool:
        """Full and nobody waiting: the bucket can be forgotten."""
        self._refill()
        return not self._waiters and self.tokens >= self.burst

    def wait_estimate(self) -> float:
        """Seconds until a new waiter would get its token (0 when one is free now)."""
        self._refill()
        return max(0.0, (len(self._waiters) + 1 - self.tokens) / self.rate)

    async def acquire(self, priority: int = 5) -> None:
        """Wait for one token."""
        self._refill()
        if not self._waiters and self.tokens >= 1:
            self.tokens -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._serve(), name="pacing")
        await future

    async def _serve(self) -> None:
        while self._waiters:
            self._refill()
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                continue
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():  # a cancelled waiter gives its turn away
                self.tokens -= 1
                future.set_result(None)


def retry_seconds(exc: RetryAfter) -> float:
    """The wait a 429 asks for, in seconds."""
    retry = exc.retry_after
    return retry.total_seconds() if isinstance(retry, dt.timedelta) else float(retry)


class ScopedRetryLimiter(CountingRateLimiter):
    """``CountingRateLimiter`` whose 429s hold only what they concern (not every request).

    A refused message (``send…``/``edit…`` to a chat) raises at once: the outbox schedules that
    row again after ``retry_after`` and keeps the chat's later rows behind it. Any other request
    (``getFile``, ``answerCallbackQuery`` …) sleeps and retries by itself, up to ``max_retries``.
    ``BOT_WIDE_CHATS`` chats refused in a row make every message wait (``hold_until``).
    """

    def __init__(self, overall_max_rate: float, max_retries: int) -> None:
        super().__init__(overall_max_rate=overall_max_rate, max_retries=0)
        self.retries = max_retries
        self.hold_until = 0.0  # time.monotonic(): messages wait until then (bot-wide 429)
        self._refused: set[str] = set()  # chats refused since the last message got through

    async def _wait_hold(self) -> None:
        while (left := self.hold_until - time.monotonic()) > 0:  # noqa: ASYNC110  (a hold may grow)
            await asyncio.sleep(left)

    def _refused_chat(self, chat_id: object, seconds: float) -> None:
        self._refused.add(str(chat_id))
        if len(self._refused) >= BOT_WIDE_CHATS:
            self.hold_until = max(self.hold_until, time.monotonic() + seconds)
            self._refused.clear()

    async def process_request(
        self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str,
        data: dict[str, Any], rate_limit_args: int | None,
    ) -> Any:
        """Send once; a 429 is the outbox's to retry (messages) or waited out here (the rest)."""
        chat_id = data.get("chat_id")
        message = chat_id is not None and endpoint.startswith(PACED_PREFIXES)
        attempt = 0
        while True:
            if message:
                await self._wait_hold()
            try:
                result = await super().process_request(callback, args, kwargs, endpoint, data, 0)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if message:
                    self._refused_chat(chat_id, seconds)
                    raise
                attempt += 1
                if attempt > self.retries:
                    raise
                await asyncio.sleep(seconds)
                continue
            if message:
                self._refused.clear()
            return result


class PacedRateLimiter(ScopedRetryLimiter):
    """``ScopedRetryLimiter`` with per-chat pacing and a priority-ordered overall rate."""

    def __init__(self, overall_max_rate: float, max_retries: int) -> None:
        super().__init__(overall_max_rate=0, max_retries=max_retries)  # overall: ours, below
        self.overall = PriorityBucket(overall_max_rate, max(1.0, overall_max_rate * OVERALL_BURST_SHARE))
        self.chats: dict[int, PriorityBucket] = {}

    def _chat_bucket(self, chat_id: int) -> PriorityBucket:
        bucket = self.chats.get(chat_id)
        if bucket is None:
            if len(self.chats) >= MAX_IDLE_BUCKETS:
                self.chats = {k: b for k, b in self.chats.items() if not b.idle}
            rate, burst = (CHAT_RATE, CHAT_BURST) if chat_id > 0 else (GROUP_RATE, GROUP_BURST)
            bucket = self.chats[chat_id] = PriorityBucket(rate, burst)
        return bucket

    async def process_request(
        self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str,
        data: dict[str, Any], rate_limit_args: int | None,
    ) -> Any:
        """Wait for the chat's and the bot's turn (messages only), then send as usual."""
        chat_id = data.get("chat_id")
        if chat_id is not None and endpoint.startswith(PACED_PREFIXES):
            priority = OUTBOUND_PRIORITY.get()
            if isinstance(chat_id, int) and chat_id != 0:  # a private chat's or a group's own pace
                bucket = self._chat_bucket(chat_id)
                wait = bucket.wait_estimate()
                if wait > MAX_CHAT_WAIT:  # not here: the outbox tries this row again later
                    raise RetryAfter(math.ceil(wait))
                await bucket.acquire(priority)
            await self.overall.acquire(priority)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
