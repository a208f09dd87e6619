"""The optional staff group (``STAFF_GROUP_ID``): one forum topic per ticket, mirroring its events.

At the end of each update's or timer's transaction (the ``finish`` hook of bot/runtime/processing.py
and timer_worker.py) ``mirror`` takes the ticket events recorded in it (``lifecycle.recorded``):
a ticket without a topic gets one (a ``createForumTopic`` outbox row, then its dispatch card with
``ref=cards.card_ref``, so every card edit edits it too), and each event becomes a line in the topic
(relayed messages and the customer's additions with their files). The topic's name follows the
status (``editForumTopic``); it is closed when the ticket is finished and reopened on reopen.

Rows aimed at the topic carry ``topic_ticket_id``: the outbox fills in ``message_thread_id`` when
it sends them, after the ``createForumTopic`` row before them (per-chat order) has recorded the
thread in ``ticket_topics``. No Telegram in here.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.core.i18n import render
from bot.dispatch import cards
from bot.tickets import attachments
from bot.tickets import lifecycle as tickets
from storage.models import Staff, Ticket, TicketEvent, TicketTopic

if TYPE_CHECKING:
    from bot.desk import Desk

NAME_MAX = 128  # Telegram's limit on a topic's name
FINISHED = frozenset({"resolved", "closed", "cancelled"})  # the topic is closed in these states
SILENT = frozenset({"created"})  # shown by the card itself


def group_of(desk: Desk) -> int | None:
    """The staff group's chat id, or None when the desk has none."""
    return desk.settings.staff_group_id


async def ticket_of_thread(uow: uow_mod.UnitOfWork, chat_id: int, thread_id: int | None) -> Ticket | None:
    """The ticket whose topic is ``thread_id`` in the staff group ``chat_id`` (None: General or
    a topic the bot did not open for a ticket)."""
    if thread_id is None:
        return None
    ticket_id = await uow.session.scalar(
        select(TicketTopic.ticket_id).where(TicketTopic.chat_id == chat_id, TicketTopic.message_thread_id == thread_id)
    )
    return await uow.session.get(Ticket, ticket_id) if ticket_id is not None else None


def topic_name(locale: str, ticket: Ticket) -> str:
    """"SD-… · customer · equipment · status", cut to Telegram's 128 characters."""
    name = html.unescape(render(
        locale, "staffgroup/text#topic_name", number=ticket.number, customer=ticket.customer_label,
        equipment=ticket.equipment_label, status=ticket.status,
    ))
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


async def mirror(uow: uow_mod.UnitOfWork, desk: Desk) -> None:
    """Mirror the ticket events of this transaction into the tickets' topics (the finish hook)."""
    events = tickets.recorded(uow.session)
    tickets.forget_recorded(uow.session)
    chat_id = group_of(desk)
    if chat_id is None or not events:
        return
    by_ticket: dict[int, list[TicketEvent]] = {}
    for event in events:
        by_ticket.setdefault(event.ticket_id, []).append(event)
    for ticket_id, ticket_events in by_ticket.items():
        ticket = await uow.session.get(Ticket, ticket_id)
        if ticket is not None:
            await _mirror_ticket(uow, desk, chat_id, ticket, ticket_events)


async def _mirror_ticket(
    uow: uow_mod.UnitOfWork, desk: Desk, chat_id: int, ticket: Ticket, events: list[TicketEvent]
) -> None:
    locale = desk.settings.default_locale
    topic = await uow.session.get(TicketTopic, ticket.id)
    if topic is None:
        topic = await _open_topic(uow, desk, chat_id, ticket, locale)
    for event in events:
        if event.kind not in SILENT:
            await _post_event(uow, chat_id, ticket, event, locale)
    _sync_state(uow, topic, ticket, locale)


async def _open_topic(uow: uow_mod.UnitOfWork, desk: Desk, chat_id: int, ticket: Ticket, locale: str) -> TicketTopic:
    """The ticket's topic (an outbox row) and its dispatch card with the ticket's files."""
    name = topic_name(locale, ticket)
    topic = TicketTopic(ticket_id=ticket.id, chat_id=chat_id, name=name, state="open")
    uow.session.add(topic)
    uow.queue(chat_id, "createForumTopic", {"chat_id": chat_id, "name": name},
              priority=uow_mod.PRIORITY_URGENT, topic=ticket.id)
    ctx = await cards.card_context(uow, desk, ticket)
    text = render(locale, "dispatch/text#card", reason=None, note=None, **ctx)
    uow.send(chat_id, text, buttons=cards.topic_card_buttons(locale, ticket), priority=uow_mod.PRIORITY_URGENT,
             ref=cards.card_ref(ticket.id), topic=ticket.id)
    cards.forward_attachments(uow, chat_id, ticket.number, attachments.on_ticket(ticket), topic=ticket.id)
    return topic


async def _post_event(uow: uow_mod.UnitOfWork, chat_id: int, ticket: Ticket, event: TicketEvent, locale: str) -> None:
    """One line for ``event`` (a relayed message or customer addition with its files)."""
    data: dict[str, Any] = dict(event.data or {})
    text = str(data.get("text") or data.get("summary") or "")  # what people wrote (never a code)
    if event.kind == "contact":
        text = " → ".join(str(data[k]) for k in ("done", "result") if data.get(k))
    line = render(
        locale, "staffgroup/text#event", kind=event.kind, who=await _who(uow, ticket, event), text=text,
        minutes=event.minutes, sla=data.get("kind"), to_status=event.to_status if event.kind != event.to_status else None,
    )
    if line:
        uow.send(chat_id, line, priority=uow_mod.PRIORITY_NOTICE, ref=cards.relay_in_ref(ticket.id), topic=ticket.id)
    for item in attachments.parse(data.get("attachments"))[: cards.FORWARD_MAX]:
        method, payload = attachments.forward_payload(chat_id, item, ticket.number)
        uow.queue(chat_id, method, payload, priority=uow_mod.PRIORITY_NOTICE, ref=cards.relay_in_ref(ticket.id),
                  topic=ticket.id)


async def _who(uow: uow_mod.UnitOfWork, ticket: Ticket, event: TicketEvent) -> str:
    """The display name of who did it: a staff member's name, the reporter's, or nobody."""
    if event.actor_kind == "staff" and event.actor_id is not None:
        staff = await uow.session.get(Staff, event.actor_id)
        return staff.name if staff is not None else ""
    if event.actor_kind == "customer":
        return ticket.reporter_name
    return ""


def _sync_state(uow: uow_mod.UnitOfWork, topic: TicketTopic, ticket: Ticket, locale: str) -> None:
    """Rename the topic with the status; close it when the ticket is finished, reopen it after."""
    chat_id = topic.chat_id
    name = topic_name(locale, ticket)
    wanted = "closed" if ticket.status in FINISHED else "open"
    if wanted == "open" and topic.state != "open":  # a closed topic is reopened before it is renamed
        uow.queue(chat_id, "reopenForumTopic", {"chat_id": chat_id}, priority=uow_mod.PRIORITY_NOTICE, topic=ticket.id)
    if name != topic.name:
        uow.queue(chat_id, "editForumTopic", {"chat_id": chat_id, "name": name}, priority=uow_mod.PRIORITY_NOTICE,
                  topic=ticket.id)
    if wanted == "closed" and topic.state != "closed":
        uow.queue(chat_id, "closeForumTopic", {"chat_id": chat_id}, priority=uow_mod.PRIORITY_NOTICE, topic=ticket.id)
    topic.name, topic.state = name, wanted
