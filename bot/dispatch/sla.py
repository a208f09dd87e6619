"""SLA due times of a ticket from the policy (policy §2): the one computation used by intake, the
dispatch card, the SLA watch (a reopened ticket's fresh cycle) and dispatch's fill-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.rules import calculators as calc
from storage.models import Customer, Ticket


def due_times(policy: Any, now: dt.datetime, customer: Customer | None) -> Any | None:
    """SLA due times of a report made at ``now`` (zone and contract of the named customer, when
    known); None when the policy cannot give them. Also used for a reopened ticket's fresh cycle."""
    zone = customer.zone if customer is not None and customer.zone in ("city", "suburb") else None
    try:
        return calc.sla_due_times(policy, now, zone, contract_type=customer.contract_type if customer else "none")
    except (ValueError, AttributeError, TypeError, KeyError):  # a policy without these numbers: no due times
        return None


def fill_due_times(desk: Any, ticket: Ticket, customer: Customer | None) -> None:
    """SLA due times from the policy (policy §2) when intake did not set them: counted from the
    ticket's creation, on site by the customer's zone and contract (``due_times``)."""
    if any((ticket.first_response_due, ticket.onsite_due, ticket.fix_due)):
        return
    due = due_times(desk.policy, ticket.created_at, customer)
    if due is not None:
        ticket.first_response_due, ticket.onsite_due, ticket.fix_due = due.first_response, due.onsite, due.fix
