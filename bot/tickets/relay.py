"""Relay between the engineer holding a ticket and its customer, canned replies, internal notes.

Who may relay is decided here at send time: the active staff member holding an open, acknowledged
ticket (its assignee), or a supervisor/admin; the holder is looked up when a message is sent, so
the relay follows hand-overs and assignments. Every relayed message is a ticket event
(``relay_out``, author, time, text and file ids); the customer's answers are ``customer_info``
events (``bot.tickets.work.customer_follow_up``). A ``note`` event is for staff only: nothing of
it is ever sent to the customer. Messages go through the outbox (at-least-once): to the customer
with the ref ``relay_ref`` (their *Reply* button, ``rl:reply``, belongs to those), and what staff
are sent about the conversation with ``cards.relay_in_ref`` (a reply to one relays again). The
buttons' data is built by the shared codec (``rl`` in ``bot.core.callbacks.SPECS``).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import environment, render, template_locale
from bot.core.notify import locale_of
from bot.core.roles import MANAGERS
from bot.dispatch import cards
from bot.tickets import attachments
from bot.tickets import lifecycle as tickets
from storage.models import OutboxMessage, Staff, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.desk import Desk

RELAY_STATES = frozenset({"acknowledged", "in_progress", "reopened"})  # held by someone, still open
TEXT_MAX = 4000  # the header comes on top; uow.send splits a longer message on lines
CAPTION_MAX = 1024  # Telegram's caption limit (header included)
NOTE_MAX = 2000
RELAYABLE = ("photo", "document", "voice", "video", "video_note", "audio")
CANNED = "relay/canned"
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,23}$")  # a WORD field of the rl:send button

Refusal = Literal["not_found", "not_yours", "closed", "empty", "too_long", "caption_too_long", "unsupported"]
INPUT_REFUSALS = frozenset({"empty", "too_long", "caption_too_long", "unsupported"})  # the message, not who sent it


NUMBER = re.compile(r"SD-[0-9]{4}-[0-9]{4,12}", re.IGNORECASE)


async def staff_ticket(uow: uow_mod.UnitOfWork, text: str) -> Ticket | None:
    """The ticket whose number appears in ``text`` (a bot message staff replied to, a command's
    argument); who may act on it is checked by ``may_relay``/``may_note``."""
    found = NUMBER.search(text or "")
    if found is None:
        return None
    return await uow.session.scalar(select(Ticket).where(Ticket.number == found.group(0).upper()))


async def replied_ticket(uow: uow_mod.UnitOfWork, chat_id: int, message_id: int | None) -> Ticket | None:
    """The ticket of the bot message ``message_id`` in ``chat_id`` that staff replied to, when it is
    one a reply relays from: the ticket's dispatch card or alert, or a message about its
    conversation with the customer (``cards.relay_in_ref``). Looked up in the outbox, so a reply to
    any other message (or one the bot never sent there) names no ticket."""
    if message_id is None:
        return None
    refs = await uow.session.scalars(
        select(OutboxMessage.ref).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id, OutboxMessage.ref.is_not(None),
        )
    )
    for ref in refs.all():
        kind, _, number = (ref or "").partition(":")
        if kind in _REPLY_REFS and number.isdigit():
            return await uow.session.get(Ticket, int(number))
    return None


async def is_relayed(uow: uow_mod.UnitOfWork, chat_id: int, message_id: int | None, ticket_id: int) -> bool:
    """True when ``message_id`` in ``chat_id`` is a message the bot relayed there about ``ticket_id``
    (its *Reply* button belongs to it: a press elsewhere is forged)."""
    if message_id is None:
        return False
    found = await uow.session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.message_id == message_id,
            OutboxMessage.ref == relay_ref(ticket_id),
        ).limit(1)
    )
    return found is not None


_REPLY_REFS = frozenset(r(0).partition(":")[0] for r in (cards.card_ref, cards.alert_ref, cards.relay_in_ref))


def may_relay(ticket: Ticket | None, staff: Staff | None) -> Refusal | None:
    """None when ``staff`` may write to the customer of ``ticket`` now, else why not."""
    if ticket is None:
        return "not_found"
    if staff is None or not staff.active:
        return "not_yours"
    if ticket.status not in RELAY_STATES:
        return "closed" if ticket.status not in tickets.OPEN_STATES else "not_yours"
    if staff.role in MANAGERS or ticket.assignee_id == staff.id:
        return None
    return "not_yours"


def may_note(ticket: Ticket | None, staff: Staff | None) -> Refusal | None:
    """None when ``staff`` may add an internal note: its assignee (any state) or a supervisor."""
    if ticket is None:
        return "not_found"
    if staff is None or not staff.active:
        return "not_yours"
    if staff.role in MANAGERS or ticket.assignee_id == staff.id:
        return None
    return "not_yours"


@dataclass(frozen=True)
class Outgoing:
    """What a staff member asks to relay: text (or a caption) and at most one file."""

    text: str
    file: attachments.Attachment | None = None
    canned: str | None = None


def check(out: Outgoing, unsupported: bool = False) -> Refusal | None:
    """Bad input gets a clear reason (and nothing is sent or recorded)."""
    if unsupported or (out.file is not None and out.file.kind not in RELAYABLE):
        return "unsupported"
    if out.file is None and not out.text.strip():
        return "empty"
    if out.file is None and len(out.text) > TEXT_MAX:
        return "too_long"
    if out.file is not None and out.file.kind == "video_note" and out.text:
        return "unsupported"
    return None


def header(locale: str, ticket: Ticket, staff: Staff) -> str:
    """The head line of a relayed message: the ticket number and the staff member's display name
    (never their Telegram account, username or phone)."""
    return render(locale, "relay/text#header", number=ticket.number, name=staff.name)


def reply_buttons(locale: str, ticket_id: int) -> uow_mod.Buttons:
    """The customer's *Reply* button under a relayed message."""
    return [[(render(locale, "relay/labels#reply"), encode("rl", "reply", ticket_id))]]


def relay_ref(ticket_id: int) -> str:
    """The outbox ref of messages relayed to the customer."""
    return f"relay:{ticket_id}"


async def to_customer(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff, out: Outgoing
) -> Refusal | None:
    """Send ``out`` to the ticket's customer, headed, with a *Reply* button; record it. The first
    one moves an acknowledged ticket to ``in_progress`` and counts as the first response."""
    refusal = may_relay(ticket, staff) or check(out)
    if refusal is not None:
        return refusal
    chat_id = ticket.reporter_user_id
    locale = await locale_of(uow.session, chat_id, desk.settings.default_locale)
    head = header(locale, ticket, staff)
    buttons = reply_buttons(locale, ticket.id)
    ref = relay_ref(ticket.id)
    body = _escape(out.text)
    if out.file is None:
        uow.send(chat_id, f"{head}\n{body}", buttons=buttons, priority=uow_mod.PRIORITY_NOTICE, ref=ref)
    else:
        caption = f"{head}\n{body}" if body else head
        if out.file.kind == "video_note":  # no caption: the head goes first, the note below it
            uow.send(chat_id, head, buttons=buttons, priority=uow_mod.PRIORITY_NOTICE, ref=ref)
            caption = ""
        elif len(caption) > CAPTION_MAX:
            return "caption_too_long"
        method, payload = attachments.forward_payload(chat_id, out.file, "")
        if caption:
            payload.update(caption=caption, parse_mode="HTML",
                           reply_markup=uow_mod.inline_keyboard(buttons))
        uow.queue(chat_id, method, payload, priority=uow_mod.PRIORITY_NOTICE, ref=ref)
    if ticket.status in ("acknowledged", "reopened"):
        tickets.transition(uow.session, ticket, "in_progress", tickets.Actor("staff", staff.id), uow.now)
    data: dict[str, Any] = {"text": out.text, "by": staff.key}
    if out.file is not None:
        data["attachments"] = attachments.dump([out.file])
    if out.canned:
        data["canned"] = out.canned
    tickets.record(uow.session, ticket, "relay_out", tickets.Actor("staff", staff.id), uow.now, data=data)
    return None


def _escape(text: str) -> str:
    return str(escape(text.strip()))


def add_note(uow: uow_mod.UnitOfWork, ticket: Ticket, staff: Staff, text: str) -> Refusal | None:
    """An internal note on the ticket: staff see it in the history and the export, the customer never."""
    refusal = may_note(ticket, staff)
    if refusal is not None:
        return refusal
    text = text.strip()
    if not text:
        return "empty"
    if len(text) > NOTE_MAX:
        return "too_long"
    tickets.record(uow.session, ticket, "note", tickets.Actor("staff", staff.id), uow.now,
                   data={"text": text, "by": staff.key})
    return None


def canned_keys(locale: str) -> list[str]:
    """The prepared answers of ``locale``, in the order of ``templates/<locale>/relay/canned.j2``:
    every block ``<key>`` with its button label in ``<key>_title`` (add both to add an answer)."""
    template = environment().get_template(f"{template_locale(locale)}/{CANNED}.j2")
    names = list(template.blocks)
    return [n for n in names if _KEY.match(n) and not n.endswith("_title") and f"{n}_title" in names]


def canned_menu(locale: str, ticket_id: int) -> uow_mod.Buttons:
    """One button per prepared answer."""
    return [[(render(locale, f"{CANNED}#{k}_title"), encode("rl", "send", ticket_id, k))] for k in canned_keys(locale)]


async def canned_text(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, key: str) -> str | None:
    """The prepared answer ``key`` in the customer's locale; None for an unknown key."""
    locale = await locale_of(uow.session, ticket.reporter_user_id, desk.settings.default_locale)
    if key not in canned_keys(locale):
        return None
    return html.unescape(render(locale, f"{CANNED}#{key}", number=ticket.number))  # plain: escaped once when sent


CUSTOMER_VIEW = 10  # latest messages of the conversation shown in the customer's /ticket


@dataclass(frozen=True)
class Exchange:
    """One message of a ticket's conversation as its customer may see it (never a note)."""

    at: dt.datetime
    engineer: str | None  # the engineer's display name; None: the customer wrote it
    text: str
    attached: list[tuple[str, int]]


async def conversation(session: AsyncSession, ticket: Ticket, limit: int = CUSTOMER_VIEW) -> list[Exchange]:
    """The latest relayed messages and customer additions of ``ticket``, oldest first; internal
    notes are never part of it (the customer's view)."""
    rows = (await session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("relay_out", "customer_info")))
        .order_by(TicketEvent.id.desc()).limit(limit)
    )).all()
    out = []
    for e in reversed(rows):
        data = dict(e.data or {})
        engineer = None
        if e.kind == "relay_out":
            staff = await session.get(Staff, e.actor_id) if e.actor_id is not None else None
            engineer = staff.name if staff is not None else "—"
        out.append(Exchange(e.at, engineer, str(data.get("text") or ""),
                            attachments.counts(attachments.parse(data.get("attachments")))))
    return out
