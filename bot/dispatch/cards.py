"""Dispatch cards and supervisor alerts: the one place that renders them (no Telegram).

A card is an outbox message with ``ref="dispatch:<ticket id>"``; its buttons carry
``dp:<action>:<ticket id>``. Editing every card of a ticket, and finding who holds one, go by that
ref. An alert (escalation, complaint, rating, SLA breach) has its own ``ref="alert:<ticket id>"``,
so a later edit of the ticket's cards never replaces it; supervisors' alerts carry an *Assign*
button (``as:menu:<ticket id>``), whose engineer menu is ``ref="assign:<ticket id>"``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import render
from bot.core.notify import locale_of, tell
from bot.core.roles import MANAGERS
from bot.rules import qa_facts
from bot.staff.lookup import active_staff
from bot.tickets import attachments
from bot.tickets import lifecycle as tickets
from storage.models import (
    Contact,
    Customer,
    Equipment,
    OutboxMessage,
    Staff,
    TelegramUser,
    Ticket,
    TicketEvent,
)

if TYPE_CHECKING:
    from bot.desk import Desk

FORWARD_MAX = attachments.MAX_PER_REPORT  # a report's files all follow its card


def card_ref(ticket_id: int) -> str:
    """The outbox ref of a ticket's dispatch cards (the ones edited as the ticket moves on)."""
    return f"dispatch:{ticket_id}"


def alert_ref(ticket_id: int) -> str:
    """The outbox ref of a ticket's alerts (never edited by a card edit)."""
    return f"alert:{ticket_id}"


def relay_in_ref(ticket_id: int) -> str:
    """The outbox ref of what staff are sent about a ticket's conversation with its customer (the
    customer's messages and files, the "sent" confirmations): replying to one writes to the customer."""
    return f"relay-in:{ticket_id}"


def assign_ref(ticket_id: int) -> str:
    """The outbox ref of a ticket's engineer menu (the Assign button's answer)."""
    return f"assign:{ticket_id}"


def card_buttons(
    locale: str, ticket_id: int, acknowledged: bool, *, holder: bool = False, paused: bool = False
) -> uow_mod.Buttons:
    """The dispatch card's buttons (before and after acknowledgement); once acknowledged also
    *Message customer*, *Canned reply* and *Internal note* (handlers/relay.py); the holding
    engineer's card also pauses the SLA clock (waiting for the customer / for parts or payment) or
    resumes it."""
    def label(name: str) -> str:
        return render(locale, f"dispatch/labels#{name}")

    def relay(name: str) -> tuple[str, str]:
        return render(locale, f"relay/labels#{name}"), encode("rl", name, ticket_id)

    work = [(label("contact"), encode("dp", "contact", ticket_id)), (label("resolve"), encode("dp", "resolve", ticket_id))]
    if acknowledged:  # held: the holder (or a supervisor) also writes to the customer and adds notes
        rows = [work, [relay("msg"), relay("canned")]]
        if holder and paused:
            rows.append([(label("resume"), encode("dp", "resume", ticket_id))])
        elif holder:
            rows.append([(label("pause_customer"), encode("dp", "pause_customer", ticket_id)),
                         (label("pause_parts"), encode("dp", "pause_parts", ticket_id))])
        return [*rows, [relay("note"), (label("handover"), encode("dp", "handover", ticket_id))]]
    return [[(label("ack"), encode("dp", "ack", ticket_id))], work, [(label("handover"), encode("dp", "handover", ticket_id))]]


def topic_card_buttons(locale: str, ticket: Ticket) -> uow_mod.Buttons:
    """The card's buttons in the ticket's staff-group topic while the ticket is open (everyone there
    sees them; who may act is checked on each press), none once it is finished."""
    if ticket.status not in tickets.OPEN_STATES:
        return []
    return card_buttons(locale, ticket.id, ticket.status not in ("new", "dispatched"))


def alert_buttons(locale: str, ticket_id: int, acknowledged: bool) -> uow_mod.Buttons:
    """A supervisor's alert: the card's buttons plus *Assign*."""
    return [*card_buttons(locale, ticket_id, acknowledged),
            [(render(locale, "dispatch/labels#assign"), encode("as", "menu", ticket_id))]]



def warranty_stage(desk: Desk, equipment: Any, today: dt.date) -> str | None:
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



async def card_context(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> dict[str, Any]:
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
        "attached": attachments.counts(attachments.on_ticket(ticket)),
        "possible_duplicate": await _possible_duplicate(uow, ticket.id),
    }


async def _possible_duplicate(uow: uow_mod.UnitOfWork, ticket_id: int) -> str | None:
    """The open ticket an unverified report may duplicate (``bot.tickets.duplicates``: "flag")."""
    data = await uow.session.scalar(
        select(TicketEvent.data).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "possible_duplicate")
        .order_by(TicketEvent.id.desc()).limit(1)
    )
    return str(data.get("of")) if isinstance(data, dict) and data.get("of") else None


def forward_attachments(
    uow: uow_mod.UnitOfWork, chat_id: int, number: str, items: list[attachments.Attachment],
    *, ref: str | None = None, topic: int | None = None,
) -> None:
    """Re-send ``items`` to ``chat_id`` by file id, each captioned with the ticket number (and a
    document's name). The card's text counts them all, so one Telegram refuses is still known.
    ``topic``: into that ticket's staff-group topic."""
    for item in items[:FORWARD_MAX]:
        caption = f"{number} · {item.name}" if item.name else number
        method, payload = attachments.forward_payload(chat_id, item, caption)
        uow.queue(chat_id, method, payload, priority=uow_mod.PRIORITY_URGENT, ref=ref, topic=topic)



async def send_card(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, engineer: Staff, *, reason: str | None,
    note: str | None = None,
) -> None:
    """The dispatch card (and the ticket's attachments after it) to ``engineer``."""
    assert engineer.telegram_user_id is not None
    default = desk.settings.default_locale
    locale = await locale_of(uow.session, engineer.telegram_user_id, default)
    ctx = await card_context(uow, desk, ticket)
    text = render(locale, "dispatch/text#card", reason=reason, note=note, **ctx)
    uow.send(
        engineer.telegram_user_id, text, buttons=card_buttons(locale, ticket.id, False),
        priority=uow_mod.PRIORITY_URGENT, ref=card_ref(ticket.id),
    )
    forward_attachments(uow, engineer.telegram_user_id, ticket.number, attachments.on_ticket(ticket))



async def supervisors(uow: uow_mod.UnitOfWork) -> list[Staff]:
    """Active, registered supervisors and admins."""
    return [
        s for s in await active_staff(uow.session)
        if s.role in MANAGERS and s.telegram_user_id is not None
    ]



async def alert_supervisors(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, template: str, **extra: Any) -> int:
    """Send ``template`` with the ticket's card context and buttons (and *Assign*) to every
    supervisor and admin; returns how many were told."""
    ctx = await card_context(uow, desk, ticket)
    sent = 0
    for sup in await supervisors(uow):
        assert sup.telegram_user_id is not None
        await tell(
            uow, sup.telegram_user_id, template, default_locale=desk.settings.default_locale,
            buttons_of=lambda loc: alert_buttons(loc, ticket.id, ticket.status != "dispatched"),
            priority=uow_mod.PRIORITY_URGENT, ref=alert_ref(ticket.id), **ctx, **extra,
        )
        sent += 1
    return sent


async def alert_holder(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, template: str, **extra: Any) -> bool:
    """Send ``template`` with the card context and buttons to the engineer holding the ticket
    (not when that is a supervisor, who is told as one); True when sent."""
    holder = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    if holder is None or not holder.active or holder.telegram_user_id is None or holder.role in MANAGERS:
        return False
    ctx = await card_context(uow, desk, ticket)
    await tell(
        uow, holder.telegram_user_id, template, default_locale=desk.settings.default_locale,
        buttons_of=lambda loc: card_buttons(loc, ticket.id, ticket.status != "dispatched"),
        priority=uow_mod.PRIORITY_URGENT, ref=alert_ref(ticket.id), holder=True, **ctx, **extra,
    )
    return True


async def alert_breach(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, template: str, **extra: Any) -> int:
    """An SLA breach: the supervisors and the engineer holding the ticket; returns the supervisors told."""
    count = await alert_supervisors(uow, desk, ticket, template, **extra)
    await alert_holder(uow, desk, ticket, template, **extra)
    return count


async def is_card(uow: uow_mod.UnitOfWork, chat_id: int, message_id: int | None, ticket_id: int) -> bool:
    """True when ``message_id`` in ``chat_id`` is a dispatch card, alert or engineer menu of
    ``ticket_id`` that the bot sent there: a button's data must belong to the message it was
    pressed on."""
    if message_id is None:
        return False
    found = await uow.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id,
            OutboxMessage.ref.in_((card_ref(ticket_id), alert_ref(ticket_id), assign_ref(ticket_id))),
        ).limit(1)
    )
    return found is not None


async def card_holders(uow: uow_mod.UnitOfWork, ticket_id: int) -> list[int]:
    """The private chats that were sent a dispatch card or an alert of the ticket (everyone told of
    it; the staff group's topic hears of everything through bot/dispatch/topics.py)."""
    rows = await uow.session.scalars(
        select(OutboxMessage.chat_id).where(
            OutboxMessage.ref.in_((card_ref(ticket_id), alert_ref(ticket_id))), OutboxMessage.chat_id > 0,
        ).distinct()
    )
    return list(rows.all())


async def _card_chats(uow: uow_mod.UnitOfWork, ticket_id: int) -> list[int]:
    """The chats holding a dispatch card of the ticket (the messages a card edit replaces)."""
    rows = await uow.session.scalars(
        select(OutboxMessage.chat_id).where(OutboxMessage.ref == card_ref(ticket_id)).distinct()
    )
    return list(rows.all())


async def edit_cards(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, outcome: str, name: str, *,
    keep_for: int | None = None, only: int | None = None,
) -> None:
    """Edit the dispatch cards of ``ticket`` to show ``outcome`` (taken/handed_over/resolved/
    cancelled) by ``name``; the chat ``keep_for`` keeps the work buttons (every other card loses
    them); ``only`` limits the edit to one chat."""
    ctx = await card_context(uow, desk, ticket)
    for chat_id in await _card_chats(uow, ticket.id):
        if only is not None and chat_id != only:
            continue
        locale = await locale_of(uow.session, chat_id, desk.settings.default_locale)
        text = render(locale, "dispatch/text#card", reason=None, note=None, outcome=outcome, by=name, **ctx)
        payload: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": "HTML"}
        if chat_id == keep_for:
            payload["reply_markup"] = uow_mod.inline_keyboard(
                card_buttons(locale, ticket.id, True, holder=True, paused=ticket.paused_at is not None)
            )
        elif chat_id == desk.settings.staff_group_id:  # the topic's card keeps the buttons while open
            payload["reply_markup"] = uow_mod.inline_keyboard(topic_card_buttons(locale, ticket))
        uow.queue(
            chat_id, "editMessageText", payload, priority=uow_mod.PRIORITY_URGENT, edit_ref=card_ref(ticket.id),
        )
    if outcome in FINAL_OUTCOMES and only is None:
        await _strip_alert_buttons(uow, ticket.id)


FINAL_OUTCOMES = ("resolved", "cancelled", "merged")  # after these an alert's buttons have nothing left to do


async def _strip_alert_buttons(uow: uow_mod.UnitOfWork, ticket_id: int) -> None:
    """Remove the buttons of the ticket's delivered alerts; their text stays as it was."""
    rows = (await uow.session.execute(
        select(OutboxMessage.chat_id, OutboxMessage.message_id).where(
            OutboxMessage.ref == alert_ref(ticket_id), OutboxMessage.message_id.is_not(None),
        )
    )).all()
    for chat_id, message_id in rows:
        uow.queue(
            chat_id, "editMessageReplyMarkup",
            {"chat_id": chat_id, "message_id": message_id, "reply_markup": {"inline_keyboard": []}},
            priority=uow_mod.PRIORITY_URGENT,
        )


def complaint_cause(flagged: dict[str, Any] | None) -> str:
    """Why a ticket is a complaint: ``repeat_fault`` / ``multiple_faults`` (the automatic rules of
    policy §5), ``reopened`` (the same fault back after resolution) or ``explicit`` (the customer said so)."""
    data = flagged or {}
    if data.get("rule") in ("repeat_fault", "multiple_faults"):
        return str(data["rule"])
    return "reopened" if data.get("reason") == "same fault after repair" else "explicit"


async def alert_complaint(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> int:
    """Complaints go to a supervisor (policy §5): every supervisor and admin at once, with the card.

    Once per complaint: a complaint already alerted is not alerted again until the ticket is
    reopened (the same fault back is a new complaint). Returns how many were told (0: told before)."""
    last = await uow.session.scalar(
        select(TicketEvent.kind).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("complaint_alert", "reopened"))
        ).order_by(TicketEvent.id.desc()).limit(1)
    )
    if last == "complaint_alert":
        return 0
    flagged = await uow.session.scalar(
        select(TicketEvent.data).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "complaint")
        .order_by(TicketEvent.id.desc()).limit(1)
    )
    count = await alert_supervisors(
        uow, desk, ticket, "dispatch/text#complaint_alert", why=complaint_cause(flagged), reason=None, note=None,
    )
    tickets.record(uow.session, ticket, "complaint_alert", tickets.SYSTEM, uow.now, data={"notified": count})
    return count


async def alert_rating(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, key: str, score: int) -> int:
    """A "dissatisfied" rating: every supervisor and admin at once, with the card."""
    engineer = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    return await alert_supervisors(
        uow, desk, ticket, "dispatch/text#rating_alert", rating=key, score=score,
        engineer=engineer.name if engineer else None, reason=None, note=None,
    )
