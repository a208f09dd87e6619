"""Escalation beyond Telegram through Apprise (issue 18.1), for real: Apprise's ``json://`` scheme
against a local aiohttp endpoint. An unacknowledged ticket reaches the endpoint at the step the
policy says (and the supervisors only outside office hours); a dead endpoint does not hold up the
Telegram card, is retried and given up with a log line that shows no URL secret; bad URLs are
refused with one line; ``/staff`` and ``sdbot staff list`` show them masked."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.core.logs import RedactFilter
from bot.rules.policy import DEFAULT_POLICY
from bot.runtime.metrics import Metrics
from bot.staff import channels
from storage.models import ChannelDelivery, Staff
from tests.harness import Harness
from tests.support.dispatchkit import card_of, fire_due, open_ticket, start_desk, wait_for

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hook-s3cret-9f2c"  # a path part that stands for a channel's key: never in a log line
STEP = dt.timedelta(minutes=15)  # policy dispatch.ack_timeout_minutes


class Endpoint:
    """A local HTTP endpoint recording what Apprise's ``json://`` posts, by path."""

    def __init__(self) -> None:
        self.got: list[tuple[str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _post(self, request: web.Request) -> web.Response:
        self.got.append((request.path, await request.json()))
        self.arrived.set()
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._post)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.got if p == f"/{path}"]

    async def wait(self, path: str, timeout: float = 30.0) -> dict[str, Any]:
        """The first message posted to ``path`` (waits for it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.at(path):
            self.arrived.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"nothing posted to /{path}; got {self.got}")
            try:
                async with asyncio.timeout(left):
                    await self.arrived.wait()
            except TimeoutError:
                pass
        return self.at(path)[0]


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = Endpoint()
    await ep.start()
    yield ep
    assert ep.runner is not None
    await ep.runner.cleanup()


def dead_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def sdbot(h: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``sdbot`` command line against the test database."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", *args], cwd=ROOT, env=h.env(),
        capture_output=True, text=True, timeout=120,
    )


async def deliveries(h: Harness) -> list[ChannelDelivery]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(ChannelDelivery).order_by(ChannelDelivery.id))).all())


async def quiet_for(ep: Endpoint, path: str, h: Harness) -> None:
    """Nothing is queued for ``path``'s owner and nothing arrived there (rows are written in the
    step's own transaction, so an empty table after the step is proof)."""
    assert ep.at(path) == []
    assert all(r.status != "pending" for r in await deliveries(h))


async def test_bad_urls_are_refused_with_one_line_and_shown_masked(harness: Harness, endpoint: Endpoint) -> None:
    bad = await sdbot(harness, "staff", "notify", "li", "nosuchscheme://abc/def")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "not one Apprise knows" in bad.stderr, bad.stderr
    assert "abc/def" not in bad.stderr  # even a bad URL is shown masked
    ok = await sdbot(harness, "staff", "notify", "li", endpoint.url(SECRET))
    assert ok.returncode == 0, ok.stderr
    assert SECRET not in ok.stdout and "json://127…" in ok.stdout
    listed = await sdbot(harness, "staff", "list")
    assert "notify: json://127…" in listed.stdout and SECRET not in listed.stdout

    c = await start_desk(harness, "admin")
    shown = await c["admin"].ask("/staff")
    assert "通知：json://127…" in shown["text"] and SECRET not in shown["text"], shown["text"]


async def test_unacknowledged_ticket_reaches_apprise_at_the_policy_step(harness: Harness, endpoint: Endpoint) -> None:
    # default policy: dispatch and reminder Telegram only; next engineer Telegram + Apprise;
    # supervisors Telegram + Apprise outside office hours only
    for key in ("li", "wang", "zhao"):
        assert (await sdbot(harness, "staff", "notify", key, endpoint.url(f"{key}-{SECRET}"))).returncode == 0
    c = await start_desk(harness)  # Monday 10:00, office layer: li, next in rotation: wang
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    await quiet_for(endpoint, f"li-{SECRET}", harness)

    harness.clock.set(t0 + STEP + dt.timedelta(seconds=1))
    assert await fire_due(harness) == 1
    await wait_for(c["li"], "提醒")
    await quiet_for(endpoint, f"li-{SECRET}", harness)  # the reminder: Telegram only

    harness.clock.set(t0 + 2 * STEP + dt.timedelta(seconds=2))
    assert await fire_due(harness) == 1
    await card_of(c["wang"], number)
    got = await endpoint.wait(f"wang-{SECRET}")
    assert number in got["title"] and number in got["message"]
    assert "深圳市华南物流有限公司" in got["message"] and "全部瘫痪" in got["message"]  # customer, severity
    assert "接单" in got["message"]  # how to acknowledge
    assert endpoint.at(f"li-{SECRET}") == []

    harness.clock.set(t0 + 3 * STEP + dt.timedelta(seconds=3))
    assert await fire_due(harness) == 1
    await wait_for(c["zhao"], number)
    # rows are written in the step's own transaction: none for zhao in office hours
    assert [r.ref for r in await deliveries(harness)] == [f"ticket:{tid}:next"]
    assert endpoint.at(f"zhao-{SECRET}") == []


async def test_supervisors_get_apprise_outside_office_hours(harness: Harness, endpoint: Endpoint) -> None:
    assert (await sdbot(harness, "staff", "notify", "zhao", endpoint.url(f"zhao-{SECRET}"))).returncode == 0
    c = await start_desk(harness, when=(2026, 11, 23, 19, 0))  # Monday evening: out-of-office duty
    t0 = harness.clock.now()
    tid, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None
    for n in (1, 2, 3):  # reminder, next engineer, supervisors
        harness.clock.set(t0 + n * STEP + dt.timedelta(seconds=n))
        assert await fire_due(harness) == 1
    await wait_for(c["zhao"], number)
    got = await endpoint.wait(f"zhao-{SECRET}")
    assert "升级" in got["title"] and number in got["message"]


async def test_dead_endpoint_does_not_delay_telegram_and_is_retried_then_given_up(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert text.count('dispatch = ["telegram"]') == 1
    policy.write_text(text.replace('dispatch = ["telegram"]', 'dispatch = ["telegram", "apprise"]'), encoding="utf-8")
    dead = f"json://127.0.0.1:{dead_port()}/{SECRET}"
    assert (await sdbot(harness, "staff", "notify", "li", dead)).returncode == 0
    caplog.set_level(logging.WARNING, logger="bot.runtime.apprise_sender")
    c = await start_desk(harness, policy_file=policy)
    assert harness.app is not None and harness.app.apprise is not None

    started = time.perf_counter()
    _, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    card_after = time.perf_counter() - started
    assert card_after < 5.0, card_after  # the Telegram card never waits for the channel

    async def attempts_reach(n: int) -> ChannelDelivery:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            rows = await deliveries(harness)
            if rows and rows[0].attempts >= n:
                return rows[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"attempt {n} never made: {rows}")

    row = await attempts_reach(1)
    assert row.status == "pending" and row.next_attempt_at > harness.clock.now()  # retried later
    for n in range(2, harness.app.apprise.max_attempts + 1):
        harness.clock.set(row.next_attempt_at + dt.timedelta(seconds=1))
        row = await attempts_reach(n)
    assert row.status == "dead"

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.runtime.apprise_sender"]
    given_up = [line for line in lines if "given up" in line]
    assert len(given_up) == 1 and "staff li" in given_up[0] and "json://127…" in given_up[0], lines
    assert all(SECRET not in line for line in lines), lines
    # the Apprise library's own records pass the redaction filter without the URL
    record = logging.LogRecord("apprise", logging.WARNING, __file__, 1, "failed to send to %s", (dead,), None)
    RedactFilter().filter(record)
    assert SECRET not in record.getMessage() and "json://<redacted>" in record.getMessage()

    metrics = Metrics()
    await metrics.refresh(harness.app.db, harness.clock.now())
    assert metrics.registry.get_sample_value("sdbot_channel_deliveries", {"status": "dead"}) == 1
    failures = metrics.registry.get_sample_value("sdbot_channel_delivery_failures")
    assert failures == harness.app.apprise.max_attempts

    async with harness.app.db.read() as s:
        li = await s.scalar(select(Staff).where(Staff.key == "li"))
    assert li is not None and channels.masked(li) == ["json://127…"]


@pytest.mark.parametrize(("channels_line", "problem"), [
    ('next = ["apprise"]', 'escalation.channels.next: must include "telegram"'),
    ('next = ["telegram", "sms"]', "escalation.channels.next.1"),
])
def test_policy_step_channels_are_checked(tmp_path: Path, channels_line: str, problem: str) -> None:
    from bot.rules.policy import PolicyError, load_policy

    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert text.count('next = ["telegram", "apprise"]') == 1
    bad = tmp_path / "policy.toml"
    bad.write_text(text.replace('next = ["telegram", "apprise"]', channels_line), encoding="utf-8")
    with pytest.raises(PolicyError, match=problem.replace(".", r"\.")):
        load_policy(bad)
