"""Two instances behind a round-robin "load balancer" sharing one PostgreSQL database.

Customers talk through both instances (consecutive updates of one chat land on different
instances), tickets are dispatched from both, one instance is killed mid-work, the clock runs past
the acknowledgement timeouts: every update is answered once and in order, and every ticket,
dispatch and escalation exists exactly once. A second test walks the full fault-report
conversation of eight customers over both instances, killing one of them mid-way.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

import bot.core.uow
import bot.runtime.outbox
from bot.runtime.webhook import WebhookServer
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage, Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.dispatchkit import greet, local, open_ticket
from tests.support.instances import register, start_instance

pytestmark = pytest.mark.postgres

CLAIM = 1.0  # seconds before a dead instance's claims fall to the survivor
EN, ZH = "Language set to English.", "语言已切换为简体中文。"


@pytest.fixture
def short_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.core.uow, "DIRECT_CLAIM", dt.timedelta(seconds=CLAIM))
    monkeypatch.setattr(bot.runtime.outbox, "CLAIM_SECONDS", CLAIM)


async def _lang_ping_pong(chat: Chat, rounds: int) -> list[str]:
    """Send /lang en, /lang zh … without waiting; return the replies (they must alternate)."""
    for n in range(rounds):
        await chat.send("/lang en" if n % 2 == 0 else "/lang zh")
    got: list[str] = []
    for _ in range(rounds * 2):
        got += [m["text"] for m in await chat.read(4)]
        if len(got) >= rounds:
            break
    return got


def _expected(rounds: int) -> list[str]:
    return [EN if n % 2 == 0 else ZH for n in range(rounds)]


async def _open_tickets(h: Harness, server: WebhookServer, count: int) -> list[str]:
    h.app = server.desk_app  # dispatchkit creates tickets with the harness's current app
    try:
        return [(await open_ticket(h, reporter=5400 + n))[1] for n in range(count)]
    finally:
        h.app = None


async def _shared_state(db_url: str) -> tuple[list[Ticket], list[TicketEvent], int, int]:
    db = Database(db_url)
    try:
        async with db.read() as s:
            tickets = list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())
            events = list((await s.scalars(select(TicketEvent).order_by(TicketEvent.id))).all())
            inbox_left = len((await s.scalars(
                select(InboxUpdate.update_id).where(InboxUpdate.status == "pending"))).all())
            outbox_left = len((await s.scalars(
                select(OutboxMessage.id).where(OutboxMessage.status != "sent"))).all())
    finally:
        await db.dispose()
    return tickets, events, inbox_left, outbox_left


async def _until(predicate, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.1)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def test_two_instances_share_work_and_survive_one_dying(
    harness: Harness, short_claims: None
) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))  # Monday office hours: li dispatches
    a = await start_instance(harness, claim_seconds=CLAIM)
    b = await start_instance(harness, claim_seconds=CLAIM)
    servers = [a, b]
    await register(harness, servers)
    try:
        staff = await greet(harness, "zhang", "li", "wang", "zhao")
        # both instances take updates; one chat's updates stay in order across instances
        customers = [harness.chat(5200 + n, "zh") for n in range(6)]
        replies = await asyncio.gather(*(_lang_ping_pong(c, 6) for c in customers))
        assert all(r == _expected(6) for r in replies), replies
        assert a.received > 0 and b.received > 0
        first = await _open_tickets(harness, a, 3) + await _open_tickets(harness, b, 3)

        # instance A dies while customers are mid-conversation and tickets are being dispatched
        flows = [asyncio.create_task(_lang_ping_pong(c, 6)) for c in customers]
        second = asyncio.create_task(_open_tickets(harness, a, 3))
        await asyncio.sleep(0.15)
        await a.kill()
        with contextlib.suppress(Exception):  # creating tickets on A may die with it
            await second
        replies = await asyncio.gather(*flows)
        assert all(r == _expected(6) for r in replies), replies
        later = await _open_tickets(harness, b, 3)

        # nobody acknowledges: the survivor fires two ack timeouts per ticket (remind, escalate)
        tickets, _, _, _ = await _shared_state(harness.db_url)
        n = len(tickets)
        assert {*first, *later} <= {t.number for t in tickets} and 12 <= n <= 15
        assert len({t.number for t in tickets}) == n
        for step in (1, 2):
            harness.clock.advance(dt.timedelta(minutes=16))
            assert b.desk_app.timers is not None
            b.desk_app.timers.wake.set()

            async def fired(step: int = step) -> bool:
                _, evs, _, _ = await _shared_state(harness.db_url)
                kinds = Counter(e.kind for e in evs)
                return kinds["reminder"] + kinds["escalated"] >= n * step

            await _until(fired)

        async def drained() -> bool:
            _, _, inbox_left, outbox_left = await _shared_state(harness.db_url)
            return inbox_left == 0 and outbox_left == 0

        await _until(drained)
        tickets, events, _, _ = await _shared_state(harness.db_url)
        for t in tickets:
            kinds = Counter(e.kind for e in events if e.ticket_id == t.id)
            assert kinds["dispatched"] == 2, (t.number, kinds)  # first card, escalation card
            assert kinds["reminder"] == 1 and kinds["escalated"] == 1, (t.number, kinds)
        # the engineers got each ticket's card, reminder and escalation card (none lost)
        seen = Counter()
        for chat in staff.values():
            for m in await chat.read(1):
                for t in tickets:
                    if t.number in (m.get("text") or ""):
                        seen[t.number] += 1
        assert all(seen[t.number] >= 3 for t in tickets), seen
    finally:
        for s in servers:
            if s.accepting:
                await s.stop()
        harness.sandbox.webhook_targets = []


async def test_two_instances_full_fault_reports_with_one_killed(
    harness: Harness, short_claims: None, tmp_path: Path
) -> None:
    """The real fault-report conversation, spread over two instances; A dies mid-way."""
    from benchmarks.common import Api, Customer, independent_faults_policy, report

    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    policy = independent_faults_policy(tmp_path)  # eight faults, not one linked eight times
    a = await start_instance(harness, claim_seconds=CLAIM, policy_file=policy)
    b = await start_instance(harness, claim_seconds=CLAIM, policy_file=policy)
    await register(harness, [a, b])
    api = Api(harness.sandbox.url)
    try:
        await greet(harness, "zhang", "li", "wang", "zhao")
        first = [Customer(5500 + n) for n in range(4)]
        await asyncio.gather(*(report(api, c, timeout=30) for c in first))
        assert a.received > 0 and b.received > 0
        second = [Customer(5600 + n) for n in range(4)]
        flows = asyncio.gather(*(report(api, c, timeout=30) for c in second))
        await asyncio.sleep(0.3)
        await a.kill()  # mid-conversation: its claimed updates and unsent replies go to B
        await flows
        customers = first + second
        assert all(c.ticket for c in customers), [(c.user_id, c.step, c.errors) for c in customers]

        async def settled() -> bool:
            _, _, inbox_left, outbox_left = await _shared_state(harness.db_url)
            return inbox_left == 0 and outbox_left == 0

        await _until(settled)
        tickets, events, _, _ = await _shared_state(harness.db_url)
        assert sorted(t.number for t in tickets) == sorted(c.ticket for c in customers)
        assert {t.reporter_user_id for t in tickets} == {c.user_id for c in customers}
        for t in tickets:  # each report made one ticket, dispatched once, not escalated yet
            kinds = Counter(e.kind for e in events if e.ticket_id == t.id)
            assert kinds["dispatched"] == 1 and kinds["escalated"] == 0, (t.number, kinds)
    finally:
        await api.close()
        for s in (a, b):
            if s.accepting:
                await s.stop()
        harness.sandbox.webhook_targets = []
