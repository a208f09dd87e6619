"""Customer commands: /mytickets, /ticket NO, /whoami, /unlink, cancelling one's own ticket, rating."""

from __future__ import annotations

from telegram import Update

from bot.core.callbacks import encode
from bot.core.roles import Role
from bot.reports import paging
from bot.tickets import intake, links, relay
from bot.tickets import lifecycle as tickets
from bot.tickets import work as worklog
from handlers.base import Actor, DeskContext, guarded, pressed
from storage.models import Customer, Ticket


@guarded(roles={Role.CUSTOMER})
async def my_tickets(update: Update, context: DeskContext, actor: Actor) -> None:
    """The customer's own tickets and those their reports are linked to, newest first."""
    own = await tickets.customer_tickets(actor.uow.session, actor.user.id)
    joined = await links.linked_tickets(actor.uow.session, actor.user.id)  # reports linked to open tickets
    rows = sorted([*own, *joined], key=lambda t: t.id, reverse=True)[:20]
    items = [
        {"number": t.number, "status": t.status, "equipment": t.equipment_label, "symptom": t.symptom}
        for t in rows
    ]
    uow = actor.uow
    await paging.send_paged(uow, actor.chat_id, actor.user.id, actor.t("tickets/text#mine", items=items))


@guarded(roles={Role.CUSTOMER})
async def show_ticket(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/ticket NO``: one of the customer's own tickets; anyone else's is "not found"."""
    if not context.args:
        actor.reply("tickets/text#usage")
        return
    uow = actor.uow
    ticket = await links.visible_ticket(uow.session, context.args[0], actor.user.id)  # own or linked
    if ticket is None:
        actor.reply("tickets/text#not_found", number=context.args[0][:30])
        return
    buttons = None
    if ticket.status in tickets.CUSTOMER_CANCELLABLE and ticket.reporter_user_id == actor.user.id:
        buttons = [[(actor.t("tickets/labels#cancel_button"), encode("tk", "cancel", ticket.number))]]
    actor.reply(
        "tickets/text#detail",
        buttons=buttons,
        number=ticket.number,
        status=ticket.status,
        equipment=ticket.equipment_label,
        symptom=ticket.symptom,
        created=ticket.created_at.astimezone(actor.uow.now.tzinfo),
        resolution=ticket.resolution,
        # the conversation with the engineer: its reporter's only (a linked reporter sees the ticket, not it)
        messages=await relay.conversation(uow.session, ticket) if ticket.reporter_user_id == actor.user.id else [],
        tz=actor.uow.now.tzinfo,
    )


@guarded(roles={Role.CUSTOMER})
async def cancel_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``tk:cancel:<number>``: only the reporter, only before an engineer acknowledged."""
    uow = actor.uow
    press = pressed(update, "tk")
    if press is None:
        actor.reply("common/stale_button")
        return
    number = press.text(0)
    ticket = await tickets.customer_ticket(uow.session, number, actor.user.id)
    if ticket is None:
        actor.reply("tickets/text#not_found", number=number)
        return
    if not await intake.cancel_by_customer(uow, context.desk, ticket, actor.user.id):
        actor.reply("tickets/text#cannot_cancel", number=ticket.number, status=ticket.status)
        return
    actor.reply("tickets/text#cancelled", number=ticket.number)


@guarded(roles={Role.CUSTOMER})
async def whoami(update: Update, context: DeskContext, actor: Actor) -> None:
    """What the bot knows this account is linked to."""
    customer = None
    if actor.user.customer_id and actor.user.verified:
        customer = await actor.uow.session.get(Customer, actor.user.customer_id)
    actor.reply(
        "tickets/text#whoami",
        customer=customer.name if customer else None,
        number=customer.number if customer else None,
        name=actor.user.display_name,
    )


@guarded(roles={Role.CUSTOMER})
async def unlink(update: Update, context: DeskContext, actor: Actor) -> None:
    """Forget the link between this Telegram account and a customer."""
    user = actor.user
    user.customer_id = user.contact_id = None
    user.verified = False
    user.phone = None
    actor.reply("tickets/text#unlinked")


@guarded(roles={Role.CUSTOMER})
async def rate_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``rt:<ticket id>:<rating key>``: only the reporter, only once, only while resolved."""
    uow = actor.uow
    press = pressed(update, "rt")
    ticket = await uow.session.get(Ticket, press.num(0)) if press is not None else None
    if press is None or ticket is None or ticket.reporter_user_id != actor.user.id:
        actor.reply("common/stale_button")
        return
    if not await worklog.rate(uow, context.desk, ticket, actor.user.id, press.text(1)):
        actor.reply("work/text#already_rated", number=ticket.number)
        return
    actor.reply("work/text#thanks_rating", number=ticket.number)
