"""End-to-end: ``/verify TICKET_NO [CUSTOMER_NO]`` — the desk confirms an unverified reporter in chat."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bot.core.i18n import render
from storage.models import TelegramUser, Ticket, TicketEvent
from tests.harness import Harness
from tests.support.flows import datas, joined, say, tap, to_summary

SUPERVISOR, ADMIN, ENGINEER = 2001, 9001, 1001


def _plain(template: str, locale: str = "zh", **ctx: Any) -> str:
    return re.sub(r"<[^>]+>", "", render(locale, template, **ctx))


async def _unverified_ticket(bot: Harness, uid: int, ident: str = "C1003") -> Ticket:
    chat = bot.chat(uid)
    summary = await to_summary(chat, ident=ident, phone=None, name="陈小姐")
    await tap(chat, summary, "rp:submit")
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.reporter_user_id == uid))
    assert ticket is not None and not ticket.verified
    return ticket


async def _state(bot: Harness, ticket_id: int, uid: int) -> tuple[Ticket, TelegramUser, list[TicketEvent]]:
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ticket = await s.get(Ticket, ticket_id)
        user = await s.get(TelegramUser, uid)
        events = list((await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                                       .order_by(TicketEvent.id))).all())
    assert ticket is not None and user is not None
    return ticket, user, events


async def test_supervisor_verifies_in_chat_and_the_customer_is_told(bot: Harness) -> None:
    ticket = await _unverified_ticket(bot, 5201)
    customer = bot.chat(5201)
    await customer.read(0.3)
    sup = bot.chat(SUPERVISOR)
    await say(sup, "/start")
    got = joined(await say(sup, f"/verify {ticket.number.lower()}"))  # case does not matter
    assert _plain("tickets/text#verify_done", number=ticket.number, customer="Nanshan Bistro 南山一号餐厅",
                  customer_number="C1003") in got
    stored, user, events = await _state(bot, ticket.id, 5201)
    assert stored.verified and stored.customer_label == "Nanshan Bistro 南山一号餐厅"
    assert user.verified and user.customer_id == stored.customer_id
    verified = [e for e in events if e.kind == "verified"]
    assert len(verified) == 1 and verified[0].data == {"customer": "C1003"} and verified[0].actor_id is not None
    notice = joined(await customer.read(3.0))
    assert _plain("tickets/text#verified_notice", customer="Nanshan Bistro 南山一号餐厅") in notice
    assert "Nanshan Bistro" in joined(await say(customer, "/whoami"))
    got = await say(customer, "/report")  # linked now: straight to the registered equipment
    assert len([d for d in datas(got, "rp:eq:") if d != "rp:eq:none"]) == 2


async def test_verify_for_another_customer_in_english(bot: Harness) -> None:
    ticket = await _unverified_ticket(bot, 5202)
    admin = bot.chat(ADMIN, "en")
    await say(admin, "/start")
    got = joined(await say(admin, f"/verify {ticket.number} C1001"))
    stored, user, _ = await _state(bot, ticket.id, 5202)
    assert stored.verified and stored.customer_label == "深圳市华南物流有限公司" and user.customer_id == stored.customer_id
    assert ticket.number in got and "C1001" in got


async def test_verify_bad_arguments_and_unknown_numbers(bot: Harness) -> None:
    ticket = await _unverified_ticket(bot, 5203)
    sup = bot.chat(SUPERVISOR)
    await say(sup, "/start")
    usage = _plain("tickets/text#verify_usage")
    assert usage in joined(await say(sup, "/verify"))
    assert usage in joined(await say(sup, f"/verify {ticket.number} C1001 extra"))
    got = joined(await say(sup, "/verify SD-2026-999999"))
    assert _plain("tickets/text#verify_failed", reason="ticket_not_found", number="SD-2026-999999") in got
    got = joined(await say(sup, f"/verify {ticket.number} C9999"))
    assert _plain("tickets/text#verify_failed", reason="customer_not_found", number=ticket.number,
                  customer="C9999") in got
    stored, user, events = await _state(bot, ticket.id, 5203)
    assert not stored.verified and not user.verified and "verified" not in [e.kind for e in events]


async def test_verify_names_no_customer(bot: Harness) -> None:
    ticket = await _unverified_ticket(bot, 5204, ident="完全不存在的某某公司")
    sup = bot.chat(SUPERVISOR)
    await say(sup, "/start")
    got = joined(await say(sup, f"/verify {ticket.number}"))
    assert _plain("tickets/text#verify_failed", reason="no_customer", number=ticket.number) in got


async def test_verify_is_refused_to_customers_and_engineers(bot: Harness) -> None:
    ticket = await _unverified_ticket(bot, 5205)
    refused = _plain("common/not_allowed")
    for uid in (5205, 5206, ENGINEER):
        chat = bot.chat(uid)
        await say(chat, "/start")
        assert refused in joined(await say(chat, f"/verify {ticket.number} C1003"))
    stored, user, _ = await _state(bot, ticket.id, 5205)
    assert not stored.verified and not user.verified
