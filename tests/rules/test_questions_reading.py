"""Reading the question right: amounts, headcount, visit kinds, hours, two items, two topics —
each numeric answer first states what it read, and asks instead of guessing (issue 16)."""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

import pytest

from bot.rules.answer import fill, respond
from bot.rules.extract import extract, items
from bot.rules.intents import classify
from bot.rules.normalize import normalize
from bot.rules.policy import DEFAULT_POLICY, load_policy, parse_policy

TODAY = dt.date(2026, 11, 23)
RAW = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
CITY, SUBURB = RAW["fees"]["onsite"]["city"], RAW["fees"]["onsite"]["suburb"]
HOUR, INCLUDED = RAW["fees"]["labour_hour"], RAW["fees"]["included_hours"]
SHIPPED = load_policy()


def ask(text: str, locale: str = "zh", policy: Any = None):  # noqa: ANN201
    return respond(policy or SHIPPED, text, locale=locale, today=TODAY)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("帮我们代购5万元的设备，服务费多少", 50000), ("代购两万五的交换机", 25000), ("代购5w的货", 50000),
        ("代购3万8的设备", 38000), ("proxy purchase of RMB 25,000", 25000), ("your fee on 30k?", 30000),
        ("代购1.5万块的东西", 15000), ("代购5000块钱的配件", 5000), ("代购 CNY 1200", 1200),
    ],
)
def test_amounts_in_every_combination(text: str, amount: int) -> None:
    assert extract(normalize(text))["amount"] == str(amount)


def test_software_and_hardware_amounts_stay_with_their_words() -> None:
    for text in ("我们软件当时花了8万，硬件3万，以后每年维护费多少", "Software was 80000 and hardware 30000"):
        p = extract(normalize(text))
        assert (p["software_amount"], p["hardware_amount"]) == ("80000", "30000"), text
    assert "software_amount" not in extract(normalize("软件合同2026年5月13日签的"))  # a date is no amount


def test_headcount_extra_visits_hours_and_transport_are_priced() -> None:
    assert ask("福田，三位工程师上门一天多少钱").figures == [str(3 * CITY["first_visit"])]
    assert ask("两个工程师去光明上门，费用多少").figures == [str(2 * SUBURB["first_visit"])]
    extra = ask("设备返修，南山再上门一次要加多少钱")
    assert str(CITY["extra_visit"]) in extra.figures and "返修再上门 1 次" in extra.text
    worked = ask("宝安上门维修，干了10个小时，要收多少")
    assert worked.figures[0] == str(SUBURB["first_visit"] + (10 - INCLUDED) * HOUR)
    trips = ask("罗湖上门，还要运两趟大型设备，一共多少")
    assert trips.figures[0] == str(CITY["first_visit"] + 2 * CITY["transport_trip"])


def test_per_engineer_overtime_and_multi_day_visits_are_not_guessed() -> None:
    for text in ("两个工程师在福田多干了3个小时，多少钱", "福田上门2天多少钱"):
        ans = ask(text)
        assert ans.intent == "fee.onsite" and ans.figures == [], text  # prices stated, no total


def test_two_items_keep_their_own_quantities() -> None:
    assert items(normalize("门禁控制器两台、考勤机三台")) == [
        {"item": "access_terminal", "qty": 2}, {"item": "attendance", "qty": 3}]
    assert items(normalize("20个音箱和2台500W功放")) == [
        {"item": "speaker", "qty": 20}, {"item": "amplifier", "size": 500, "qty": 2}]
    assert items(normalize("喇叭60个、功放3台（每台1200W）")) == [
        {"item": "speaker", "qty": 60}, {"item": "amplifier", "qty": 3, "size": 1200}]
    assert items(normalize("廣播系統30個喇叭，2台1000W擴音機")) == [
        {"item": "speaker", "qty": 30}, {"item": "amplifier", "size": 1000, "qty": 2}]


def test_courier_words_are_express_shipping() -> None:
    for text in ("11月18日宅配寄出的，現在還能退貨嗎", "Shipped by courier on 18 November 2026, can we still return it?"):
        ans = ask(text, "en" if text.isascii() else "zh")
        assert ans.params["event"] == "express" and "2026-11-27" in ans.figures, text


def test_numeric_answers_first_state_what_they_read() -> None:
    zh = ask("帮我们代购5万元的设备，服务费多少")
    assert zh.text.splitlines()[0] == "📋 按您说的计算：金额 50,000 元"
    en = ask("3 engineers to Luohu for a day, how much?", "en")
    assert en.text.splitlines()[0] == "📋 Calculated for: Luohu (City), 3 engineers"
    assert "person(s)" not in ask("Advanced training for 4 people for 3 days", "en").text
    assert not ask("保修多久").text.startswith("📋")  # no figure, no read line


def test_two_amounts_ask_which_and_the_reply_fills_it() -> None:
    ans = ask("代购5万和8万两批设备，服务费多少")
    assert ans.ask == "amount" and [v for _, v in ans.choices] == ["50000", "80000"] and not ans.figures
    assert fill("amount", "8万", ans.params, TODAY)["amount"] == "80000"
    assert fill("amount", "3万", ans.params, TODAY) is None  # not one of the amounts named


def test_two_topics_are_answered_in_parts() -> None:
    ans = ask("保修期多久？上门费多少？")
    assert ans.parts == ["warranty.period", "fee.onsite"] and ans.text.count("依据条款") == 1
    en = ask("How long is the warranty, and what does an on-site visit cost in Futian?", "en")
    assert en.parts == ["warranty.period", "fee.onsite"] and str(CITY["first_visit"]) in en.figures


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我们自己找人拆过，还能保修吗", "warranty.exclusions"), ("我想找人问一下", "human"),
        ("出了故障一般多久能修好", "sla.response"), ("设备故障寄回去修要多长时间", "repair.turnaround"),
        ("交换机故障了", "report_fault"), ("宝修期多久", "warranty.period"), ("保故幾年", "warranty.period"),
        ("遙距維修收唔收錢？", "fee.remote"), ("壞咗未整好之前有冇後備機用？", "loaner"),
        ("Can you buy it on our behalf?", "fee.proxy_purchase"), ("Do you take Alipay?", "payment.channels"),
        ("Can we get a spare unit while ours is in the shop?", "loaner"),
        ("软件合同十万，验收后付多少", "payment.software"), ("年保一年多少錢？8台交換器", "fee.annual"),
    ],
)
def test_vocabulary_and_paraphrases(text: str, intent: str) -> None:
    assert classify(text, today=TODAY).intent == intent


def test_an_edited_policy_number_changes_the_answer_without_code_changes() -> None:
    raw = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    raw["fees"]["onsite"]["city"]["first_visit"] = 450
    edited = parse_policy(raw, "edited.toml")
    assert ask("福田，三位工程师上门一天多少钱", policy=edited).figures == ["1350"]


@pytest.mark.parametrize(
    "text",
    ["远程处理3次软件故障多少钱", "高级培训2个人一周多少钱", "福田上门，我们3个人，多少钱",
     "On-site in Futian, 3 of our staff need help, price?"],
)
def test_a_number_nobody_read_gives_rates_not_a_total(text: str) -> None:
    ans = ask(text, "en" if text.isascii() else "zh")
    assert ans.figures == [] and ans.text.startswith("⚠️") and ans.clauses  # rates, no total


def test_a_written_count_belongs_to_one_item_only() -> None:
    assert items(normalize("摄像头20个录像机2台")) == [{"item": "camera", "qty": 20}, {"item": "nvr", "qty": 2}]
    # "音箱和功放40个": 40 speakers and amplifiers, or 40 amplifiers? neither keeps the count
    assert items(normalize("音箱和功放40个")) == [{"item": "speaker"}, {"item": "amplifier"}]
    assert ask("音箱和功放40个，年维护多少").figures == []
    assert items(normalize("摄像头、录像机各2台")) == [{"item": "camera", "qty": 2}, {"item": "nvr", "qty": 2}]
