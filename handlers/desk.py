"""Desk commands for supervisors and admins: ``/verify TICKET_NO [CUSTOMER_NO]``."""

from __future__ import annotations

from telegram import Update

from bot.core.roles import MANAGERS
from bot.tickets import intake
from handlers.base import Actor, DeskContext, guarded
from storage.models import Customer

MAX_ARG = 40  # a ticket or customer number is short; anything longer is echoed cut


@guarded(roles=MANAGERS)
async def verify_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """Confirm the reporter of an unverified ticket (``intake.desk_confirms``, as ``sdbot customers
    verify`` does); the reporter is told their account is verified."""
    args = context.args or []
    if not 1 <= len(args) <= 2:
        actor.reply("tickets/text#verify_usage")
        return
    number, customer_number = args[0][:MAX_ARG], (args[1][:MAX_ARG] if len(args) == 2 else None)
    uow = actor.uow
    staff_id = actor.user.staff.id if actor.user.staff is not None else None
    try:
        ticket = await intake.desk_confirms(uow, number, customer_number, by_staff=staff_id,
                                            default_locale=context.desk.settings.default_locale)
    except intake.VerifyError as exc:
        actor.reply("tickets/text#verify_failed", reason=exc.reason, number=number, customer=customer_number)
        return
    customer = await uow.session.get(Customer, ticket.customer_id)
    assert customer is not None
    actor.reply("tickets/text#verify_done", number=ticket.number, customer=customer.name,
                customer_number=customer.number)
