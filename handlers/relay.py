"""Relay between the engineer holding a ticket and its customer; canned replies; internal notes.

Staff: *Message customer* (``rl:msg``) asks for one message, a reply to the ticket's card, alert or
any message about its conversation relays at once; *Canned reply* (``rl:canned`` → ``rl:send``)
sends a prepared answer; *Internal note* (``rl:note``) or ``/note SD-… text`` records a note the
customer never sees. The customer: a reply to a relayed message (handlers/followup.py) or the
*Reply* button under it (``rl:reply``) → their next message goes to the ticket and to the engineer
holding it now; after resolution they are offered the reopen flow. Who may act is decided in
``bot.tickets.relay`` at press/send time (the holder or a supervisor, an open held ticket).

``on_message`` runs in its own handler group ahead of the others: it takes the messages that are
relay (a pending relay step, a staff reply to a ticket message) and stops there; anything else
goes on to the usual handlers untouched.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop

from bot.core.roles import STAFF, Role
from bot.dispatch import cards, topics
from bot.tickets import relay
from handlers import followup, report
from handlers.base import Actor, DeskContext, guarded, in_staff_group, pressed, thread_of
from storage.models import Conversation, Staff, Ticket
from storage.repo import clear_conversation, get_conversation, set_conversation

FLOW = "relay"  # steps: "message" and "note" (staff), "reply" (the customer); data: ticket_id
GROUP = -10  # after the guard (-100), before the usual handlers (group 0)
NOTE_PREFIX = "//"  # in a ticket's staff-group topic: an internal note, never relayed


def _staff(actor: Actor) -> Staff | None:
    return actor.user.staff if actor.role in STAFF else None


def _refuse(actor: Actor, reason: str, ticket: Ticket | None, *, note: bool = False) -> None:
    """Why nothing was sent (or, ``note``, no note added): a clear line."""
    actor.reply("relay/text#refused", reason=reason, number=ticket.number if ticket else "", note=note,
                max=relay.NOTE_MAX if note else relay.TEXT_MAX, caption_max=relay.CAPTION_MAX)


def _sent(actor: Actor, ticket: Ticket) -> None:
    """The confirmation; replying to it writes to the customer again."""
    actor.uow.send(actor.chat_id, actor.t("relay/text#sent", number=ticket.number), ref=cards.relay_in_ref(ticket.id))


@guarded(staff_group=True)
async def on_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``rl:<msg|canned|note|send|reply>:<ticket id>[:<key>]`` — untrusted: the role, the holder
    and the ticket's state are checked again now."""
    uow = actor.uow
    press = pressed(update, "rl")
    ticket = await uow.session.get(Ticket, press.num(0)) if press is not None else None
    if press is None or ticket is None:
        actor.reply("common/stale_button")
        return
    query = update.callback_query
    message_id = query.message.message_id if query is not None and query.message is not None else None
    if press.action == "reply":
        if actor.role != Role.CUSTOMER or ticket.reporter_user_id != actor.user.id or not await relay.is_relayed(
            uow, actor.chat_id, message_id, ticket.id
        ):
            actor.reply("common/stale_button")  # not theirs, or not under a relayed message: forged
            return
        conv = await get_conversation(uow.session, actor.chat_id)
        if conv is not None and conv.flow == report.FLOW:  # a report under way is never thrown away
            actor.reply("relay/text#reply_in_report")
            return
        await set_conversation(uow.session, actor.chat_id, FLOW, "reply", {"ticket_id": ticket.id}, uow.now)
        actor.reply("relay/text#ask_reply", number=ticket.number)
        return
    staff = _staff(actor)
    if staff is None:
        actor.reply("common/not_allowed")
        return
    shown = await relay.replied_ticket(uow, actor.chat_id, message_id)
    if shown is None or shown.id != ticket.id:  # a button's data must belong to the message it was pressed on
        _refuse(actor, "not_yours", ticket)  # staff only get here: naming the ticket reveals nothing new
        return
    if press.action in ("msg", "note") and in_staff_group(update, context):  # the topic itself is the way
        actor.reply("staffgroup/text#write_here", number=ticket.number)
        return
    if press.action == "note":
        refusal = relay.may_note(ticket, staff)
        if refusal is not None:
            _refuse(actor, refusal, ticket, note=True)
            return
        await set_conversation(uow.session, actor.chat_id, FLOW, "note", {"ticket_id": ticket.id}, uow.now)
        actor.reply("relay/text#ask_note", number=ticket.number)
        return
    refusal = relay.may_relay(ticket, staff)
    if refusal is not None:
        _refuse(actor, refusal, ticket)
    elif press.action == "msg":
        await set_conversation(uow.session, actor.chat_id, FLOW, "message", {"ticket_id": ticket.id}, uow.now)
        actor.reply("relay/text#ask_message", number=ticket.number)
    elif press.action == "canned":
        uow.send(actor.chat_id, actor.t("relay/text#canned_menu", number=ticket.number),
                 buttons=relay.canned_menu(actor.locale, ticket.id), ref=cards.relay_in_ref(ticket.id))
    else:  # send: the prepared answer, in the customer's language
        key = press.text(1)
        text = await relay.canned_text(uow, context.desk, ticket, key)
        if text is None:
            actor.reply("common/stale_button")
            return
        await _relay(context, actor, ticket, staff, relay.Outgoing(text, canned=key))


async def _relay(context: DeskContext, actor: Actor, ticket: Ticket, staff: Staff, out: relay.Outgoing,
                 unsupported: bool = False) -> relay.Refusal | None:
    """Relay ``out`` and confirm it, or say why not (nothing sent, nothing recorded)."""
    refusal = relay.check(out, unsupported) or await relay.to_customer(actor.uow, context.desk, ticket, staff, out)
    if refusal is not None:
        _refuse(actor, refusal, ticket)
    else:
        _sent(actor, ticket)
    return refusal


def _content(msg: Message) -> tuple[relay.Outgoing, bool]:
    """What the message carries, and whether it is of a kind that cannot be relayed."""
    item = report.attachment_of(msg)
    text = msg.text if msg.text is not None else (msg.caption or "")
    return relay.Outgoing(text, item), item is None and msg.text is None


@guarded(staff_group=True)
async def on_message(update: Update, context: DeskContext, actor: Actor) -> None:
    """A message that is relay is handled here (and stops); anything else falls through."""
    msg = update.effective_message
    if msg is None:
        return
    if in_staff_group(update, context):
        if await _in_topic(context, actor, msg, thread_of(update)):
            raise ApplicationHandlerStop
        return  # General and other topics: nothing (the handlers below refuse groups silently)
    conv = await get_conversation(actor.uow.session, actor.chat_id)
    if conv is not None and conv.flow == FLOW:
        await _step(context, actor, conv, msg)
        raise ApplicationHandlerStop
    staff = _staff(actor)
    replied = msg.reply_to_message
    if staff is None or replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return
    ticket = await relay.replied_ticket(actor.uow, actor.chat_id, replied.message_id)
    if ticket is None:
        return
    out, unsupported = _content(msg)
    await _relay(context, actor, ticket, staff, out, unsupported)
    raise ApplicationHandlerStop


async def _in_topic(context: DeskContext, actor: Actor, msg: Message, thread: int | None) -> bool:
    """A staff member wrote in a ticket's topic: ``//…`` is an internal note, anything else goes to
    the customer as a relay from the card would (the mirrored line in the topic confirms it); a
    refusal gets its line. False when the topic is no ticket's."""
    ticket = await topics.ticket_of_thread(actor.uow, actor.chat_id, thread)
    staff = _staff(actor)
    if ticket is None or staff is None:
        return False
    text = msg.text if msg.text is not None else (msg.caption or "")
    if text.startswith(NOTE_PREFIX):
        refusal = "unsupported" if msg.text is None else relay.add_note(actor.uow, ticket, staff, text[len(NOTE_PREFIX):])
        if refusal is not None:
            _refuse(actor, refusal, ticket, note=True)
        return True
    out, unsupported = _content(msg)
    refusal = relay.check(out, unsupported) or await relay.to_customer(actor.uow, context.desk, ticket, staff, out)
    if refusal is not None:
        _refuse(actor, refusal, ticket)
    return True


async def _step(context: DeskContext, actor: Actor, conv: Conversation, msg: Message) -> None:
    """The message a relay step waits for (the role and the ticket are checked again)."""
    uow = actor.uow
    ticket = await uow.session.get(Ticket, conv.data.get("ticket_id"))
    staff = _staff(actor)
    out, unsupported = _content(msg)
    if conv.step == "reply":  # the customer's answer to a relayed message
        if actor.role != Role.CUSTOMER or ticket is None or ticket.reporter_user_id != actor.user.id:
            await clear_conversation(uow.session, actor.chat_id)
            actor.reply("common/stale_button")
        elif unsupported:
            actor.reply("relay/text#reply_unsupported")  # the step stays: they may send it another way
        else:
            await clear_conversation(uow.session, actor.chat_id)
            await followup.answer(context, actor, ticket, out.text.strip(), out.file)
        return
    if staff is None:
        await clear_conversation(uow.session, actor.chat_id)
        actor.reply("common/not_allowed")
        return
    if conv.step == "note":
        if unsupported or out.file is not None:
            refusal: relay.Refusal | None = "unsupported"
        else:
            refusal = relay.add_note(uow, ticket, staff, out.text) if ticket is not None else "not_found"
        if refusal in relay.INPUT_REFUSALS:
            _refuse(actor, refusal or "", ticket, note=True)
            return  # the step stays: they may type it again
        await clear_conversation(uow.session, actor.chat_id)
        if refusal is not None:
            _refuse(actor, refusal, ticket, note=True)
        elif ticket is not None:
            actor.reply("relay/text#note_saved", number=ticket.number)
        return
    # "message": one message for the customer; a bad one is refused with a line and the step stays
    if ticket is None:
        await clear_conversation(uow.session, actor.chat_id)
        _refuse(actor, "not_found", None)
        return
    refusal = await _relay(context, actor, ticket, staff, out, unsupported)
    if refusal not in relay.INPUT_REFUSALS:
        await clear_conversation(uow.session, actor.chat_id)


@guarded(roles=STAFF)
async def note_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/note SD-… text``: an internal note on the ticket (its holder or a supervisor)."""
    msg = update.effective_message
    raw = (msg.text or "") if msg is not None else ""
    parts = raw.split(maxsplit=2)  # "/note", the number, the note (its line breaks kept)
    staff = _staff(actor)
    if staff is None or len(parts) < 3:
        actor.reply("relay/text#note_usage")
        return
    ticket = await relay.staff_ticket(actor.uow, parts[1])
    if ticket is None:
        _refuse(actor, "not_found", None)
        return
    refusal = relay.add_note(actor.uow, ticket, staff, parts[2])
    if refusal is not None:
        _refuse(actor, refusal, ticket, note=True)
        return
    actor.reply("relay/text#note_saved", number=ticket.number)
