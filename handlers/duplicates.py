"""Duplicate reports (issue 14): the *This is a different problem* button, the "same problem?"
question of the report conversation, and the supervisors' ``/merge A B``.

Thin adapters: ``bot.tickets.intake`` decides and stores (``split_off``, ``join``, ``hold``),
``bot.tickets.merge`` merges. Button data is untrusted: the ticket it names is checked again at
press time (only a reporter linked to it now can split off).
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.core.callbacks import encode
from bot.core.roles import MANAGERS, Role
from bot.tickets import intake, merge
from bot.tickets.duplicates import Duplicate
from bot.tickets.lifecycle import format_number
from handlers.base import Actor, DeskContext, guarded, pressed
from storage.models import Ticket


def linked_buttons(actor: Actor, ticket_id: int) -> list[list[tuple[str, str]]]:
    """The *This is a different problem* button under "already being handled as SD-…"."""
    return [[(actor.t("duplicates/labels#different_button"), encode("dup", "diff", ticket_id))]]


def tell_linked(actor: Actor, found: Duplicate) -> None:
    """The reporter's answer to a report linked to the open ticket ``found``."""
    actor.uow.send(actor.chat_id, actor.t("duplicates/text#linked", number=found.number),
                   buttons=linked_buttons(actor, found.ticket_id))


def send_receipt(actor: Actor, outcome: intake.Outcome) -> None:
    """The receipt of a report opened as a ticket (as the report conversation sends it)."""
    actor.uow.send(actor.chat_id, actor.t("report/text#submitted", **outcome.context()),
                   reply_markup={"remove_keyboard": True})


async def ask_same(actor: Actor, data: dict[str, Any], minutes: int) -> None:
    """ "Is this the same problem as SD-…?" with its two buttons (the report waits in ``data``)."""
    ticket = await actor.uow.session.get(Ticket, data.get("dup_of"))
    if ticket is None:
        return
    buttons = [[(actor.t("duplicates/labels#same_button"), encode("rp", "same"))],
               [(actor.t("duplicates/labels#other_button"), encode("rp", "other"))]]
    actor.uow.send(actor.chat_id, actor.t(
        "duplicates/text#ask_same", number=ticket.number, symptom=ticket.symptom, minutes=minutes,
        created=ticket.created_at.astimezone(actor.uow.now.tzinfo),
    ), buttons=buttons)


@guarded(roles={Role.CUSTOMER})
async def different_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``dup:diff:<ticket id>``: the linked reporter says it is a different problem: the link is
    undone and the report opened and dispatched as a ticket of its own."""
    press = pressed(update, "dup")
    outcome = await intake.split_off(actor.uow, context.desk, actor.user, press.num(0)) if press else None
    if outcome is None:
        actor.reply("common/stale_button")
        return
    send_receipt(actor, outcome)


@guarded(roles=MANAGERS)
async def merge_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/merge A B``: ticket A continues in ticket B; bad input gets one line and changes nothing."""
    uow = actor.uow
    args = context.args or []
    if len(args) != 2:
        year = uow.now.astimezone(context.desk.clock.tz).year
        actor.reply("duplicates/text#merge_usage", example=format_number(year, 1), example2=format_number(year, 2))
        return
    assert actor.user.staff is not None  # MANAGERS are staff
    done = await merge.merge(uow, context.desk, args[0], args[1], actor.user.staff)
    if done.outcome == "unknown":
        actor.reply("duplicates/text#merge_unknown", number=done.bad)
    elif done.outcome == "same":
        actor.reply("duplicates/text#merge_same", number=done.bad)
    elif done.outcome == "closed":
        actor.reply("duplicates/text#merge_closed", number=done.bad, status=done.status)
    else:
        assert done.source is not None and done.target is not None
        actor.reply("duplicates/text#merge_done", number=done.source.number, into=done.target.number,
                    reporters=len(done.reporters), files=done.files)


