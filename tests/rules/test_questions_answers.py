"""Answers computed from the policy: amounts, dates, clause ids — and an edited number changes them."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bot.rules import qa_facts
from bot.rules.answer import CustomerFacts, answer_in_flow, respond
from bot.rules.policy import DEFAULT_POLICY, parse_policy

TODAY = dt.date(2026, 11, 23)

def policy_with(edit: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """The shipped policy, optionally edited (as an operator would edit the file)."""
    raw = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    if edit is not None:
        edit(raw)
    return parse_policy(raw, "edited.toml")


SHIPPED = policy_with()


def switch_price(policy: Any, count: int) -> Decimal:
    """The price row for ``count`` switches, read from the policy's table (not the calculator)."""
    for row in policy.fees.annual:
        if row.item == "switch" and row.min <= count <= (row.max or count):
            return row.price
    raise AssertionError(count)


def ask(text: str, locale: str = "zh", policy: Any = None, **kw: Any):  # noqa: ANN201
    return respond(policy or SHIPPED, text, locale=locale, today=TODAY, **kw)


def row_price(policy: Any, clause: str) -> Decimal:
    return next(r.price for r in policy.fees.annual if r.clause == clause)


def test_twelve_switches_use_the_11_plus_tier() -> None:
    ans = ask("12台交换机一年维护费多少")
    price = switch_price(SHIPPED, 12)
    assert ans.intent == "fee.annual" and ans.clauses == ["fee.annual.switch_11_plus"]
    assert f"12 × {price} 元 = {12 * price} 元" in ans.text
    assert f"{12 * price}" == "3840"  # the issue's own example, with the shipped file


@pytest.mark.parametrize("qty", [1, 5, 6, 10, 11, 12])
def test_switch_tier_edges(qty: int) -> None:
    res = qa_facts.annual(SHIPPED, [{"item": "switch", "qty": qty}])
    assert res["lines"][0]["unit"] == switch_price(SHIPPED, qty) and res["total"] == qty * switch_price(SHIPPED, qty)
    assert switch_price(SHIPPED, 5) == switch_price(SHIPPED, 1) != switch_price(SHIPPED, 6)
    assert switch_price(SHIPPED, 10) != switch_price(SHIPPED, 11)


def test_editing_a_number_in_the_policy_changes_the_answer() -> None:
    def cheaper_switches(raw: dict[str, Any]) -> None:
        next(r for r in raw["fees"]["annual"] if r["clause"] == "fee.annual.switch_11_plus")["price"] = 300

    def dearer_city(raw: dict[str, Any]) -> None:
        raw["fees"]["onsite"]["city"]["first_visit"] = 555

    assert "= 3600 元" in ask("12台交换机一年维护费多少", policy=policy_with(cheaper_switches)).text
    assert "555 元" in ask("南山上门一次多少钱", policy=policy_with(dearer_city)).text


def test_mixed_items_pbx_by_ports() -> None:
    res = qa_facts.annual(SHIPPED, [{"item": "camera", "qty": 30}, {"item": "pbx", "qty": 1, "size": 80}])
    assert res["total"] == 30 * row_price(SHIPPED, "fee.annual.camera") + row_price(SHIPPED, "fee.annual.pbx_100")
    assert res["clauses"] == ["fee.annual.camera", "fee.annual.pbx_100"]
    assert ask("一台80门的程控交换机一年维护费").clauses == ["fee.annual.pbx_100"]
    assert ask("程控交换机一年维护费多少", ).ask == "qty"


def test_onsite_fee_with_trips_and_free_when_paid_up() -> None:
    city = SHIPPED.fees.onsite.city
    ans = ask("罗湖上门，还要运两趟大设备，一共多少钱")
    assert f"合计：{city.first_visit + 2 * city.transport_trip} 元" in ans.text and "fee.onsite.city" in ans.clauses
    paid = CustomerFacts(name="X", zone="city", contract_type="annual", maintenance_paid_until=TODAY)
    assert "免费" in ask("上门维修怎么收费", customer=paid).text
    lapsed = CustomerFacts(name="X", zone="suburb", contract_type="annual",
                           maintenance_paid_until=TODAY - dt.timedelta(days=1))
    assert f"{SHIPPED.fees.onsite.suburb.first_visit} 元" in ask("上门维修怎么收费", customer=lapsed).text
    en = ask("onsite fee for Futian?", "en")
    assert f"CNY {city.first_visit}" in en.text and "Clauses applied: fee.onsite.city" in en.text


def test_onsite_without_zone_asks_with_buttons() -> None:
    ans = ask("上门维修怎么收费?")
    assert ans.ask == "zone" and [v for _, v in ans.choices] == ["city", "suburb"]
    assert answer_in_flow(SHIPPED, "上门维修怎么收费?", locale="zh", today=TODAY).count("元") >= 2


def test_warranty_status_boundaries() -> None:
    pol = SHIPPED
    start = dt.date(2026, 1, 13)
    stage = lambda on: qa_facts.warranty_stage(pol, "product", "sale", start, on)["stage"]  # noqa: E731
    assert stage(start + dt.timedelta(days=6)) == "return"  # day 7
    assert stage(start + dt.timedelta(days=7)) == "exchange"  # day 8
    assert stage(start + dt.timedelta(days=29)) == "exchange"  # day 30
    assert stage(start + dt.timedelta(days=30)) == "repair"  # day 31
    assert stage(dt.date(2027, 1, 12)) == "repair" and stage(dt.date(2027, 1, 13)) == "expired"
    leap = qa_facts.warranty_stage(pol, "project", "acceptance", dt.date(2024, 2, 29), TODAY)
    assert leap["end"] == "2026-02-28"  # a 29 February start ends on 28 February (policy.md)
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
    parts = [30000 * p / 100 for p in SHIPPED.payment.software_pcts]
    assert " → ".join(f"{x:.0f} 元" for x in parts) in ans.text
    assert sum(qa_facts.software_payments(SHIPPED, Decimal("100.01"))["installments"]) == Decimal("100.01")
    f = SHIPPED.fees
    total = 100000 * f.maintenance_software_pct / 100 + 200000 * f.maintenance_hardware_pct / 100
    assert f"= <b>{total:.0f} 元/年</b>" in ask("软件10万硬件20万，每年维护费多少").text
    assert f"{5000 * f.proxy_pct / 100:.0f} 元" in ask("代购5000块的东西要收多少").text
    assert f"{SHIPPED.payment.deposit} 元" in ask("签合同要交定金吗").text


def test_training_total_and_level_follow_up() -> None:
    unit = SHIPPED.fees.training_advanced
    assert f"3 人 × 2 天 × {unit} 元 = <b>{6 * unit} 元</b>" in ask("3个人高级培训两天多少钱").text
    follow = ask("3个人培训两天多少钱")
    assert follow.ask == "level"


def test_every_policy_intent_renders_in_both_languages() -> None:
    from bot.rules.qa_compose import BUILDERS

    pol = SHIPPED
    for intent in BUILDERS:
        for locale in ("zh", "en"):
            from bot.rules.answer import respond_intent

            params = {"general": True, "date": "2026-01-01"}
            ans = respond_intent(pol, intent, params, locale=locale, today=TODAY)
            assert ans.text and ans.clauses, (intent, locale)


def test_own_equipment_filtered_by_the_item_asked_about() -> None:
    me = CustomerFacts(name="X", equipment=[
        {"label": "海康 录像机 (N1)", "kind": "project", "event": "acceptance", "date": "2025-03-15"},
        {"label": "华为 交换机 (S1)", "kind": "product", "event": "sale", "date": "2024-06-01"},
    ])
    ans = ask("Is my NVR still under warranty?", "en", customer=me)
    assert "(N1)" in ans.text and "(S1)" not in ans.text
    assert "(S1)" in ask("我的设备还在保修吗", customer=me).text


def test_start_rule_of_the_event_asked_about() -> None:
    ans = ask("快递寄过来的保修期从哪天起算")
    assert ans.clauses == ["warranty.start.express"]
    assert f"+ {SHIPPED.warranty.start.express_days} 天" in ans.text


def test_no_lifetime_maintenance_in_the_file_changes_the_out_of_warranty_answer() -> None:
    def no_lifetime(raw: dict[str, Any]) -> None:
        raw["warranty"]["lifetime"] = False

    assert "不收人工费" in ask("过了保修期维修怎么收费").text
    edited = ask("过了保修期维修怎么收费", policy=policy_with(no_lifetime))
    assert "不收人工费" not in edited.text and f"{SHIPPED.fees.labour_hour} 元/小时" in edited.text
    assert "fee.labour.hour" in edited.clauses


def test_software_service_year_from_the_signing_date() -> None:
    ans = ask("5月13日签的软件合同，服务期怎么算")
    assert ans.clauses == ["warranty.software_year"]
    assert "2026-07-01 至 2027-06-30" in ans.text  # the seed's 13 May → 1 July – 30 June example
    assert "warranty.software_year" in ask("软件服务年度从什么时候开始算").clauses


def test_onsite_quote_leaves_out_the_internal_contact_letter_rule() -> None:
    ans = ask("南山上门一次多少钱")
    assert "fee.onsite.contact_letters" not in ans.clauses
    assert "联络函" not in ans.text
