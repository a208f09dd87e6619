"""Follow-up questions for a missing parameter, and answers typed in the middle of a report."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.rules.answer import CustomerFacts, answer_in_flow, fill, respond
from bot.rules.policy import load_policy
from bot.rules.qa_calc import missing, relevant

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def policy():  # noqa: ANN201
    return load_policy()


@pytest.mark.parametrize(
    ("intent", "params", "ask"),
    [
        ("fee.onsite", {}, "zone"),
        ("fee.onsite", {"zone": "city"}, None),
        ("fee.annual", {"items": [{"item": "switch"}]}, "qty"),
        ("fee.annual", {"items": [{"item": "switch", "qty": 12}]}, None),
        ("fee.annual", {}, None),  # the price list, no follow-up
        ("fee.training", {"people": 3}, "level"),
        ("fee.training", {}, None),
        ("warranty.status", {}, "date"),
        ("warranty.status", {"date": "2026-01-01"}, None),
    ],
)
def test_missing_parameter(intent: str, params: dict, ask: str | None) -> None:
    assert missing(intent, params, None) == ask


def test_known_customer_fills_zone_and_equipment() -> None:
    known = CustomerFacts(name="X", zone="suburb", equipment=[{"label": "NVR", "kind": "product",
                                                                "event": "sale", "date": "2026-01-01"}])
    assert missing("fee.onsite", {}, known) is None
    assert missing("warranty.status", {}, known) is None


def test_fill_from_buttons_and_typed_replies() -> None:
    assert fill("zone", "suburb", {}, TODAY) == {"zone": "suburb"}
    assert fill("zone", "我在福田", {}, TODAY) == {"zone": "city", "district": "福田"}
    assert fill("zone", "不知道", {}, TODAY) is None
    assert fill("qty", "１２台", {"items": [{"item": "switch"}]}, TODAY) == {"items": [{"item": "switch", "qty": 12}]}
    assert fill("qty", "0", {"items": [{"item": "switch"}]}, TODAY) is None
    assert fill("level", "高級", {"people": 2}, TODAY) == {"people": 2, "level": "advanced"}
    assert fill("date", "去年3月1日", {}, TODAY) == {"date": "2025-03-01"}
    assert fill("date", "不记得了", {}, TODAY) is None


def test_relevant_drops_noise() -> None:
    assert relevant("fee.onsite", {"zone": "city", "items": [{"item": "nvr"}], "amount": "1000"}) == {"zone": "city"}
    assert relevant("payment.software", {"software_amount": "30000"}) == {"amount": "30000"}


@pytest.mark.parametrize("text", ["录像机没画面了，所有摄像头黑屏", "转人工", "王小明", "深圳市华南物流有限公司", "C1001"])
def test_mid_flow_leaves_non_questions_to_the_conversation(policy, text: str) -> None:  # noqa: ANN001
    assert answer_in_flow(policy, text, locale="zh", today=TODAY) is None


def test_actions_are_handed_back_to_the_caller(policy) -> None:  # noqa: ANN001
    for text, action in (("转人工", "human"), ("我要报修", "report_fault")):
        ans = respond(policy, text, locale="zh", today=TODAY)
        assert ans.action == action and ans.clauses == []
    complaint = respond(policy, "我要投诉", locale="zh", today=TODAY)  # states the automatic rule
    assert complaint.action == "complaint"
    assert complaint.clauses == ["complaint.repeat_fault", "complaint.multiple_faults"]
    assert respond(policy, "今天天气怎么样", locale="zh", today=TODAY).action is None
