"""A customer's reply to a bot message about one of their tickets.

An open ticket gets the text (and a photo, file, voice or video message) added; the engineer is
told and the file forwarded. For a resolved or closed ticket the
customer is asked whether the same fault is back; "yes" reopens and re-dispatches it (policy §5:
it also becomes a complaint). A reply about a ticket of theirs (text or a file) always reaches the
ticket, whatever conversation is pending: a leftover question conversation is closed, a report under
way is kept (its step is asked again). A customer's plain message while one of their tickets waits
for them (SLA paused) is their answer to that ticket: it resumes it. Anything else goes on to the
normal routing (a file to the report it joins or starts).
"""

from __future__ import annotations

import re

from telegram import Update

from bot.core.callbacks import encode
from bot.core.roles import Role
from bot.tickets import lifecycle as tickets
from bot.tickets import pause as pauses
from bot.tickets import work as worklog
from bot.tickets.attachments import Attachment
from handlers import report
from handlers.base import Actor, DeskContext, guarded, pressed
from handlers.flows import route_message
from storage.models import Ticket
from storage.repo import clear_conversation, get_conversation

_NUMBER = re.compile(r"SD-[0-9]{4}-[0-9]{6}")


async def _replied_ticket(update: Update, actor: Actor) -> Ticket | None:
    """The customer's own ticket named in the message they replied to."""
    msg = update.effective_message
    replied = msg.reply_to_message if msg else None
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    found = _NUMBER.search(replied.text or replied.caption or "")
    if found is None:
        return None
    return await tickets.customer_ticket(actor.uow.session, found.group(0), actor.user.id)


@guarded()
async def on_reply(update: Update, context: DeskContext, actor: Actor) -> None:
    """A reply to a ticket message: add to the ticket or offer to reopen it."""
    uow = actor.uow
    msg = update.effective_message
    text = ((msg.text or msg.caption or "") if msg else "").strip()
    item = report.attachment_of(msg)
    ticket = None
    conv = await get_conversation(uow.session, actor.chat_id)
    if actor.role == Role.CUSTOMER and (text or item):
        ticket = await _replied_ticket(update, actor)
        if ticket is None and item is None and conv is None:  # plain text while a ticket waits for them
            ticket = await pauses.waiting_for(uow.session, actor.user.id)
    if ticket is None:  # a file goes on to the report (joins or starts one), text to the routing
        fallback = report.on_attachment if item is not None else route_message
        await fallback.__wrapped__(update, context, actor)  # type: ignore[attr-defined]
        return
    if conv is not None and conv.flow != report.FLOW:  # a leftover question: closed, it never eats the reply
        await clear_conversation(uow.session, actor.chat_id)
    await answer(context, actor, ticket, text, item)
    if conv is not None and conv.flow == report.FLOW:  # a report under way is kept: ask its step again
        await report.prompt(actor, conv.step, dict(conv.data))


async def answer(context: DeskContext, actor: Actor, ticket: Ticket, text: str, item: Attachment | None) -> None:
    """The customer's text and/or file reach their ``ticket`` (and the engineer holding it now), or,
    once it is resolved, they are asked whether the fault is back (the reopen flow)."""
    files = [item] if item is not None else None
    # whole: a message is at most 4096 characters
    outcome = await worklog.customer_follow_up(actor.uow, context.desk, ticket, text, files)
    if outcome == "ask_reopen":
        buttons = [[(actor.t("work/labels#reopen_yes"), encode("fu", "reopen", ticket.id)),
                    (actor.t("work/labels#reopen_no"), encode("fu", "no", ticket.id))]]
        actor.reply("work/text#ask_reopen", buttons=buttons, number=ticket.number)
    elif outcome == "added":
        actor.reply("work/text#info_added", number=ticket.number)
    else:
        actor.reply("work/text#already_rated", number=ticket.number)


@guarded(roles={Role.CUSTOMER})
async def on_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``fu:reopen:<id>`` / ``fu:no:<id>`` — only the reporter, only a resolved/closed ticket."""
    uow = actor.uow
    press = pressed(update, "fu")
    ticket = await uow.session.get(Ticket, press.num(0)) if press is not None else None
    if press is None or ticket is None or ticket.reporter_user_id != actor.user.id or ticket.status not in (
        "resolved", "closed"
    ):  # not theirs, or no longer resolved (answered already): the question has expired
        actor.reply("common/stale_button")
        return
    if press.action == "no":
        actor.reply("work/text#reopen_declined", number=ticket.number)
        return
    outcome = await worklog.reopen(uow, context.desk, ticket, actor.user.id)
    if outcome is None:
        actor.reply("common/stale_button")
    elif outcome.queued:
        actor.reply("work/text#reopened_queued", number=ticket.number, at=outcome.pickup_at)
    else:
        actor.reply("work/text#reopened", number=ticket.number)


@guarded(roles={Role.CUSTOMER})
async def confirm_report(update: Update, context: DeskContext, actor: Actor) -> None:
    """``sr:<ticket id>``: the reporter confirms the on-site service report, then is asked to rate."""
    uow = actor.uow
    press = pressed(update, "sr")
    ticket = await uow.session.get(Ticket, press.num(0)) if press is not None else None
    if ticket is None or ticket.reporter_user_id != actor.user.id:
        actor.reply("common/stale_button")
        return
    outcome = await worklog.confirm_service_report(uow, context.desk, ticket, actor.user.id)
    if outcome == "confirmed":
        actor.reply("work/text#report_confirmed", number=ticket.number)
    elif outcome == "already":
        actor.reply("work/text#report_already_confirmed", number=ticket.number)
    else:
        actor.reply("common/stale_button")
