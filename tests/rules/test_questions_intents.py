"""Intent classification and parameter extraction on the labelled question sets (tests/data)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.rules.extract import date_in, extract, items
from bot.rules.intents import INTENTS, classify
from bot.rules.normalize import chinese_number, normalize

DATA = Path(__file__).resolve().parents[1] / "data"
TODAY = dt.date(2026, 11, 23)


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def accuracy(rows: list[dict]) -> tuple[float, list[tuple[str, str, str]]]:
    wrong = []
    for row in rows:
        got = classify(row["text"], today=TODAY).intent
        if got != row["intent"]:
            wrong.append((row["text"], row["intent"], got))
    return 1 - len(wrong) / len(rows), wrong


def test_labelled_set_is_big_and_mixed_enough() -> None:
    rows = load("questions.jsonl")
    assert len(rows) >= 200
    langs = Counter(r["lang"] for r in rows)
    assert langs["zh"] >= 0.4 * len(rows)
    assert langs["zh-hant"] >= 0.2 * len(rows)
    assert langs["en"] >= 0.2 * len(rows)
    assert {r["intent"] for r in rows} == set(INTENTS)  # every intent, unknown included
    assert any(any("\uff10" <= ch <= "\uff19" for ch in r["text"]) for r in rows)  # full-width


SETS = ["questions_fresh.jsonl", "questions_fresh2.jsonl", "questions_fresh3.jsonl", "questions_fresh4.jsonl",
        "questions.jsonl", "questions_holdout.jsonl",
        "questions_holdout2.jsonl", "questions_holdout3.jsonl", "questions_holdout4.jsonl"]


@pytest.mark.parametrize("name", SETS)
def test_intent_accuracy_at_least_97_percent_in_every_language(name: str) -> None:
    rows = load(name)
    for lang in ("zh", "zh-hant", "en"):
        part = [r for r in rows if r["lang"] == lang]
        score, wrong = accuracy(part)
        assert score >= 0.97, f"{score:.1%} on {name} ({lang}); wrong: {wrong}"


def test_no_wrong_number_and_95_percent_exact_on_the_numeric_questions() -> None:
    from benchmarks.answer_bench import score
    from bot.rules.policy import load_policy

    policy = load_policy()
    correct = none = 0
    for name in SETS:
        counts, misses = score(policy, load(name))
        assert counts["wrong"] == 0, [m for m in misses if m.startswith("WRONG")]
        correct, none = correct + counts["correct"], none + counts["none"]
    assert correct + none >= 250 and correct >= 0.95 * (correct + none)


def test_labelled_sets_are_big_enough() -> None:
    rows = [r for name in SETS for r in load(name)]
    assert len(rows) >= 800 and sum("expect" in r for r in rows) >= 250
    fresh = load("questions_fresh.jsonl")
    langs = Counter(r["lang"] for r in fresh)
    assert len(fresh) >= 200 and sum("expect" in r for r in fresh) >= 80
    assert langs["zh"] >= 0.45 * len(fresh) and min(langs["zh-hant"], langs["en"]) >= 0.22 * len(fresh)


def test_labelled_parameters_are_extracted() -> None:
    checked = 0
    for row in load("questions.jsonl"):
        if "params" not in row:
            continue
        got = classify(row["text"], today=TODAY).params
        assert got.get("items") == row["params"]["items"], row["text"]
        checked += 1
    assert checked >= 10


def test_the_issue_example_twelve_switches() -> None:
    found = classify("12台交换机一年维护费多少", today=TODAY)
    assert found.intent == "fee.annual"
    assert found.params["items"] == [{"item": "switch", "qty": 12}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１２台交換機", "12台交换机"),
        ("十二台摄像头", "12台摄像头"),
        ("保固多久", "保修多久"),
        ("軟體款", "软件款"),
        ("一下", "一下"),
        ("10,000 yuan", "10000 yuan"),
        ("  HOW   Much ", "how much"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "value"), [("十二", 12), ("二十", 20), ("一百零五", 105), ("两千五", 2500), ("三万", 30000)]
)
def test_chinese_numbers(text: str, value: int) -> None:
    assert chinese_number(text) == value


def test_items_sizes_and_quantities() -> None:
    assert items(normalize("一台80门的程控交换机和两台1000W功放")) == [
        {"item": "pbx", "size": 80, "qty": 1},
        {"item": "amplifier", "size": 1000, "qty": 2},
    ]
    assert items(normalize("annual maintenance for 20 cameras and 1 NVR")) == [
        {"item": "camera", "qty": 20},
        {"item": "nvr", "qty": 1},
    ]
    assert items("postage") == []  # "pos" only as a word
    assert items(normalize("3 pbx with 120 ports each")) == [{"item": "pbx", "qty": 3, "size": 120}]
    assert items(normalize("１２台交换机＋３０个摄像头")) == [
        {"item": "switch", "qty": 12}, {"item": "camera", "qty": 30}]


def test_dates_zones_and_amounts() -> None:
    assert date_in("2025年3月15日验收", TODAY) == dt.date(2025, 3, 15)
    assert date_in("去年6月1号买的", TODAY) == dt.date(2025, 6, 1)
    assert date_in("12月30日买的", TODAY) == dt.date(2025, 12, 30)  # not in the future
    assert date_in("bought on 1 june 2025", TODAY) == dt.date(2025, 6, 1)
    assert date_in("2025-02-30", TODAY) is None
    p = extract(normalize("罗湖上门，还要运两趟大设备"))
    assert (p["zone"], p["district"], p["transport_trips"]) == ("city", "罗湖", 2)
    assert extract(normalize("龙岗上门"))["zone"] == "suburb"
    assert "transport_trips" not in extract(normalize("师傅来一趟多少钱"))  # a visit, not a transport trip
    p = extract(normalize("软件10万硬件20万，每年维护费多少"))
    assert (p["software_amount"], p["hardware_amount"]) == ("100000", "200000")
    assert extract(normalize("代购5000块的东西"))["amount"] == "5000"


def test_typos_and_mixed_language() -> None:
    assert classify("how long is teh waranty", today=TODAY).intent == "warranty.period"
    assert classify("保休期多长", today=TODAY).intent == "warranty.period"
    assert classify("remote support 收费吗", today=TODAY).intent == "fee.remote"


def test_off_topic_is_unknown_and_product_prices_are_not_guessed() -> None:
    for text in ("今天天气怎么样", "tell me a joke", "摄像头多少钱一个", "how much is a camera"):
        assert classify(text, today=TODAY).intent == "unknown", text
