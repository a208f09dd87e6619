"""Unit tests of the dispatch helpers that read the policy through the rules module."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from bot import dispatch
from bot.rules.policy import load_policy
from storage.models import Ticket

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


class FakeFacts:
    """Stands in for bot.rules.qa_facts with the policy §2 defaults."""

    @staticmethod
    def sla(policy: object) -> dict[str, int]:
        return {"first_response_hours": 2, "onsite_city_hours": 4, "onsite_suburb_hours": 8, "fix_general_hours": 24}

    @staticmethod
    def warranty_stage(policy: object, kind: str, event: str, date: dt.date, on: dt.date) -> dict[str, str]:
        return {"stage": "exchange" if (on - date).days < 30 else "repair"}


def _desk() -> SimpleNamespace:
    return SimpleNamespace(policy=load_policy())


def test_due_times_from_the_policy_by_zone(monkeypatch) -> None:
    monkeypatch.setattr(dispatch, "_rules_facts", lambda: FakeFacts)
    city, suburb, unknown = (Ticket(created_at=T0) for _ in range(3))
    dispatch.fill_due_times(_desk(), city, "city")
    dispatch.fill_due_times(_desk(), suburb, "suburb")
    dispatch.fill_due_times(_desk(), unknown, None)
    assert (city.first_response_due, city.onsite_due, city.fix_due) == (
        T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=4), T0 + dt.timedelta(hours=24))
    assert suburb.onsite_due == T0 + dt.timedelta(hours=8)
    assert unknown.onsite_due is None and unknown.first_response_due == T0 + dt.timedelta(hours=2)


def test_due_times_set_by_intake_are_kept(monkeypatch) -> None:
    monkeypatch.setattr(dispatch, "_rules_facts", lambda: FakeFacts)
    given = T0 + dt.timedelta(hours=1)
    ticket = Ticket(created_at=T0, first_response_due=given)
    dispatch.fill_due_times(_desk(), ticket, "city")
    assert ticket.first_response_due == given and ticket.onsite_due is None


def test_a_policy_without_the_numbers_gives_no_due_times_and_no_stage(monkeypatch) -> None:
    class Broken:
        @staticmethod
        def sla(policy: object) -> dict[str, int]:
            raise AttributeError("sla")

        warranty_stage = sla

    monkeypatch.setattr(dispatch, "_rules_facts", lambda: Broken)
    ticket = Ticket(created_at=T0)
    dispatch.fill_due_times(_desk(), ticket, "city")
    assert ticket.first_response_due is None
    equipment = SimpleNamespace(kind="product", start_event="sale", start_event_date=dt.date(2026, 11, 1))
    assert dispatch.warranty_stage(_desk(), equipment, dt.date(2026, 11, 23)) is None


def test_warranty_stage_of_equipment(monkeypatch) -> None:
    monkeypatch.setattr(dispatch, "_rules_facts", lambda: FakeFacts)
    equipment = SimpleNamespace(kind="product", start_event="sale", start_event_date=dt.date(2026, 11, 1))
    assert dispatch.warranty_stage(_desk(), equipment, dt.date(2026, 11, 23)) == "exchange"
    assert dispatch.warranty_stage(_desk(), None, dt.date(2026, 11, 23)) is None


def test_escalation_chain_follows_the_policy() -> None:
    desk = _desk()
    assert dispatch.escalation_chain(desk) == ["remind", "next", "supervisors"]
    more = SimpleNamespace(policy=SimpleNamespace(escalation=SimpleNamespace(reminders=2, next_engineers=0)))
    assert dispatch.escalation_chain(more) == ["remind", "remind", "supervisors"]
    assert dispatch.ack_timeout(desk) == dt.timedelta(minutes=desk.policy.dispatch.ack_timeout_minutes)
