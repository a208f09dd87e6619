"""Helpers for the dispatch / escalation end-to-end tests: tickets made through the domain."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.dispatch import routing as dispatch
from bot.tickets import lifecycle as tickets
from storage.models import Staff, Ticket, TicketEvent, Timer
from tests.harness import Chat, Harness

# demo staff (bot/demo.py): roster key -> sandbox user id
TG = {"zhang": 1001, "li": 1002, "wang": 1003, "zhao": 2001, "admin": 9001}
CUSTOMER = 5101
FAR = dt.timedelta(days=400)


def local(h: Harness, *args: int) -> dt.datetime:
    """A wall-clock time in the desk's zone."""
    return dt.datetime(*args, tzinfo=h.clock.tz)  # type: ignore[misc]


MONDAY_10 = (2026, 11, 23, 10, 0)  # office layer: li; rotation order zhang → li → wang
EVERYONE = ("customer", "zhang", "li", "wang", "zhao", "admin")


async def start_desk(
    h: Harness, *keys: str, when: tuple[int, ...] = MONDAY_10, lang: str = "zh", **start: Any
) -> dict[str, Chat]:
    """Set the clock to ``when`` (desk time), start the bot and let ``keys`` (default: everyone) greet it."""
    h.clock.set(local(h, *when))
    await h.start(**start)
    return await greet(h, *(keys or EVERYONE), lang=lang)


async def greet(h: Harness, *keys: str, lang: str = "zh") -> dict[str, Chat]:
    """Staff (and the customer, key ``customer``) open their chat with the bot, as in real life."""
    chats = {}
    for key in keys:
        chat = h.chat(CUSTOMER if key == "customer" else TG[key], lang)
        await chat.send("/start")
        await chat.read()
        chats[key] = chat
    return chats


async def open_ticket(
    h: Harness, *, reporter: int = CUSTOMER, symptom: str = "录像机没有画面，所有摄像头黑屏",
    photos: list[str] | None = None, sla: bool | None = True, customer_number: str = "C1001",
) -> tuple[int, str, dispatch.DispatchOutcome, float]:
    """Create a ticket and dispatch it in one unit of work (what intake does on submit).

    Returns (ticket id, number, outcome, perf_counter at the start of the unit of work).
    """
    from storage.models import Customer, Equipment

    app = h.app
    assert app is not None and app.sender is not None
    started = time.perf_counter()
    async with app.db.write() as session:
        now = h.clock.now()
        uow = uow_mod.UnitOfWork(session=session, now=now, claim_as=app.sender.instance)
        customer = await session.scalar(select(Customer).where(Customer.number == customer_number))
        eq = await session.scalar(select(Equipment).where(Equipment.customer_id == customer.id).limit(1))
        new = tickets.NewTicket(
            reporter_user_id=reporter, reporter_name="王小明", customer_label=customer.name,
            customer_id=customer.id, verified=True, equipment_id=eq.id,
            equipment_label=f"{eq.model} ({eq.serial})", category=eq.category, severity="down",
            symptom=symptom, photos=photos or [],
            # sla=False: due times far away, so no SLA alert interferes with what a test watches;
            # sla=None: none set, as if intake left them to dispatch (filled from the policy)
            first_response_due=None if sla is None else now + (dt.timedelta(hours=2) if sla else FAR),
            onsite_due=None if sla is None else now + (dt.timedelta(hours=4) if sla else FAR),
            fix_due=None if sla is None else now + (dt.timedelta(hours=24) if sla else FAR),
        )
        ticket = await tickets.open_ticket(session, new, now, h.clock.tz)
        outcome = await dispatch.dispatch(uow, app.desk, ticket)
        if app.runner is not None:  # the end of the transaction, as for an update (the staff group)
            await uow_mod.finish_safely(uow, app.runner.finish)
        ticket_id, number = ticket.id, ticket.number
    await app.sender.send_now(uow.outbox)
    return ticket_id, number, outcome, started


async def card_of(chat: Chat, number: str, wait: float = 5.0) -> dict[str, Any]:
    """Read until the dispatch card of ``number`` (with an Acknowledge button) arrives."""
    seen: list[str] = []
    for _ in range(3):
        for m in await chat.read(wait):
            if number in (m.get("text") or "") and any(
                b["data"].startswith("dp:ack:") for row in m.get("buttons") or [] for b in row
            ):
                return m
            seen.append(m.get("text") or "")
    raise AssertionError(f"no card of {number} for {chat.user_id}: {seen}")


async def texts(chat: Chat, wait: float = 1.0) -> list[str]:
    """Texts of what arrived (waits up to ``wait`` for the first)."""
    return [m.get("text") or "" for m in await chat.read(wait)]


async def wait_for(chat: Chat, needle: str, wait: float = 8.0) -> dict[str, Any]:
    """Read until a message containing ``needle`` arrives; return it."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        for m in await chat.read(max(0.1, deadline - loop.time())):
            if needle in (m.get("text") or ""):
                return m
            seen.append(m.get("text") or "")
    raise AssertionError(f"{needle!r} never reached {chat.user_id}; got {seen}")


async def acknowledge(chat: Chat, ticket_id: int, number: str) -> dict[str, Any]:
    """The engineer of ``chat`` presses Acknowledge on the dispatch card of ``number`` and is
    told it is theirs; returns the card."""
    card = await card_of(chat, number)
    await chat.press(card, f"dp:ack:{ticket_id}")
    await wait_for(chat, "已接单")
    return card


async def events(h: Harness, ticket_id: int) -> list[TicketEvent]:
    """The ticket's events in order."""
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
        )).all())


async def ticket(h: Harness, ticket_id: int) -> Ticket:
    """The ticket row as stored."""
    assert h.app is not None
    async with h.app.db.read() as s:
        row = await s.get(Ticket, ticket_id)
        assert row is not None
        return row


async def staff_id(h: Harness, key: str) -> int:
    assert h.app is not None
    async with h.app.db.read() as s:
        return int(await s.scalar(select(Staff.id).where(Staff.key == key)))


async def pending_timers(h: Harness, prefix: str) -> list[Timer]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(
            select(Timer).where(Timer.status == "pending", Timer.key.startswith(prefix)).order_by(Timer.due_at)
        )).all())


async def fire_due(h: Harness, settle: float = 0.0) -> int:
    """Fire every due timer now and deliver what they queued; the number of timers fired since
    the previous call, by this call or by the bot's own timer loop (which may get there first)."""
    assert h.app is not None and h.app.timers is not None
    timers = h.app.timers
    while await timers.fire_one():
        pass
    fired, h.timers_counted = timers.fired - h.timers_counted, timers.fired
    if settle:
        await asyncio.sleep(settle)
    return fired


async def advance_to(h: Harness, when: dt.datetime) -> int:
    """Move the clock to ``when`` and fire what came due."""
    h.clock.set(when)
    return await fire_due(h)


async def collect(chat: Chat, *needles: str, wait: float = 8.0) -> list[dict[str, Any]]:
    """Read until every needle has appeared in some message (new or edited); return all read."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline:
        got += await chat.read(max(0.1, deadline - loop.time()))
        if all(any(n in (m.get("text") or "") for m in got) for n in needles):
            return got
    raise AssertionError(f"{needles} not all in {[m.get('text') for m in got]}")
