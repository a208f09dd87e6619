"""Dispatch cards and supervisor alerts: the one place that renders them (no Telegram).

A card (or alert) is an outbox message with ``ref="dispatch:<ticket id>"``; its buttons carry
``dp:<action>:<ticket id>``. Editing every card of a ticket, and finding who holds one, go by that
ref.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.core.i18n import render
from bot.core.notify import locale_of, tell
from bot.rules import qa_facts
from bot.staff.lookup import active_staff
from storage.models import Contact, Customer, Equipment, OutboxMessage, Staff, TelegramUser, Ticket

MANAGER_ROLES = ("supervisor", "admin")



def card_buttons(
    locale: str, ticket_id: int, acknowledged: bool, *, holder: bool = False, paused: bool = False
) -> uow_mod.Buttons:
    """The dispatch card's buttons (before and after acknowledgement); the holding engineer's
    card also pauses the SLA clock (waiting for the customer / for parts or payment) or resumes it."""
    def label(name: str) -> str:
        return render(locale, f"dispatch/labels#{name}")

    work = [(label("contact"), f"dp:contact:{ticket_id}"), (label("resolve"), f"dp:resolve:{ticket_id}")]
    if acknowledged:
        rows = [work]
        if holder and paused:
            rows.append([(label("resume"), f"dp:resume:{ticket_id}")])
        elif holder:
            rows.append([(label("pause_customer"), f"dp:pause_customer:{ticket_id}"),
                         (label("pause_parts"), f"dp:pause_parts:{ticket_id}")])
        return [*rows, [(label("handover"), f"dp:handover:{ticket_id}")]]
    return [[(label("ack"), f"dp:ack:{ticket_id}")], work, [(label("handover"), f"dp:handover:{ticket_id}")]]



def warranty_stage(desk: Any, equipment: Any, today: dt.date) -> str | None:
    """The warranty stage (return/exchange/repair/expired) of ``equipment`` today, from the policy."""
    if equipment is None:
        return None
    try:
        out = qa_facts.warranty_stage(
            desk.policy, equipment.kind, equipment.start_event, equipment.start_event_date, today
        )
    except Exception:  # the policy lacks the keys: the card goes out without a stage
        return None
    return str(out["stage"])



async def card_context(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket) -> dict[str, Any]:
    """Everything the dispatch card shows."""
    customer = await uow.session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    equipment = await uow.session.get(Equipment, ticket.equipment_id) if ticket.equipment_id else None
    reporter = await uow.session.get(TelegramUser, ticket.reporter_user_id)
    phone = reporter.phone if reporter is not None else None
    if phone is None and ticket.verified and ticket.customer_id:
        phone = await uow.session.scalar(
            select(Contact.phone).where(
                Contact.customer_id == ticket.customer_id, Contact.name == ticket.reporter_name
            ).limit(1)
        )
    tz = uow.now.tzinfo
    return {
        "t": ticket,
        "customer": customer,
        "phone": phone,
        "zone": customer.zone if customer else None,
        "warranty": warranty_stage(desk, equipment, uow.now.date()),
        "due_first": ticket.first_response_due.astimezone(tz) if ticket.first_response_due else None,
        "due_onsite": ticket.onsite_due.astimezone(tz) if ticket.onsite_due else None,
        "due_fix": ticket.fix_due.astimezone(tz) if ticket.fix_due else None,
        "paused_since": ticket.paused_at.astimezone(tz) if ticket.paused_at else None,
        "pause_reason": ticket.pause_reason,
        "created": ticket.created_at.astimezone(tz),
        "photos": len(ticket.photos or []),
    }



async def send_card(
    uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, engineer: Staff, *, reason: str | None,
    note: str | None = None,
) -> None:
    """The dispatch card (and up to five of the ticket's photos) to ``engineer``."""
    assert engineer.telegram_user_id is not None
    default = desk.settings.default_locale
    locale = await locale_of(uow.session, engineer.telegram_user_id, default)
    ctx = await card_context(uow, desk, ticket)
    text = render(locale, "dispatch/text#card", reason=reason, note=note, **ctx)
    uow.send(
        engineer.telegram_user_id, text, buttons=card_buttons(locale, ticket.id, False),
        priority=uow_mod.PRIORITY_URGENT, ref=f"dispatch:{ticket.id}",
    )
    for file_id in (ticket.photos or [])[:5]:
        uow.queue(
            engineer.telegram_user_id, "sendPhoto",
            {"chat_id": engineer.telegram_user_id, "photo": file_id, "caption": ticket.number},
            priority=uow_mod.PRIORITY_URGENT,
        )



async def supervisors(uow: uow_mod.UnitOfWork) -> list[Staff]:
    """Active, registered supervisors and admins."""
    return [
        s for s in await active_staff(uow.session)
        if s.role in MANAGER_ROLES and s.telegram_user_id is not None
    ]



async def alert_supervisors(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, template: str, **extra: Any) -> int:
    """Send ``template`` with the ticket's card context and buttons to every supervisor and admin."""
    ctx = await card_context(uow, desk, ticket)
    sent = 0
    for sup in await supervisors(uow):
        assert sup.telegram_user_id is not None
        await tell(
            uow, sup.telegram_user_id, template, default_locale=desk.settings.default_locale,
            buttons_of=lambda loc: card_buttons(loc, ticket.id, ticket.status != "dispatched"),
            priority=uow_mod.PRIORITY_URGENT, ref=f"dispatch:{ticket.id}", **ctx, **extra,
        )
        sent += 1
    return sent



async def is_card(uow: uow_mod.UnitOfWork, chat_id: int, message_id: int | None, ticket_id: int) -> bool:
    """True when ``message_id`` in ``chat_id`` is a dispatch card (or alert) of ``ticket_id`` that
    the bot sent there: a button's data must belong to the message it was pressed on."""
    if message_id is None:
        return False
    found = await uow.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id,
            OutboxMessage.ref == f"dispatch:{ticket_id}",
        ).limit(1)
    )
    return found is not None



async def card_holders(uow: uow_mod.UnitOfWork, ticket_id: int) -> list[int]:
    """The chats that were sent a dispatch card (or supervisor alert) of the ticket."""
    rows = await uow.session.scalars(
        select(OutboxMessage.chat_id).where(OutboxMessage.ref == f"dispatch:{ticket_id}").distinct()
    )
    return list(rows.all())



async def edit_cards(
    uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, outcome: str, name: str, *,
    keep_for: int | None = None, only: int | None = None,
) -> None:
    """Edit the dispatch cards of ``ticket`` to show ``outcome`` (taken/handed_over/resolved/
    cancelled) by ``name``; the chat ``keep_for`` keeps the work buttons (every other card loses
    them); ``only`` limits the edit to one chat."""
    ctx = await card_context(uow, desk, ticket)
    for chat_id in await card_holders(uow, ticket.id):
        if only is not None and chat_id != only:
            continue
        locale = await locale_of(uow.session, chat_id, desk.settings.default_locale)
        text = render(locale, "dispatch/text#card", reason=None, note=None, outcome=outcome, by=name, **ctx)
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if chat_id == keep_for:
            payload["reply_markup"] = uow_mod.inline_keyboard(
                card_buttons(locale, ticket.id, True, holder=True, paused=ticket.paused_at is not None)
            )
        uow.queue(
            chat_id, "editMessageText", payload, priority=uow_mod.PRIORITY_URGENT, edit_ref=f"dispatch:{ticket.id}",
        )


async def alert_complaint(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket) -> None:
    """Complaints go to a supervisor: tell every active, registered supervisor at once."""
    for staff in await active_staff(uow.session, "supervisor"):
        if staff.telegram_user_id:
            await tell(
                uow, staff.telegram_user_id, "answers/text#complaint_alert",
                default_locale=desk.settings.default_locale, priority=uow_mod.PRIORITY_URGENT,
                number=ticket.number, customer=ticket.customer_label, text=ticket.symptom[:300],
            )
