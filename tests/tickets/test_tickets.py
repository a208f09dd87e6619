"""The ticket life cycle in the domain core: numbering, legal and illegal transitions, events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.tickets import lifecycle as tickets
from storage.db import Database
from storage.models import TicketEvent
from tests.harness import fresh_sqlite

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
async def db(template_db: Path, tmp_path: Path):
    database = Database(fresh_sqlite(template_db, tmp_path))
    yield database
    await database.dispose()


def _new(user: int = 7) -> tickets.NewTicket:
    return tickets.NewTicket(reporter_user_id=user, reporter_name="王小明", customer_label="C1001")


async def test_numbers_are_sequential_per_year(db: Database) -> None:
    async with db.write() as s:
        a = await tickets.open_ticket(s, _new(), NOW, TZ)
        b = await tickets.open_ticket(s, _new(), NOW, TZ)
        c = await tickets.open_ticket(s, _new(), dt.datetime(2027, 1, 1, 1, tzinfo=dt.UTC), TZ)
    assert (a.number, b.number, c.number) == ("SD-2026-000001", "SD-2026-000002", "SD-2027-000001")


async def test_full_life_cycle_records_every_transition(db: Database) -> None:
    staff = tickets.Actor("staff", 1)
    async with db.write() as s:
        t = await tickets.open_ticket(s, _new(), NOW, TZ)
        for to in ("dispatched", "acknowledged", "in_progress", "resolved", "reopened", "resolved", "closed"):
            tickets.transition(s, t, to, staff, NOW)
    async with db.read() as s:
        rows = (await s.execute(
            select(TicketEvent.kind, TicketEvent.from_status, TicketEvent.to_status, TicketEvent.actor_kind)
            .where(TicketEvent.ticket_id == t.id)
            .order_by(TicketEvent.id)
        )).all()
    assert [r[0] for r in rows] == [
        "created", "dispatched", "acknowledged", "in_progress", "resolved", "reopened", "resolved", "closed"
    ]
    assert rows[1][1:] == ("new", "dispatched", "staff")
    assert t.acknowledged_at == NOW and t.closed_at == NOW


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ((), "acknowledged"),
        ((), "resolved"),
        (("dispatched", "acknowledged"), "cancelled"),
        (("cancelled",), "dispatched"),
        (("dispatched", "acknowledged", "resolved", "closed"), "in_progress"),
    ],
)
async def test_illegal_transitions_are_refused(db: Database, path: tuple[str, ...], illegal: str) -> None:
    async with db.write() as s:
        t = await tickets.open_ticket(s, _new(), NOW, TZ)
        for to in path:
            tickets.transition(s, t, to, tickets.SYSTEM, NOW)
        before = t.status
        with pytest.raises(tickets.IllegalTransition):
            tickets.transition(s, t, illegal, tickets.SYSTEM, NOW)
        assert t.status == before


async def test_customers_see_only_their_own_tickets(db: Database) -> None:
    async with db.write() as s:
        mine = await tickets.open_ticket(s, _new(7), NOW, TZ)
        theirs = await tickets.open_ticket(s, _new(8), NOW, TZ)
    async with db.read() as s:
        assert (await tickets.customer_ticket(s, mine.number.lower(), 7)) is not None
        assert await tickets.customer_ticket(s, theirs.number, 7) is None
        assert [t.number for t in await tickets.customer_tickets(s, 7)] == [mine.number]


async def test_complaint_flag_is_an_event_naming_the_rule(db: Database) -> None:
    new = _new()
    new.complaint, new.complaint_rule = True, "repeat_fault"
    async with db.write() as s:
        t = await tickets.open_ticket(s, new, NOW, TZ)
    async with db.read() as s:
        rows = (await s.execute(select(TicketEvent.kind, TicketEvent.actor_kind, TicketEvent.data)
                                .where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))).all()
    assert t.complaint
    assert [(k, a) for k, a, _ in rows] == [("created", "customer"), ("complaint", "system")]
    assert rows[1][2]["rule"] == "repeat_fault"


async def test_customer_cancel_only_before_acknowledgement(db: Database) -> None:
    me = tickets.Actor("customer", 7)
    async with db.write() as s:
        early = await tickets.open_ticket(s, _new(), NOW, TZ)
        tickets.transition(s, early, "dispatched", tickets.SYSTEM, NOW)
        assert early.status in tickets.CUSTOMER_CANCELLABLE
        tickets.transition(s, early, "cancelled", me, NOW)
        late = await tickets.open_ticket(s, _new(), NOW, TZ)
        for to in ("dispatched", "acknowledged"):
            tickets.transition(s, late, to, tickets.SYSTEM, NOW)
        assert late.status not in tickets.CUSTOMER_CANCELLABLE
        with pytest.raises(tickets.IllegalTransition):
            tickets.transition(s, late, "cancelled", me, NOW)
    assert early.status == "cancelled" and early.closed_at == NOW and late.status == "acknowledged"
