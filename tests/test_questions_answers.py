"""Answers computed from a policy: amounts, dates, clause ids — and a changed number changes them.

``policy_with`` builds a policy object in whatever layout ``bot.rules.qa_facts.K`` reads, from the
default values of policy.md, so these tests pin the calculation, not the file layout.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from bot.rules import qa_facts
from bot.rules.answer import CustomerFacts, answer_in_flow, respond

TODAY = dt.date(2026, 11, 23)

SPEC = {  # policy.md defaults
    "return_days": 7, "exchange_days": 30, "repair_years_product": 1, "repair_years_project": 2,
    "lifetime": True, "sample_months": 1, "repeat_times": 2, "repeat_months": 6,
    "start_acceptance_days": 0, "start_express_days": 3, "start_freight_days": 5, "start_sale_days": 0,
    "exclusions": [{"zh": "人为损坏", "en": "misuse"}, {"zh": "雷击", "en": "lightning"}],
    "depot_in_days": 1, "depot_out_days": 4, "first_response_hours": 2, "answer_days": 2,
    "onsite_city_hours": 4, "onsite_suburb_hours": 8, "fix_general_hours": 24, "fix_complex_hours": 72,
    "loaner_hours": 48,
    "onsite_city_first": 400, "onsite_city_extra": 320, "onsite_city_transport": 200,
    "onsite_suburb_first": 600, "onsite_suburb_extra": 480, "onsite_suburb_transport": 350,
    "labour_hour": 200, "included_hours": 8, "remote_software": 100, "remote_system": 200, "phone_hard": 50,
    "training_basic": 500, "training_advanced": 800,
    "annual_rows": [
        {"item": "switch", "by": "count", "min": 1, "max": 5, "price": 400, "clause": "fee.annual.switch_1_5"},
        {"item": "switch", "by": "count", "min": 6, "max": 10, "price": 360, "clause": "fee.annual.switch_6_10"},
        {"item": "switch", "by": "count", "min": 11, "max": None, "price": 320, "clause": "fee.annual.switch_11_plus"},
        {"item": "pbx", "by": "size", "min": 1, "max": 50, "price": 600, "clause": "fee.annual.pbx_50"},
        {"item": "pbx", "by": "size", "min": 51, "max": 100, "price": 1000, "clause": "fee.annual.pbx_100"},
        {"item": "camera", "by": None, "min": None, "max": None, "price": 150, "clause": "fee.annual.camera"},
        {"item": "nvr", "by": None, "min": None, "max": None, "price": 800, "clause": "fee.annual.nvr"},
    ],
    "maint_software_pct": 20, "maint_hardware_pct": 10, "proxy_pct": 10, "deposit": 800,
    "software_pcts": [20, 40, 40], "software_final_days": 30, "hardware_return_days": 7,
    "contracts": {"annual": {"free_when_paid_up": True, "loaner": True},
                  "per_visit": {"free_when_paid_up": False, "loaner": False}},
}


def policy_with(**changes: Any) -> dict[str, Any]:
    """A nested policy mapping at the paths ``qa_facts.K`` reads."""
    root: dict[str, Any] = {}
    for key, val in {**SPEC, **changes}.items():
        path = qa_facts.K[key]
        parts = path.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = val
    return root


def ask(text: str, locale: str = "zh", policy: Any = None, **kw: Any):  # noqa: ANN201
    return respond(policy or policy_with(), text, locale=locale, today=TODAY, **kw)


def test_twelve_switches_use_the_11_plus_tier() -> None:
    ans = ask("12台交换机一年维护费多少")
    assert ans.intent == "fee.annual" and ans.clauses == ["fee.annual.switch_11_plus"]
    assert "12 × 320 元 = 3840 元" in ans.text and "3840" in ans.text


@pytest.mark.parametrize(("qty", "unit"), [(5, 400), (6, 360), (10, 360), (11, 320)])
def test_switch_tier_edges(qty: int, unit: int) -> None:
    res = qa_facts.annual(policy_with(), [{"item": "switch", "qty": qty}])
    assert res["lines"][0]["unit"] == unit and res["total"] == qty * unit


def test_editing_a_number_in_the_policy_changes_the_answer() -> None:
    rows = [dict(r) for r in SPEC["annual_rows"]]
    rows[2]["price"] = 300
    ans = ask("12台交换机一年维护费多少", policy=policy_with(annual_rows=rows))
    assert "= 3600 元" in ans.text
    assert "500 元" in ask("南山上门一次多少钱", policy=policy_with(onsite_city_first=500)).text


def test_mixed_items_pbx_by_ports() -> None:
    res = qa_facts.annual(policy_with(), [{"item": "camera", "qty": 30}, {"item": "pbx", "qty": 1, "size": 80}])
    assert res["total"] == 30 * 150 + 1000
    assert res["clauses"] == ["fee.annual.camera", "fee.annual.pbx_100"]


def test_onsite_fee_with_trips_and_free_when_paid_up() -> None:
    ans = ask("罗湖上门，还要运两趟大设备，一共多少钱")
    assert "合计：800 元" in ans.text and "fee.onsite.city" in ans.clauses
    paid = CustomerFacts(name="X", zone="city", contract_type="annual", maintenance_paid_until=TODAY)
    assert "免费" in ask("上门维修怎么收费", customer=paid).text
    en = ask("onsite fee for Futian?", "en")
    assert "CNY 400" in en.text and "Clauses applied: fee.onsite.city" in en.text


def test_onsite_without_zone_asks_with_buttons() -> None:
    ans = ask("上门维修怎么收费?")
    assert ans.ask == "zone" and [v for _, v in ans.choices] == ["city", "suburb"]
    assert answer_in_flow(policy_with(), "上门维修怎么收费?", locale="zh", today=TODAY).count("元") >= 2


def test_warranty_status_boundaries() -> None:
    pol = policy_with()
    start = dt.date(2026, 1, 13)
    stage = lambda on: qa_facts.warranty_stage(pol, "product", "sale", start, on)["stage"]  # noqa: E731
    assert stage(start + dt.timedelta(days=6)) == "return"  # day 7
    assert stage(start + dt.timedelta(days=7)) == "exchange"  # day 8
    assert stage(start + dt.timedelta(days=29)) == "exchange"  # day 30
    assert stage(start + dt.timedelta(days=30)) == "repair"  # day 31
    assert stage(dt.date(2027, 1, 12)) == "repair" and stage(dt.date(2027, 1, 13)) == "expired"
    leap = qa_facts.warranty_stage(pol, "project", "acceptance", dt.date(2024, 2, 29), TODAY)
    assert leap["end"] == "2026-02-27"
    express = qa_facts.warranty_stage(pol, "product", "express", dt.date(2026, 10, 20), TODAY)
    assert express["start"] == "2026-10-23" and express["stage"] == "repair"


def test_warranty_status_of_own_equipment_only_when_known() -> None:
    me = CustomerFacts(name="华南物流", equipment=[
        {"label": "NVR (N1)", "kind": "project", "event": "acceptance", "date": "2025-03-15"},
        {"label": "CAM (C1)", "kind": "product", "event": "express", "date": "2026-11-18"},
    ])
    ans = ask("我的设备还在保修期内吗", customer=me)
    assert "华南物流" in ans.text and "NVR (N1)" in ans.text and "2027-03-14" in ans.text
    assert "包退" in ans.text  # the camera started 2026-11-21: day 3
    assert ask("我的设备还在保修期内吗").ask == "date"  # nobody identified: ask, show nothing


def test_dated_question_without_customer() -> None:
    ans = ask("2025年3月15日验收的录像机现在还在保吗")
    assert ans.intent == "warranty.status" and "2027-03-14" in ans.text
    assert "warranty.start.acceptance" in ans.clauses


def test_payments_and_percentages() -> None:
    ans = ask("软件3万分几期付款")
    assert "6000 元 → 12000 元 → 12000 元" in ans.text
    assert sum(qa_facts.software_payments(policy_with(), Decimal("100.01"))["installments"]) == Decimal("100.01")
    assert "= <b>40000 元/年</b>" in ask("软件10万硬件20万，每年维护费多少").text  # 20% + 10%
    assert "500 元" in ask("代购5000块的东西要收多少").text
    assert "800 元" in ask("签合同要交定金吗").text


def test_training_total_and_level_follow_up() -> None:
    assert "3 人 × 2 天 × 800 元 = <b>4800 元</b>" in ask("3个人高级培训两天多少钱").text
    follow = ask("3个人培训两天多少钱")
    assert follow.ask == "level"


def test_every_policy_intent_renders_in_both_languages() -> None:
    from bot.rules.qa_compose import BUILDERS

    pol = policy_with()
    for intent in BUILDERS:
        for locale in ("zh", "en"):
            from bot.rules.answer import respond_intent

            params = {"general": True, "date": "2026-01-01"}
            ans = respond_intent(pol, intent, params, locale=locale, today=TODAY)
            assert ans.text and ans.clauses, (intent, locale)
