"""A first-response promise that passed with nobody acknowledging: tell the customer (no Telegram).

The timer is started by ``routing.dispatch`` at the ticket's ``first_response_due``. When it fires
and the ticket is still waiting for an engineer (new or dispatched), the reporter gets an apology
and the new time the desk commits to: policy ``[escalation] recommit_minutes`` from now, or from
the start of the next duty window when nobody is on duty then. That new time is watched the same
way, so a promise is never left standing once it has been broken. The ticket's own due times stay
those of the report (the SLA reports measure that promise); each renewal is a ``promise_renewed``
event.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.core import timers
from bot.core import uow as uow_mod
from bot.dispatch import routing
from bot.tickets import lifecycle as tickets
from bot.tickets import links
from storage.models import Ticket

if TYPE_CHECKING:
    from bot.desk import Desk

WAITING = ("new", "dispatched")  # nobody has acknowledged the ticket yet


async def new_commitment(uow: uow_mod.UnitOfWork, desk: Desk) -> dt.datetime:
    """The time the desk commits to now: ``recommit_minutes`` of duty time from now."""
    minutes = dt.timedelta(minutes=desk.policy.escalation.recommit_minutes)
    roster = await routing.effective_roster(uow, desk)
    start = routing.duty_time(roster, uow.now)
    return start + minutes


async def promise_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """The promised response time passed: if nobody acknowledged, apologise and commit anew."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"], with_for_update=True)  # vs. a concurrent press
    if ticket is None or ticket.status not in WAITING:
        return
    promised = dt.datetime.fromisoformat(payload["due"])
    renewed = await new_commitment(uow, desk)
    tz = uow.now.tzinfo
    await links.tell_reporters(
        uow, ticket, "dispatch/text#customer_late", default_locale=desk.settings.default_locale,
        priority=uow_mod.PRIORITY_URGENT, ref=f"ticket:{ticket.id}",
        number=ticket.number, promised=promised.astimezone(tz), new=renewed.astimezone(tz),
    )
    tickets.record(
        uow.session, ticket, "promise_renewed", tickets.SYSTEM, uow.now,
        data={"promised": promised.isoformat(), "new": renewed.isoformat()},
    )
    await timers.schedule_once(
        uow.session, "promise", f"promise:{ticket.id}:{int(renewed.timestamp())}", renewed,
        {"ticket_id": ticket.id, "due": renewed.isoformat()},
    )
