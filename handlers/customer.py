"""Customer commands: /mytickets, /ticket NO, /whoami, /unlink, cancelling one's own ticket, rating."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.core import uow as uow_mod
from bot.reports import paging
from bot.tickets import intake
from bot.tickets import lifecycle as tickets
from bot.tickets import work as worklog
from handlers.base import Actor, desk_of, guarded
from storage.models import Customer, Ticket


@guarded(roles=("customer",))
async def my_tickets(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """The customer's own tickets, newest first."""
    rows = await tickets.customer_tickets(uow_mod.current().session, actor.user.id)
    items = [
        {"number": t.number, "status": t.status, "equipment": t.equipment_label, "symptom": t.symptom}
        for t in rows
    ]
    uow = uow_mod.current()
    await paging.send_paged(uow, actor.chat_id, actor.user.id, actor.t("tickets/text#mine", items=items))


@guarded(roles=("customer",))
async def show_ticket(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """``/ticket NO``: one of the customer's own tickets; anyone else's is "not found"."""
    if not context.args:
        actor.reply("tickets/text#usage")
        return
    uow = uow_mod.current()
    ticket = await tickets.customer_ticket(uow.session, context.args[0], actor.user.id)
    if ticket is None:
        actor.reply("tickets/text#not_found", number=context.args[0][:30])
        return
    buttons = None
    if ticket.status in tickets.CUSTOMER_CANCELLABLE:
        buttons = [[(actor.t("tickets/labels#cancel_button"), f"tk:cancel:{ticket.number}")]]
    actor.reply(
        "tickets/text#detail",
        buttons=buttons,
        number=ticket.number,
        status=ticket.status,
        equipment=ticket.equipment_label,
        symptom=ticket.symptom,
        created=ticket.created_at.astimezone(uow_mod.current().now.tzinfo),
        resolution=ticket.resolution,
    )


@guarded(roles=("customer",))
async def cancel_button(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """``tk:cancel:<number>``: only the reporter, only before an engineer acknowledged."""
    uow = uow_mod.current()
    data = update.callback_query.data if update.callback_query else ""
    number = (data or "").split(":", 2)[-1]
    ticket = await tickets.customer_ticket(uow.session, number, actor.user.id)
    if ticket is None:
        actor.reply("tickets/text#not_found", number=number[:30])
        return
    if not await intake.cancel_by_customer(uow, desk_of(context), ticket, actor.user.id):
        actor.reply("tickets/text#cannot_cancel", number=ticket.number, status=ticket.status)
        return
    actor.reply("tickets/text#cancelled", number=ticket.number)


@guarded(roles=("customer",))
async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """What the bot knows this account is linked to."""
    customer = None
    if actor.user.customer_id and actor.user.verified:
        customer = await uow_mod.current().session.get(Customer, actor.user.customer_id)
    actor.reply(
        "tickets/text#whoami",
        customer=customer.name if customer else None,
        number=customer.number if customer else None,
        name=actor.user.display_name,
    )


@guarded(roles=("customer",))
async def unlink(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """Forget the link between this Telegram account and a customer."""
    user = actor.user
    user.customer_id = user.contact_id = None
    user.verified = False
    user.phone = None
    actor.reply("tickets/text#unlinked")


@guarded(roles=("customer",))
async def rate_button(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """``rt:<ticket id>:<rating key>``: only the reporter, only once, only while resolved."""
    uow = uow_mod.current()
    parts = (update.callback_query.data or "").split(":") if update.callback_query else []
    ticket = None
    if len(parts) == 3 and parts[1].isdecimal() and len(parts[1]) <= 12:
        ticket = await uow.session.get(Ticket, int(parts[1]))
    if ticket is None or ticket.reporter_user_id != actor.user.id:
        actor.reply("common/stale_button")
        return
    if not await worklog.rate(uow, desk_of(context), ticket, actor.user.id, parts[2]):
        actor.reply("work/text#already_rated", number=ticket.number)
        return
    actor.reply("work/text#thanks_rating", number=ticket.number)
