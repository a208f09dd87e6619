"""Helpers for the security tests: database snapshots, reading every reply, demo secrets."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
from typing import Any

from sqlalchemy import select

from bot.core.i18n import render
from bot.demo import DEMO_CUSTOMERS
from storage.models import (
    CalendarDay,
    Contact,
    Conversation,
    Customer,
    Equipment,
    Invite,
    RosterOverride,
    Staff,
    TelegramUser,
    Ticket,
    TicketEvent,
)
from tests.harness import Chat, Harness
from tests.support.flows import collect, joined

# demo accounts (bot/demo.py) and the customers' sandbox ids used here
ENGINEER, ENGINEER2, ENGINEER3, SUPERVISOR, ADMIN = 1001, 1002, 1003, 2001, 9001
PHONE_A, PHONE_B = "+8613800000001", "+8613800000002"  # contacts of C1001 and C1002

_TAG = re.compile(r"<[^>]+>")
_STATE_MODELS = (Ticket, TicketEvent, Staff, Invite, Customer, Contact, Equipment, RosterOverride, Conversation,
                 CalendarDay)
_USER_COLUMNS = ("id", "staff_id", "customer_id", "contact_id", "verified", "phone", "locale")


def plain(template: str, locale: str = "zh", /, **ctx: Any) -> str:
    """A template as the user reads it (tags removed, entities decoded, trimmed)."""
    return html.unescape(_TAG.sub("", render(locale, template, **ctx))).strip()


def _row(obj: Any) -> tuple[Any, ...]:
    values = []
    for col in obj.__table__.columns:
        value = getattr(obj, col.key)
        if isinstance(value, dt.datetime):  # normalise zones: the same instant compares equal
            value = value.timestamp()
        values.append(repr(value))
    return tuple(values)


async def snapshot(h: Harness) -> dict[str, Any]:
    """Everything a refused action must leave alone (domain rows, links of accounts, flows)."""
    assert h.app is not None
    out: dict[str, Any] = {}
    async with h.app.db.read() as s:
        for model in _STATE_MODELS:
            out[model.__tablename__] = sorted(_row(r) for r in (await s.scalars(select(model))).unique().all())
        users = (await s.scalars(select(TelegramUser))).unique().all()
        out["tg_users"] = sorted(tuple(repr(getattr(u, c)) for c in _USER_COLUMNS) for u in users)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Table names whose content differs."""
    return [k for k in before if before[k] != after.get(k)]


async def replies(chat: Chat, wait: float = 5.0, quiet: float = 0.4) -> list[dict[str, Any]]:
    """Everything the bot sends in answer: wait for the first message, then until it is quiet."""
    return await collect(chat, wait, quiet)


def texts(msgs: list[dict[str, Any]]) -> str:
    """Every text, caption and button label of ``msgs``, one string."""
    return joined(msgs)


async def answers(h: Harness, user_id: int) -> list[dict[str, Any]]:
    """The callback-query answers the bot gave this user so far."""
    return (await h.get("/sandbox/callback_answers", user_id=user_id))["answers"]


async def press_answered(
    h: Harness, chat: Chat, message_id: int, data: str, *, forge: bool = False
) -> list[dict[str, Any]]:
    """Press ``data`` (a shown button, or forged data with ``forge=True``); wait until the press
    is answered; return the bot's messages."""
    before = len(await answers(h, chat.user_id))
    await chat.press(message_id, data, forge=forge)
    msgs = await replies(chat, quiet=0.1)
    for _ in range(50):
        if len(await answers(h, chat.user_id)) > before:
            return msgs
        await asyncio.sleep(0.05)
    raise AssertionError(f"press {data!r} of {chat.user_id} was never answered; replies {texts(msgs)!r}")


async def verify(h: Harness, chat: Chat, phone: str) -> None:
    """Link and verify a customer account as the desk would confirm it (the contact with ``phone``)."""
    await chat.send("/start")
    await replies(chat)
    assert h.app is not None
    async with h.app.db.write() as s:
        contact = await s.scalar(select(Contact).where(Contact.phone == phone))
        user = await s.get(TelegramUser, chat.user_id)
        assert contact is not None and user is not None
        user.customer_id, user.contact_id, user.verified, user.phone = contact.customer_id, contact.id, True, phone


def registered_secrets(number: str, *, with_name: bool = True) -> list[str]:
    """What an unverified person must not learn about demo customer ``number``."""
    c = next(c for c in DEMO_CUSTOMERS if c["number"] == number)
    found = [c["address"], c["district"] + "区"]
    found += [name for name, _ in c["contacts"]] + [phone for _, phone in c["contacts"]]
    for serial, model, *_ in c["equipment"]:
        found += [serial, model]
    if c["maintenance_paid_until"]:
        found.append(c["maintenance_paid_until"].isoformat())
    found += [plain(f"answers/labels#contract_{c['contract_type']}", loc) for loc in ("zh", "en")]
    if with_name:
        found.append(c["name"])
    return found


async def ticket_numbers(h: Harness, customer_number: str) -> list[str]:
    """Numbers of every ticket of a demo customer."""
    assert h.app is not None
    async with h.app.db.read() as s:
        cid = await s.scalar(select(Customer.id).where(Customer.number == customer_number))
        return list((await s.scalars(select(Ticket.number).where(Ticket.customer_id == cid))).all())


async def make_ticket(
    h: Harness, *, reporter: int, reporter_name: str = "王小明", symptom: str = "录像机没有画面，所有摄像头黑屏",
    customer_number: str = "C1001", equipment_label: str | None = None, dispatch_it: bool = True,
) -> tuple[int, str]:
    """A ticket made through the domain (as intake does on submit), dispatched; (id, number)."""
    from bot.core import uow as uow_mod
    from bot.dispatch import routing as dispatch
    from bot.tickets import lifecycle as tickets

    app = h.app
    assert app is not None and app.sender is not None
    far = dt.timedelta(days=400)  # no SLA alert interferes
    async with app.db.write() as session:
        now = h.clock.now()
        uow = uow_mod.UnitOfWork(session=session, now=now, claim_as=app.sender.instance)
        customer = await session.scalar(select(Customer).where(Customer.number == customer_number))
        assert customer is not None
        eq = await session.scalar(select(Equipment).where(Equipment.customer_id == customer.id).limit(1))
        assert eq is not None
        new = tickets.NewTicket(
            reporter_user_id=reporter, reporter_name=reporter_name, customer_label=customer.name,
            customer_id=customer.id, verified=True, equipment_id=eq.id,
            equipment_label=equipment_label or f"{eq.model} ({eq.serial})", category=eq.category,
            severity="down", symptom=symptom, first_response_due=now + far, onsite_due=now + far, fix_due=now + far,
        )
        ticket = await tickets.open_ticket(session, new, now, h.clock.tz)
        if dispatch_it:
            await dispatch.dispatch(uow, app.desk, ticket)
        ticket_id, number = ticket.id, ticket.number
    await app.sender.send_now(uow.outbox)
    return ticket_id, number


async def set_status(h: Harness, ticket_id: int, status: str) -> None:
    """Put a ticket straight into ``status`` (test set-up only)."""
    assert h.app is not None
    async with h.app.db.write() as s:
        row = await s.get(Ticket, ticket_id)
        assert row is not None
        row.status = status


async def dispatched_to(h: Harness, chats: Any, number: str) -> int:
    """The user id of the engineer whose chat got the dispatch card of ``number``."""
    return (await dispatch_card(h, chats, number))[0]


async def dispatch_card(h: Harness, chats: Any, number: str) -> tuple[int, dict[str, Any]]:
    """(engineer's user id, the dispatch card of ``number``) from whichever chat got it."""
    for _ in range(20):
        for chat in chats:
            for m in await chat.read(0.2):
                if number in (m.get("text") or "") and "dp:ack:" in str(m.get("buttons")):
                    return chat.user_id, m
    raise AssertionError(f"no dispatch card for {number}")
