"""Working a ticket: contacts with minutes, resolution, service report, rating, hand-over."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot import dispatch, tickets, timers
from bot import uow as uow_mod
from bot.i18n import render
from bot.notify import locale_of, staff_by_key, tell
from storage.models import Staff, Ticket, TicketEvent

RATING_KEYS = ("very_satisfied", "satisfied", "average", "no_opinion", "dissatisfied")


def record_contact(
    uow: uow_mod.UnitOfWork, ticket: Ticket, staff: Staff, kind: str, done: str, result: str, minutes: int
) -> None:
    """A contact with the customer: what was done, the result, how long it took."""
    if ticket.status in ("acknowledged", "reopened"):
        tickets.transition(uow.session, ticket, "in_progress", tickets.Actor("staff", staff.id), uow.now)
    tickets.record(
        uow.session, ticket, "contact", tickets.Actor("staff", staff.id), uow.now, minutes=minutes,
        data={"kind": kind, "done": done, "result": result, "by": staff.key},
    )


def rating_buttons(locale: str, ticket_id: int) -> uow_mod.Buttons:
    """The five rating buttons of policy §5."""
    return [[(render(locale, f"work/labels#rate_{k}"), f"rt:{ticket_id}:{k}")] for k in RATING_KEYS]


async def resolve(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, staff: Staff, summary: str) -> None:
    """Resolve with a summary; ask the customer to confirm an on-site report and to rate."""
    actor = tickets.Actor("staff", staff.id)
    tickets.transition(uow.session, ticket, "resolved", actor, uow.now, data={"summary": summary, "by": staff.key})
    ticket.resolution = summary
    onsite = await uow.session.scalar(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "contact",
            TicketEvent.data["kind"].as_string() == "onsite",
        ).limit(1)
    )
    default = desk.settings.default_locale
    locale = await locale_of(uow.session, ticket.reporter_user_id, default)
    if onsite is not None:
        report = render(locale, "work/text#service_report", number=ticket.number, engineer=staff.name, summary=summary)
        uow.send(
            ticket.reporter_user_id, report, priority=uow_mod.PRIORITY_NOTICE, ref=f"ticket:{ticket.id}",
            buttons=[[(render(locale, "work/labels#confirm_report"), f"sr:{ticket.id}")]],
        )
    await tell(
        uow, ticket.reporter_user_id, "work/text#rate_request", default_locale=default,
        buttons_of=lambda loc: rating_buttons(loc, ticket.id), ref=f"ticket:{ticket.id}",
        number=ticket.number, summary=summary,
    )
    days = desk.policy.satisfaction.no_answer_days
    timers.schedule(
        uow.session, "autoclose", f"autoclose:{ticket.id}:{int(uow.now.timestamp())}",
        uow.now + dt.timedelta(days=days), {"ticket_id": ticket.id},
    )


def score_of(desk: Any, key: str) -> int:
    """The satisfaction score of a rating key, from the policy file."""
    return int(getattr(desk.policy.satisfaction.scores, key))


async def rate(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, user_id: int, key: str) -> bool:
    """The customer's rating closes the ticket; False when it can no longer be rated."""
    if ticket.status != "resolved" or key not in RATING_KEYS:
        return False
    tickets.transition(
        uow.session, ticket, "closed", tickets.Actor("customer", user_id), uow.now,
        data={"rating": key, "score": score_of(desk, key)},
    )
    ticket.rating = score_of(desk, key)
    await timers.cancel(uow.session, f"autoclose:{ticket.id}:")
    return True


@timers.timer_handler("autoclose")
async def _autoclose(uow: uow_mod.UnitOfWork, desk: Any, payload: dict[str, Any]) -> None:
    """No rating within the policy's days: closed as "no opinion"."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"])
    if ticket is None or ticket.status != "resolved":
        return
    ticket.rating = score_of(desk, "no_opinion")
    tickets.transition(
        uow.session, ticket, "closed", tickets.SYSTEM, uow.now,
        data={"rating": "no_opinion", "score": ticket.rating, "auto": True},
    )


async def hand_over(
    uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, staff: Staff, reason: str
) -> Staff | None:
    """Pass the ticket to the next engineer in the rotation, with a reason."""
    from bot.roster.duty import rotation_next

    roster = await dispatch.effective_roster(uow, desk)
    layer = next((la.name for la in roster.layers if staff.key in la.members), None)
    if layer is None:
        return None
    nxt = await staff_by_key(uow.session, rotation_next(roster, layer, staff.key))
    if nxt is None or nxt.id == staff.id or not nxt.active:
        return None
    tickets.record(
        uow.session, ticket, "handover", tickets.Actor("staff", staff.id), uow.now,
        data={"from": staff.key, "to": nxt.key, "reason": reason},
    )
    ticket.assignee_id = nxt.id
    if ticket.status in ("acknowledged", "in_progress", "reopened"):
        tickets.transition(uow.session, ticket, "dispatched", tickets.Actor("staff", staff.id), uow.now,
                           kind="handover_dispatch", data={"to": nxt.key})
    await dispatch.send_to(uow, desk, ticket, nxt, layer=layer, stage=0, reason="handover")
    return nxt


async def customer_follow_up(uow: uow_mod.UnitOfWork, desk: Any, ticket: Ticket, text: str) -> str:
    """A customer's reply to a ticket message: adds information, or reopens a resolved ticket."""
    actor = tickets.Actor("customer", ticket.reporter_user_id)
    if ticket.status in tickets.OPEN_STATES:
        tickets.record(uow.session, ticket, "customer_info", actor, uow.now, data={"text": text})
        outcome = "added"
    elif ticket.status in ("resolved", "closed"):
        tickets.transition(uow.session, ticket, "reopened", actor, uow.now, data={"text": text})
        await timers.cancel(uow.session, f"autoclose:{ticket.id}:")
        ticket.rating = None
        await dispatch.dispatch(uow, desk, ticket)
        outcome = "reopened"
    else:
        return "closed"
    assignee = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    if assignee is not None and assignee.telegram_user_id is not None and outcome == "added":
        await tell(
            uow, assignee.telegram_user_id, "work/text#customer_added", default_locale=desk.settings.default_locale,
            priority=uow_mod.PRIORITY_NOTICE, number=ticket.number, text=text,
        )
    return outcome
