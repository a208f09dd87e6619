"""Webhook mode end to end: secret check, fast answer + background processing, health, metrics,
graceful shutdown."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.runtime.webhook import SECRET_HEADER, WebhookServer, derive_secret
from storage.models import InboxUpdate, OutboxMessage
from tests.harness import Harness
from tests.support.instances import SECRET, register, start_instance


@pytest.fixture
async def hooked(harness: Harness) -> AsyncIterator[WebhookServer]:
    server = await start_instance(harness)
    await register(harness, [server])
    yield server
    await server.stop()


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def test_updates_arrive_by_webhook_and_are_answered(harness: Harness, hooked: WebhookServer) -> None:
    reply = await harness.chat(5001, "en").ask("/start")
    assert "service desk" in reply["text"]
    info = await harness.get("/sandbox/stats")
    assert info["pending_updates"] == 0 and hooked.received == 1
    async with hooked.desk_app.db.read() as s:
        row = (await s.scalars(select(InboxUpdate))).one()
    assert row.status == "done" and row.claimed_by == hooked.desk_app.sender.instance


async def test_wrong_or_missing_secret_is_refused(harness: Harness, hooked: WebhookServer) -> None:
    update = {"update_id": 777, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 5009, "type": "private"},
        "from": {"id": 5009, "is_bot": False, "first_name": "Eve"}, "text": "/start"}}
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
            async with http.post(hooked.webhook_url, json=update, headers=headers) as resp:
                assert resp.status == 403
        async with http.post(
            hooked.webhook_url, data=b"{not json", headers={SECRET_HEADER: SECRET}
        ) as resp:
            assert resp.status == 400
    async with hooked.desk_app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(InboxUpdate)) == 0
    assert await harness.chat(5009).quiet(0.3) == []


async def test_health_readiness_and_metrics(harness: Harness, hooked: WebhookServer) -> None:
    await harness.chat(5002, "en").ask("/start")
    await harness.chat(5003, "en").ask("/help")
    async with aiohttp.ClientSession() as http:
        async with http.get(hooked.url + "/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["ok"] is True
        async with http.get(hooked.url + "/readyz") as resp:
            body = await resp.json()
            assert resp.status == 200, body
            assert body == {"database": "ok", "bot_api": "ok", "ok": True}
        for _ in range(50):  # a row is marked sent just after the sandbox has the message
            async with http.get(hooked.url + "/metrics") as resp:
                assert resp.status == 200
                text = await resp.text()
            if _metric(text, "sdbot_outbox_depth") == 0:
                break
            await asyncio.sleep(0.05)
    assert _metric(text, 'sdbot_updates_total{type="message"}') == 2
    assert _metric(text, "sdbot_handler_seconds_count") == 2
    assert _metric(text, "sdbot_outbox_depth") == 0
    assert _metric(text, "sdbot_timers_due") == 0
    assert "sdbot_bot_api_errors_total" in text or "sdbot_bot_api_errors" in text
    assert 'sdbot_sla_breaches_open{deadline="fix"}' in text


async def test_bot_api_errors_are_counted_by_code(harness: Harness, hooked: WebhookServer) -> None:
    await harness.post("/sandbox/faults", {"method": "sendMessage", "kind": "500", "count": 1})
    reply = await harness.chat(5004, "en").ask("/start", wait=8)  # delivered on the retry
    assert "service desk" in reply["text"]
    await harness.post("/sandbox/faults", {"method": "sendMessage", "kind": "429", "count": 1,
                                           "retry_after": 1})
    reply = await harness.chat(5005, "en").ask("/start", wait=8)  # after retry_after
    assert "service desk" in reply["text"]
    text = hooked.metrics.render().decode()
    assert _metric(text, 'sdbot_bot_api_errors_total{code="network"}') == 1
    assert _metric(text, 'sdbot_bot_api_errors_total{code="429"}') == 1


async def test_readiness_fails_when_the_bot_api_is_down(harness: Harness) -> None:
    server = await start_instance(harness)
    try:
        await harness.sandbox.stop()
        checks = await server.check_ready()
        assert checks["database"] == "ok" and checks["bot_api"].startswith("error")
        assert checks["ok"] is False
    finally:
        await harness.sandbox.start()
        await server.stop()


async def test_graceful_shutdown_finishes_in_flight_and_flushes(harness: Harness) -> None:
    server = await start_instance(harness)
    await register(harness, [server])
    chats = [harness.chat(5100 + i, "en") for i in range(8)]
    await asyncio.gather(*(c.send("/start") for c in chats))
    for _ in range(100):  # all delivered to the webhook (stored), perhaps not yet processed
        if (await harness.get("/sandbox/stats"))["pending_updates"] == 0:
            break
        await asyncio.sleep(0.02)
    await server.stop()
    assert not server.accepting
    for c in chats:  # every update was processed and its reply sent before exit
        assert "service desk" in (await c.read(wait=0.5))[0]["text"]
    from storage.db import Database

    db = Database(harness.db_url)
    try:
        async with db.read() as s:
            pending = await s.scalar(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status != "done")
            )
            unsent = await s.scalar(
                select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != "sent"
                )
            )
    finally:
        await db.dispose()
    assert pending == 0 and unsent == 0


def test_derived_secret_is_stable_and_allowed_by_telegram() -> None:
    a, b = derive_secret("123:abc"), derive_secret("123:abc")
    assert a == b and a != derive_secret("123:abd")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,256}", a) and "123:abc" not in a
