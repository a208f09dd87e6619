"""The submit promise and the complaint rule (bot.tickets.promise): every number follows the policy file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from bot.rules import calculators as calc
from bot.rules.policy import DEFAULT_POLICY, load_policy
from bot.tickets import promise

POLICY = load_policy()
TODAY = dt.date(2026, 11, 23)


def _edited(tmp_path: Path, old: str, new: str):  # noqa: ANN202 - a Policy
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_policy(path)


def test_unverified_gets_only_the_general_promise() -> None:
    p = promise.promise(POLICY, None, TODAY)
    assert p.first_response_hours == POLICY.sla.first_response_hours
    assert (p.onsite_hours, p.warranty, p.charged, p.visit_fee) == (None, None, None, None)
    assert (p.onsite_city_hours, p.onsite_suburb_hours) == (POLICY.sla.onsite_city_hours, POLICY.sla.onsite_suburb_hours)


def test_in_warranty_equipment_visit_is_free() -> None:
    facts = promise.Facts(zone="suburb", contract_type="per_visit", kind="product", start_event="sale",
                          start_event_date=dt.date(2026, 11, 20))
    p = promise.promise(POLICY, facts, TODAY)
    assert p.onsite_hours == POLICY.sla.onsite_suburb_hours
    assert p.warranty == "return" and p.charged is False and p.free_because == "warranty" and p.visit_fee is None


def test_expired_equipment_without_contract_is_charged_the_zone_fee() -> None:
    facts = promise.Facts(zone="city", contract_type="none", kind="product", start_event="sale",
                          start_event_date=dt.date(2023, 1, 1))
    p = promise.promise(POLICY, facts, TODAY)
    assert p.warranty == "expired" and p.charged is True
    assert p.visit_fee == calc.onsite_fee(POLICY, "city").total == POLICY.fees.onsite.city.first_visit


def test_paid_up_annual_contract_makes_an_expired_visit_free() -> None:
    facts = promise.Facts(zone="city", contract_type="annual", maintenance_paid_until=dt.date(2027, 6, 30),
                          kind="product", start_event="sale", start_event_date=dt.date(2020, 1, 1))
    p = promise.promise(POLICY, facts, TODAY)
    assert p.charged is False and p.free_because == "contract"
    assert p.loaner_after_hours == POLICY.sla.loaner_after_hours


def test_verified_without_registered_equipment_leaves_the_charge_open() -> None:
    p = promise.promise(POLICY, promise.Facts(zone="suburb", contract_type="none"), TODAY)
    assert p.warranty is None and p.charged is None
    assert p.visit_fee == POLICY.fees.onsite.suburb.first_visit  # shown as "if out of warranty"


def test_edited_policy_changes_the_promise(tmp_path: Path) -> None:
    policy = _edited(tmp_path, "first_response_hours = 2", "first_response_hours = 3")
    assert promise.promise(policy, None, TODAY).first_response_hours == 3
    policy = _edited(tmp_path, "repair_years_product = 1", "repair_years_product = 5")
    facts = promise.Facts(zone="city", kind="product", start_event="sale", start_event_date=dt.date(2023, 1, 1))
    assert promise.promise(policy, facts, TODAY).warranty == "repair"


def test_complaint_rule_same_fault_after_a_repair_and_two_faults_in_a_year() -> None:
    assert promise.complaint(POLICY, "录像机没有画面", [], TODAY) is None
    repaired = [(dt.date(2026, 9, 1), "录像机没有画面，黑屏", True)]
    assert promise.complaint(POLICY, "录像机又没有画面了", repaired, TODAY) == "repeat_fault"
    other = [(dt.date(2026, 3, 1), "硬盘报警声音很大", False)]
    assert promise.complaint(POLICY, "录像机没有画面", other, TODAY) == "multiple_faults"
    long_ago = [(dt.date(2024, 3, 1), "硬盘报警声音很大", False)]
    assert promise.complaint(POLICY, "录像机没有画面", long_ago, TODAY) is None


def test_fee_is_a_decimal_from_the_file(tmp_path: Path) -> None:
    policy = _edited(tmp_path, "first_visit = 400", "first_visit = 450")
    p = promise.promise(policy, promise.Facts(zone="city", contract_type="none"), TODAY)
    assert p.visit_fee == Decimal("450")
