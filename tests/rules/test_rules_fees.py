"""Fee calculators (policy §3): on-site, remote/phone/training, annual quotes with tier edges,
maintenance contract, proxy purchase; and payments (§3.4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.rules import calculators as calc
from bot.rules.policy import load_policy

POLICY = load_policy()
A = calc.AnnualItem


def quote(*items: str) -> calc.Fee:
    return calc.annual_quote(POLICY, [calc.parse_annual_item(s) for s in items])


@pytest.mark.parametrize(
    ("zone", "kw", "total"),
    [
        ("city", {}, "400"),
        ("suburb", {}, "600"),
        ("city", {"extra_visits": 2}, "1040"),
        ("suburb", {"extra_visits": 1, "transport_trips": 2}, "1780"),
        ("city", {"transport_trips": 1, "extra_hours": 3}, "1200"),
        ("city", {"extra_hours": "1.5"}, "700"),
    ],
)
def test_onsite_fee(zone: str, kw: dict, total: str) -> None:
    fee = calc.onsite_fee(POLICY, zone, **kw)
    assert fee.total == Decimal(total)
    assert fee.total == sum(line.amount for line in fee.lines)
    assert fee.clauses[0] == f"fee.onsite.{zone}"
    assert ("fee.labour.hour" in fee.clauses) is bool(kw.get("extra_hours"))


def test_onsite_free_when_covered() -> None:
    fee = calc.onsite_fee(POLICY, "suburb", extra_visits=3, covered=True)
    assert fee.total == 0 and fee.lines == [] and fee.clauses[0] == "fee.free_when_covered"


def test_onsite_bad_input() -> None:
    with pytest.raises(calc.RulesError):
        calc.onsite_fee(POLICY, "moon")
    with pytest.raises(calc.RulesError):
        calc.onsite_fee(POLICY, "city", extra_visits=-1)


def test_zone_of_district() -> None:
    assert calc.zone_of(POLICY, "南山") == "city"
    assert calc.zone_of(POLICY, "龙岗") == "suburb"


def test_remote_phone_training_labour() -> None:
    assert calc.remote_fee(POLICY, "software").total == Decimal("100.00")
    assert calc.remote_fee(POLICY, "system", cases=2).total == Decimal("400.00")
    assert calc.remote_fee(POLICY, "system", covered=True).total == 0
    assert calc.phone_fee(POLICY, "ordinary").total == 0
    assert calc.phone_fee(POLICY, "hard", calls=3).total == Decimal("150.00")
    assert calc.training_fee(POLICY, "basic", people=2, days=3).total == Decimal("3000.00")
    advanced = calc.training_fee(POLICY, "advanced")
    assert advanced.total == Decimal("800.00") and advanced.clauses == ["fee.training.advanced"]
    assert calc.labour_fee(POLICY, 2).total == Decimal("400.00")
    with pytest.raises(calc.RulesError):
        calc.training_fee(POLICY, "expert")


@pytest.mark.parametrize(
    ("qty", "unit", "clause"),
    [(1, 400, "switch_1_5"), (5, 400, "switch_1_5"), (6, 360, "switch_6_10"), (10, 360, "switch_6_10"),
     (11, 320, "switch_11_plus"), (12, 320, "switch_11_plus")],
)
def test_switch_tiers_by_total_count(qty: int, unit: int, clause: str) -> None:
    res = quote(f"switch={qty}")
    assert res.total == Decimal(qty * unit) and res.clauses == [f"fee.annual.{clause}"]


def test_all_switches_priced_at_the_tier_of_the_total() -> None:
    res = quote("switch=4", "switch=8")  # 12 in all → every switch at 320
    assert [line.unit for line in res.lines] == [Decimal(320), Decimal(320)]
    assert res.total == Decimal(3840)


@pytest.mark.parametrize(
    ("ports", "price"),
    [(1, 600), (50, 600), (51, 1000), (100, 1000), (101, 1500), (150, 1500), (151, 1800), (300, 1800),
     (301, 3000), (2000, 3000)],
)
def test_pbx_tiers_by_ports_of_each(ports: int, price: int) -> None:
    assert quote(f"pbx:{ports}=2").total == Decimal(2 * price)


@pytest.mark.parametrize(
    ("watts", "price"), [(100, 450), (800, 450), (801, 600), (1500, 600), (1501, 800)],
)
def test_amplifier_tiers_by_watts(watts: int, price: int) -> None:
    assert quote(f"amplifier:{watts}=1").total == Decimal(price)


def test_mixed_pbx_sizes_each_at_their_own_tier() -> None:
    res = quote("pbx:40=1", "pbx:120=1")
    assert res.total == Decimal(2100) and res.clauses == ["fee.annual.pbx_50", "fee.annual.pbx_150"]


@pytest.mark.parametrize(
    ("item", "price"),
    [("info_point", 50), ("server", 800), ("pc", 80), ("voice_point", 50), ("billing_software", 380),
     ("speaker", 40), ("camera", 150), ("nvr", 800), ("cctv_aux", 80), ("detector", 60),
     ("alarm_host", 500), ("attendance", 800), ("access_terminal", 300), ("pos", 800),
     ("onecard_software", 800)],
)
def test_flat_annual_items(item: str, price: int) -> None:
    res = quote(f"{item}=3")
    assert res.total == Decimal(3 * price) and res.clauses == [f"fee.annual.{item}"]


def test_issue_example_quote() -> None:
    res = quote("switch=12", "pbx:80=1", "amplifier:1000=2")
    assert res.total == Decimal(3840 + 1000 + 1200)
    assert [line.amount for line in res.lines] == [Decimal(3840), Decimal(1000), Decimal(1200)]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [("teleporter=1", "unknown item"), ("pbx=1", "needs a size"), ("switch:8=1", "no size tiers"),
     ("switch=0", "at least 1")],
)
def test_annual_bad_items(spec: str, problem: str) -> None:
    with pytest.raises(calc.RulesError, match=problem):
        quote(spec)


@pytest.mark.parametrize("spec", ["switch", "switch=x", "pbx:big=1", "=3", "switch=-1"])
def test_annual_item_syntax(spec: str) -> None:
    with pytest.raises(calc.RulesError, match="KEY"):
        calc.parse_annual_item(spec)


def test_maintenance_contract_fee() -> None:
    res = calc.maintenance_fee(POLICY, "10000", "5000.50")
    assert (res.software_fee, res.hardware_fee, res.total) == (
        Decimal("2000.00"), Decimal("500.05"), Decimal("2500.05"))
    assert res.clauses == ["fee.maintenance_contract"] and res.from_year == 2


def test_proxy_fee_rounds_half_up_to_the_cent() -> None:
    assert calc.proxy_fee(POLICY, "1234.56").fee == Decimal("123.46")
    assert calc.proxy_fee(POLICY, "0.05").fee == Decimal("0.01")
    with pytest.raises(calc.RulesError):
        calc.proxy_fee(POLICY, "-1")


def test_deposit_and_hardware_terms() -> None:
    dep = calc.deposit(POLICY)
    assert dep.amount == Decimal(800) and not dep.refundable_on_cancel and dep.clauses == ["payment.deposit"]
    assert calc.hardware_terms(POLICY).when == "on_delivery"
    custom = calc.hardware_terms(POLICY, custom=True)
    assert custom.when == "prepaid" and custom.return_days == 7


@pytest.mark.parametrize("amount", ["10000", "100.01", "0.01", "333.33", "99999.99", "0"])
def test_software_instalments_sum_exactly(amount: str) -> None:
    res = calc.software_payments(POLICY, amount, completed_on=dt.date(2026, 12, 15))
    assert sum(res.installments) == Decimal(amount)
    assert len(res.installments) == 3 and res.final_due == dt.date(2027, 1, 14)


def test_software_instalments_20_40_40() -> None:
    assert calc.software_payments(POLICY, 10000).installments == [Decimal(2000), Decimal(4000), Decimal(4000)]


def test_payment_rules_have_wording() -> None:
    for cid in ("payment.online_platform", "payment.paid_repair", "payment.private_deals"):
        en = calc.rule(POLICY, cid, "en")
        assert en.text and en.clauses == [cid]
        assert calc.rule(POLICY, cid, "zh").text != en.text
