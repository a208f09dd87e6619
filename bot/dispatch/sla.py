"""SLA due times of a ticket (policy §2, issue 14): the one computation used by intake (the
receipt), the dispatch card, ``/ticket``, ``/overdue``, ``/stats``, the export (all read the due
times stored on the ticket here), the SLA watch (a reopened ticket's fresh cycle), dispatch's
fill-in and the pause/resume shift.

Clocks run on the service calendar each ``[sla.calendar]`` clause names: the roster's duty window
(``duty_start``–``duty_end``, every day) or 24×7; the arithmetic is ``calc.add_service_time``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.rules import calculators as calc
from bot.rules.sla import clock_of
from storage.models import Customer, Ticket

if TYPE_CHECKING:
    from bot.desk import Desk

# the ticket's due-time columns and the [sla.calendar] clock each runs on
DUE_CLOCKS = (("first_response_due", "first_response"), ("onsite_due", "onsite"), ("fix_due", "fix"))


def duty_window(desk: Desk) -> calc.ServiceWindow:
    """The duty service window of the roster file (08:00–22:30 by default), in its time zone."""
    hours = desk.roster.hours
    return calc.ServiceWindow(hours.duty_start, hours.duty_end, ZoneInfo(desk.roster.timezone))


def due_times(desk: Desk, now: dt.datetime, customer: Customer | None) -> calc.SlaDue | None:
    """SLA due times of a report made at ``now`` (zone and contract of the named customer, when
    known), on the service calendar; None when the policy cannot give them. Also used for a
    reopened ticket's fresh cycle."""
    zone = customer.zone if customer is not None and customer.zone in ("city", "suburb") else None
    try:
        return calc.sla_due_times(
            desk.policy, now, zone, contract_type=customer.contract_type if customer else "none",
            window=duty_window(desk),
        )
    except (ValueError, AttributeError, TypeError, KeyError):  # a policy without these numbers: no due times
        return None


def fill_due_times(desk: Desk, ticket: Ticket, customer: Customer | None) -> None:
    """SLA due times from the policy (policy §2) when intake did not set them: counted from the
    ticket's creation, on site by the customer's zone and contract (``due_times``)."""
    if any((ticket.first_response_due, ticket.onsite_due, ticket.fix_due)):
        return
    due = due_times(desk, ticket.created_at, customer)
    if due is not None:
        ticket.first_response_due, ticket.onsite_due, ticket.fix_due = due.first_response, due.onsite, due.fix


def shift_for_pause(desk: Desk, ticket: Ticket, paused_at: dt.datetime, resumed_at: dt.datetime) -> None:
    """Move the ticket's due times by a pause ``[paused_at, resumed_at)``: each due time still
    ahead at the pause keeps the service time it had left then, counted again from the resume. A
    due time already passed when the pause began stays (the commitment was missed before it)."""
    for column, clock in DUE_CLOCKS:
        due = getattr(ticket, column)
        if due is not None:
            setattr(ticket, column, shift_due(desk, clock, due, paused_at, resumed_at))


def shift_due(desk: Desk, clock: str, due: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime) -> dt.datetime:
    """One due time of SLA clause ``clock`` (first_response/onsite/fix) moved by a pause, as
    ``shift_for_pause`` moves a ticket's (also used for the due times of a reopened cycle)."""
    if due <= paused_at:
        return due
    cal = clock_of(desk.policy, clock, duty_window(desk))
    left = calc.service_time_between(paused_at, due, cal)
    return calc.add_service_time(resumed_at, left, cal)


def paused_total(ticket: Ticket, now: dt.datetime) -> dt.timedelta:
    """Paused wall-clock time of ``ticket`` so far: finished pauses plus the running one."""
    running = now - ticket.paused_at if ticket.paused_at is not None else dt.timedelta(0)
    return dt.timedelta(seconds=ticket.paused_seconds or 0) + running
