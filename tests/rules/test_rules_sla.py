"""SLA promises and due times, depot turnaround, loaner, contract coverage, shipping, complaints."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.rules import calculators as calc
from bot.rules.policy import load_policy

POLICY = load_policy()
CST = dt.timezone(dt.timedelta(hours=8))
H = dt.timedelta(hours=1)


def weekdays(day: dt.date) -> bool:
    return day.weekday() < 5


@pytest.mark.parametrize(("zone", "hours"), [("city", 4), ("suburb", 8), (None, None)])
def test_due_times_by_zone(zone: str | None, hours: int | None) -> None:
    at = dt.datetime(2026, 11, 24, 10, 30, tzinfo=CST)  # a Tuesday
    due = calc.sla_due_times(POLICY, at, zone, is_workday=weekdays)
    assert due.first_response == at + 2 * H
    assert due.onsite == (at + hours * H if hours else None)
    assert due.fix == at + 24 * H and due.loaner is None
    assert due.answer == dt.datetime(2026, 11, 26, 10, 30, tzinfo=CST)
    assert due.clauses[:2] == ["sla.first_response", "sla.answer"]
    assert (f"sla.onsite.{zone}" in due.clauses) is bool(zone)


def test_complex_fault_annual_contract_and_weekend_answer() -> None:
    at = dt.datetime(2026, 11, 27, 18, 0, tzinfo=CST)  # a Friday
    due = calc.sla_due_times(POLICY, at, "suburb", complex_fault=True, contract_type="annual", is_workday=weekdays)
    assert due.fix == at + 72 * H and "sla.fix.complex" in due.clauses
    assert due.loaner == at + 48 * H and "sla.loaner" in due.clauses
    assert due.answer.date() == dt.date(2026, 12, 1)  # Mon, Tue


def test_answer_follows_the_official_calendar_by_default() -> None:
    at = dt.datetime(2026, 9, 30, 9, 0, tzinfo=CST)  # before the National Day week
    assert calc.sla_due_times(POLICY, at, "city").answer.date() > dt.date(2026, 10, 7)


@pytest.mark.parametrize(("contract", "loaner"), [("annual", True), ("per_visit", False), ("none", False)])
def test_promises_and_loaner_by_contract(contract: str, loaner: bool) -> None:
    p = calc.sla_promises(POLICY, "city", contract)
    assert (p.first_response_hours, p.onsite_hours, p.fix_general_hours, p.fix_complex_hours) == (2, 4, 24, 72)
    assert p.loaner is loaner and p.loaner_after_hours == 48
    promise = calc.response_promise(POLICY, "suburb", contract)
    assert (promise.first_response_hours, promise.onsite_hours) == (2, 8)
    assert (promise.loaner_after_hours == 48) is loaner


def test_loaner_due_after_48_hours_for_annual_only() -> None:
    at = dt.datetime(2026, 11, 1, 9, 0, tzinfo=CST)
    assert not calc.loaner_due(POLICY, "annual", at, at + 47 * H)
    assert calc.loaner_due(POLICY, "annual", at, at + 48 * H)
    assert not calc.loaner_due(POLICY, "per_visit", at, at + 100 * H)


def test_unknown_zone_or_contract() -> None:
    with pytest.raises(calc.RulesError):
        calc.response_promise(POLICY, "moon", "annual")
    with pytest.raises(calc.RulesError):
        calc.sla_promises(POLICY, "city", "gold")


def test_depot_turnaround() -> None:
    friday = dt.date(2026, 11, 27)
    inside = calc.depot_due(POLICY, friday, in_warranty=True, is_workday=weekdays)
    assert inside.due == dt.date(2026, 11, 30) and inside.clauses == ["sla.depot.in_warranty"]
    out = calc.depot_due(POLICY, friday, in_warranty=False)
    assert out.due == dt.date(2026, 12, 1) and out.clauses == ["sla.depot.out_of_warranty"]
    assert calc.depot_due(POLICY, friday, in_warranty=True, excluded=True).due == dt.date(2026, 12, 1)


def test_coverage_by_contract_type() -> None:
    on = dt.date(2026, 11, 24)
    paid = calc.coverage(POLICY, "annual", maintenance_paid_until=dt.date(2026, 12, 31), on=on)
    assert paid.free and paid.loaner and "fee.free_when_covered" in paid.clauses
    lapsed = calc.coverage(POLICY, "annual", maintenance_paid_until=dt.date(2026, 11, 23), on=on)
    assert not lapsed.free and lapsed.loaner
    per_visit = calc.coverage(POLICY, "per_visit", maintenance_paid_until=dt.date(2027, 1, 1), on=on)
    assert not per_visit.free and not per_visit.loaner
    assert calc.coverage(POLICY, "none", in_warranty=True).free
    assert calc.coverage(POLICY, None).contract_type == "none"


@pytest.mark.parametrize(
    ("kw", "inbound", "outbound", "clause"),
    [
        ({"in_warranty": True}, "customer", "company", "shipping.in_warranty"),
        ({"in_warranty": True, "quality_fault": True}, "customer", "company", "shipping.quality_fault"),
        ({"in_warranty": False}, "customer", "customer", "shipping.out_of_warranty"),
        ({"in_warranty": True, "excluded": True}, "customer", "customer", "shipping.out_of_warranty"),
    ],
)
def test_shipping_cost(kw: dict, inbound: str, outbound: str, clause: str) -> None:
    res = calc.shipping_cost(POLICY, **kw)
    assert (res.inbound, res.outbound) == (inbound, outbound) and clause in res.clauses


def test_complaint_rules() -> None:
    on = dt.date(2026, 11, 24)
    past = calc.PastFault
    repeat = calc.complaint_check(POLICY, "no_video", [past(date=dt.date(2025, 1, 5), fault="no_video")], on)
    assert repeat.complaint and repeat.rule == "repeat_fault" and repeat.clauses == ["complaint.repeat_fault"]
    unrepaired = [past(date=dt.date(2024, 1, 5), fault="no_video", repaired=False)]
    assert not calc.complaint_check(POLICY, "no_video", unrepaired, on).complaint
    two = calc.complaint_check(POLICY, "no_power", [past(date=dt.date(2026, 1, 5), fault="no_video")], on)
    assert two.complaint and two.rule == "multiple_faults" and two.different_faults == 2
    old = calc.complaint_check(POLICY, "no_power", [past(date=dt.date(2025, 11, 24), fault="no_video")], on)
    assert not old.complaint  # more than a year ago
    assert not calc.complaint_check(POLICY, "no_power", [], on).complaint
