"""SLA facts per ticket, in SQL, with the same meaning as the SLA watch (``bot.dispatch.sla_watch.sla_met``).

* first response: the first contact with the customer (any kind, or a message relayed to them),
  or the resolution if that came
  first; kept when it happened by ``first_response_due``;
* on site: the first on-site contact; the promise is kept when the engineer was on site — or the
  ticket was resolved — by ``onsite_due``;
* fix: kept when resolved by ``fix_due``.

A promise is *decided* once it was kept or its due time has passed; a *breach* is a decided
promise that was not kept. Cancelled tickets never breach.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.sql.elements import ColumnElement

from bot.reports import sqlx
from bot.tickets.lifecycle import RESPONSE_KINDS
from storage.models import Ticket, TicketEvent


def firsts(where: Any) -> Any:
    """Subquery per ticket matching ``where``: ``first_contact`` and ``first_onsite`` times."""
    onsite = sqlx.json_text("kind") == "onsite"
    return (
        select(
            TicketEvent.ticket_id.label("ticket_id"),
            func.min(TicketEvent.at).label("first_contact"),
            func.min(case((onsite, TicketEvent.at))).label("first_onsite"),
        )
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        # coalesce(kind): walk each ticket's events (ix_events_ticket), never every contact ever made
        .where(where, func.coalesce(TicketEvent.kind, "").in_(RESPONSE_KINDS))
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )


def earliest(a: Any, b: Any) -> ColumnElement[Any]:
    """The earlier of two nullable times (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


@dataclass(frozen=True)
class Promise:
    """One SLA promise of a ticket as SQL expressions."""

    name: str
    due: Any
    kept: ColumnElement[Any]
    decided: ColumnElement[Any]
    breached: ColumnElement[Any]


def promises(sub: Any, now: dt.datetime) -> list[Promise]:
    """The first-response, on-site and fix promises over ``Ticket`` outer-joined with ``sub``."""
    live = Ticket.status != "cancelled"
    responded = earliest(sub.c.first_contact, Ticket.resolved_at)
    out = []
    for name, due, done in (
        ("first_response", Ticket.first_response_due, responded),
        ("onsite", Ticket.onsite_due, earliest(sub.c.first_onsite, Ticket.resolved_at)),
        ("fix", Ticket.fix_due, Ticket.resolved_at),
    ):
        kept = and_(due.is_not(None), done.is_not(None), done <= due)
        decided = and_(due.is_not(None), live, kept | (due < now))
        out.append(Promise(name, due, kept, decided, and_(decided, ~kept)))
    return out


def response_at(sub: Any) -> ColumnElement[Any]:
    """When the customer first heard from an engineer (contact or resolution)."""
    return earliest(sub.c.first_contact, Ticket.resolved_at)
