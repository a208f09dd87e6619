"""Warranty calculators: windows and their boundaries, start by event, service year, exclusions,
sample/repeat returns and repair charges (policy §1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.rules import calculators as calc
from bot.rules.policy import load_policy

D = dt.date
POLICY = load_policy()


def stage(kind: str, event: str, date: D, on: D) -> calc.WarrantyStatus:
    return calc.warranty_stage(POLICY, kind, event, date, on)


@pytest.mark.parametrize(
    ("on", "expected", "clause"),
    [
        (D(2026, 3, 1), "return", "warranty.return"),     # day 1
        (D(2026, 3, 7), "return", "warranty.return"),     # day 7
        (D(2026, 3, 8), "exchange", "warranty.exchange"),  # day 8
        (D(2026, 3, 30), "exchange", "warranty.exchange"),  # day 30
        (D(2026, 3, 31), "repair", "warranty.repair"),    # day 31
        (D(2027, 2, 28), "repair", "warranty.repair"),    # last covered day
        (D(2027, 3, 1), "expired", "warranty.lifetime"),  # the day after
    ],
)
def test_product_sold_over_the_counter(on: D, expected: str, clause: str) -> None:
    st = stage("product", "sale", D(2026, 3, 1), on)
    assert st.stage == expected
    assert st.clauses == ["warranty.start.sale", clause]
    assert st.warranty_start == D(2026, 3, 1) and st.warranty_end == D(2027, 2, 28)
    assert st.in_warranty is (expected != "expired")
    assert st.reason


def test_day_numbers_and_window_ends() -> None:
    st = stage("product", "sale", D(2026, 3, 1), D(2026, 3, 8))
    assert st.day == 8 and st.return_end == D(2026, 3, 7) and st.exchange_end == D(2026, 3, 30)


def test_spec_example_start_13_january_ends_12_january() -> None:
    st = stage("product", "sale", D(2026, 1, 13), D(2027, 1, 12))
    assert (st.stage, st.warranty_end) == ("repair", D(2027, 1, 12))
    assert stage("product", "sale", D(2026, 1, 13), D(2027, 1, 13)).stage == "expired"


def test_project_two_years_from_acceptance_on_29_february() -> None:
    st = stage("project", "acceptance", D(2024, 2, 29), D(2026, 2, 28))
    assert st.warranty_start == D(2024, 2, 29)
    assert (st.stage, st.warranty_end) == ("repair", D(2026, 2, 28))
    assert stage("project", "acceptance", D(2024, 2, 29), D(2026, 3, 1)).stage == "expired"
    assert stage("product", "sale", D(2024, 2, 29), D(2025, 2, 28)).warranty_end == D(2025, 2, 28)


@pytest.mark.parametrize(
    ("event", "start"),
    [("acceptance", D(2026, 1, 10)), ("express", D(2026, 1, 13)), ("freight", D(2026, 1, 15)),
     ("sale", D(2026, 1, 10))],
)
def test_warranty_start_by_event(event: str, start: D) -> None:
    res = calc.warranty_start(POLICY, event, D(2026, 1, 10))
    assert res.warranty_start == start and res.clauses == [f"warranty.start.{event}"]


def test_express_shipment_counts_days_from_presumed_delivery() -> None:
    shipped = D(2026, 12, 29)  # + 3 → 2027-01-01 is day 1, across the year end
    assert stage("product", "express", shipped, D(2027, 1, 7)).stage == "return"
    assert stage("product", "express", shipped, D(2027, 1, 8)).stage == "exchange"
    assert stage("product", "express", shipped, D(2026, 12, 30)).stage == "return"  # still on its way
    assert stage("product", "freight", shipped, D(2027, 1, 9)).day == 7


def test_unknown_kind_or_event_is_an_error() -> None:
    with pytest.raises(calc.RulesError, match="kind"):
        stage("gadget", "sale", D(2026, 1, 1), D(2026, 1, 2))
    with pytest.raises(calc.RulesError, match="event"):
        stage("product", "teleport", D(2026, 1, 1), D(2026, 1, 2))
    with pytest.raises(calc.RulesError, match="before the sale date"):
        stage("product", "sale", D(2026, 1, 2), D(2026, 1, 1))


@pytest.mark.parametrize(
    ("signed", "start", "end"),
    [
        (D(2026, 5, 13), D(2026, 7, 1), D(2027, 6, 30)),   # the seed's own example
        (D(2026, 5, 1), D(2026, 7, 1), D(2027, 6, 30)),
        (D(2026, 5, 31), D(2026, 7, 1), D(2027, 6, 30)),
        (D(2026, 11, 30), D(2027, 1, 1), D(2027, 12, 31)),
        (D(2026, 12, 13), D(2027, 2, 1), D(2028, 1, 31)),  # December signing
        (D(2027, 12, 31), D(2028, 2, 1), D(2029, 1, 31)),
        (D(2023, 12, 5), D(2024, 2, 1), D(2025, 1, 31)),   # year through a leap February
    ],
)
def test_software_service_year(signed: D, start: D, end: D) -> None:
    res = calc.service_year(POLICY, signed)
    assert (res.start, res.end, res.clauses) == (start, end, ["warranty.software_year"])


def test_exclusions_in_both_languages() -> None:
    zh, en = calc.exclusions(POLICY, "zh"), calc.exclusions(POLICY, "en")
    assert len(zh.entries) == len(en.entries) == 5 and zh.clauses == ["warranty.exclusions"]
    assert any("雷击" in e for e in zh.entries) and any("lightning" in e for e in en.entries)


def test_sample_return_within_one_month() -> None:
    assert calc.sample_return(POLICY, D(2026, 1, 31), D(2026, 2, 28)).eligible
    assert not calc.sample_return(POLICY, D(2026, 1, 31), D(2026, 3, 1)).eligible
    assert calc.sample_return(POLICY, D(2026, 3, 10), D(2026, 4, 9)).eligible
    assert not calc.sample_return(POLICY, D(2026, 3, 10), D(2026, 4, 10)).eligible
    assert not calc.sample_return(POLICY, D(2026, 3, 10), D(2026, 3, 11), unused=False).eligible


def test_repeat_return_two_replacements_within_six_months() -> None:
    on = D(2026, 9, 1)
    assert calc.repeat_return(POLICY, [D(2026, 3, 2), D(2026, 8, 1)], on).eligible
    assert not calc.repeat_return(POLICY, [D(2026, 3, 1), D(2026, 8, 1)], on).eligible  # 6 months ago
    assert not calc.repeat_return(POLICY, [D(2026, 8, 1)], on).eligible


def test_repair_charge_by_stage() -> None:
    inside = stage("product", "sale", D(2026, 1, 1), D(2026, 6, 1))
    after = stage("product", "sale", D(2024, 1, 1), D(2026, 6, 1))
    assert calc.repair_charge(POLICY, inside, parts_cost=300).total == 0
    excluded = calc.repair_charge(POLICY, inside, parts_cost=300, excluded=True)
    assert excluded.total == Decimal("300.00") and "warranty.exclusions" in excluded.clauses
    lifetime = calc.repair_charge(POLICY, after, parts_cost="120.50", labour_hours=3)
    assert (lifetime.parts, lifetime.labour, lifetime.total) == (Decimal("120.50"), 0, Decimal("120.50"))
    assert lifetime.clauses[0] == "warranty.lifetime"
