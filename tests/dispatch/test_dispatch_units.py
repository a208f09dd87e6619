"""Unit tests of the dispatch helpers that read the policy (due times, warranty stage, escalation)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from bot.dispatch import cards
from bot.dispatch import routing as dispatch
from bot.dispatch import sla as due
from bot.roster import load_roster
from bot.rules.policy import load_policy
from storage.models import Customer, Ticket

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


def _desk() -> SimpleNamespace:
    return SimpleNamespace(policy=load_policy(), roster=load_roster())


def _customer(zone: str) -> Customer:
    return Customer(number="C1", name="x", name_key="x", zone=zone, contract_type="none")


def test_due_times_from_the_policy_by_zone() -> None:
    sla = _desk().policy.sla
    city, suburb, unknown = (Ticket(created_at=T0) for _ in range(3))
    due.fill_due_times(_desk(), city, _customer("city"))
    due.fill_due_times(_desk(), suburb, _customer("suburb"))
    due.fill_due_times(_desk(), unknown, None)
    h = dt.timedelta(hours=1)
    # 10:00 in Shenzhen: response and on site within the day's duty time; the fix's 24 duty hours
    # run to 22:30 (12.5 h) and on from 08:00 (11.5 h): 19:30 the next day
    assert (city.first_response_due, city.onsite_due, city.fix_due) == (
        T0 + sla.first_response_hours * h, T0 + sla.onsite_city_hours * h, T0 + 33.5 * h)
    assert suburb.onsite_due == T0 + sla.onsite_suburb_hours * h
    assert unknown.onsite_due is None and unknown.first_response_due == T0 + sla.first_response_hours * h


def test_due_times_set_by_intake_are_kept() -> None:
    given = T0 + dt.timedelta(hours=1)
    ticket = Ticket(created_at=T0, first_response_due=given)
    due.fill_due_times(_desk(), ticket, _customer("city"))
    assert ticket.first_response_due == given and ticket.onsite_due is None


def test_a_policy_without_the_numbers_gives_no_due_times_and_no_stage() -> None:
    broken = SimpleNamespace(policy=SimpleNamespace())
    ticket = Ticket(created_at=T0)
    due.fill_due_times(broken, ticket, _customer("city"))
    assert ticket.first_response_due is None and ticket.fix_due is None
    equipment = SimpleNamespace(kind="product", start_event="sale", start_event_date=dt.date(2026, 11, 1))
    assert cards.warranty_stage(broken, equipment, dt.date(2026, 11, 23)) is None


def test_warranty_stage_of_equipment() -> None:
    from bot.rules import calculators as calc

    desk = _desk()
    equipment = SimpleNamespace(kind="product", start_event="sale", start_event_date=dt.date(2026, 11, 1))
    expected = calc.warranty_stage(desk.policy, "product", "sale", dt.date(2026, 11, 1), dt.date(2026, 11, 23))
    assert cards.warranty_stage(desk, equipment, dt.date(2026, 11, 23)) == expected.stage
    assert cards.warranty_stage(desk, None, dt.date(2026, 11, 23)) is None


def test_escalation_chain_follows_the_policy() -> None:
    desk = _desk()
    assert dispatch.escalation_chain(desk) == ["remind", "next", "supervisors"]
    more = SimpleNamespace(policy=SimpleNamespace(escalation=SimpleNamespace(reminders=2, next_engineers=0)))
    assert dispatch.escalation_chain(more) == ["remind", "remind", "supervisors"]
    assert dispatch.ack_timeout(desk) == dt.timedelta(minutes=desk.policy.dispatch.ack_timeout_minutes)
