"""Security operations: per-user flood limit, audit of admin commands, loopback defaults."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from bot.config import Settings
from bot.core.ratelimit import DROP, SERVE, WARN, FloodLimiter
from storage.models import AuditEntry
from tests.harness import Harness

EN_SLOW = "You are sending messages too fast"


def test_flood_limiter_serves_warns_once_then_drops_and_recovers() -> None:
    limiter = FloodLimiter(limit=3, window=60)
    verdicts = [limiter.check(7, 1000 + i) for i in range(6)]
    assert verdicts == [SERVE, SERVE, SERVE, WARN, DROP, DROP]
    assert limiter.check(8, 1005) == SERVE  # other users are not affected
    assert limiter.check(7, 1061) == SERVE  # the window has room again
    assert limiter.check(7, 500) == SERVE  # the clock was set back: counting starts afresh


async def test_customer_flood_is_slowed_not_served(harness: Harness) -> None:
    await harness.start(flood_max_messages=5, flood_window_seconds=60)
    chat = harness.chat(5601, "en")
    for _ in range(30):  # a burst: 30 messages at once
        await chat.send("/start")
    got: list[str] = []
    for _ in range(20):
        got += [m["text"] for m in await chat.read(1.0)]
        if len(got) >= 6:
            break
    await asyncio.sleep(0.3)
    got += [m["text"] for m in await chat.quiet(0.5)]
    assert len([t for t in got if "service desk" in t]) == 5
    assert len([t for t in got if EN_SLOW in t]) == 1 and len(got) == 6
    harness.clock.advance(dt.timedelta(seconds=61))  # a minute later: served again
    assert "service desk" in (await chat.ask("/start"))["text"]
    zh = harness.chat(5602, "zh")
    for _ in range(7):
        await zh.send("/start")
    texts: list[str] = []
    for _ in range(20):
        texts += [m["text"] for m in await zh.read(1.0)]
        if len(texts) >= 6:
            break
    assert any("太快" in t for t in texts)


async def test_staff_are_not_throttled(harness: Harness) -> None:
    await harness.start(flood_max_messages=2, flood_window_seconds=60)
    engineer = harness.chat(1001, "en")
    for _ in range(5):
        await engineer.send("/start")
    got: list[str] = []
    for _ in range(20):
        got += [m["text"] for m in await engineer.read(1.0)]
        if len(got) >= 5:
            break
    assert len(got) == 5 and not any(EN_SLOW in t for t in got)


async def test_admin_commands_are_audited_allowed_or_not(bot: Harness) -> None:
    await bot.chat(9001, "en").ask("/staff")
    await bot.chat(5603, "en").ask("/staff deactivate li")  # a customer tries
    assert bot.app is not None
    async with bot.app.db.read() as s:
        rows = (await s.scalars(
            select(AuditEntry).where(AuditEntry.action == "command.staff").order_by(AuditEntry.id)
        )).all()
    assert [(r.actor, r.data["role"], r.data["allowed"]) for r in rows] == [
        ("tg:9001", "admin", True), ("tg:5603", "customer", False)]
    assert rows[1].data["text"] == "/staff deactivate li" and rows[1].data["update_id"] > 0


def test_listeners_bind_loopback_by_default() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.sandbox_host == "127.0.0.1" and s.webhook_host == "127.0.0.1"
    assert s.metrics_public is False
