"""Dispatch end to end: office hours, after hours, overnight queue, holidays, make-up Saturdays."""

from __future__ import annotations

import datetime as dt
import time

from tests.dispatchkit import (
    card_of,
    collect,
    events,
    fire_due,
    greet,
    local,
    open_ticket,
    texts,
    ticket,
    wait_for,
)
from tests.harness import Chat, Harness


async def _customer(h: Harness, lang: str = "zh") -> dict[str, Chat]:
    return await greet(h, "customer", "zhang", "li", "wang", "zhao", "admin", lang=lang)


async def test_office_hours_dispatch_reaches_the_office_engineer_at_once(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))  # Monday; office layer week 46 → li
    await harness.start()
    c = await _customer(harness)
    li = c["li"]
    tid, number, outcome, started = await open_ticket(harness, photos=[])
    assert outcome.engineer is not None and outcome.engineer.key == "li" and not outcome.queued
    card = await card_of(li, number)
    delay = time.perf_counter() - started
    print(f"\nsubmission→dispatch message: {delay * 1000:.0f} ms")
    text = card["text"]
    for part in ("深圳市华南物流有限公司", "C1001", "王小明", "+8613800000001", "市区", "福田",
                 "海康 DS-7608NI 录像机", "全部瘫痪", "录像机没有画面", "首次响应 11-23 12:00",
                 "到场 11-23 14:00", "修复 11-24 10:00"):
        assert part in text, (part, text)
    datas = [b["data"] for row in card["buttons"] for b in row]
    assert datas == [f"dp:ack:{tid}", f"dp:contact:{tid}", f"dp:resolve:{tid}", f"dp:handover:{tid}"]
    assert await texts(c["zhang"], 0.3) == []  # nobody else
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds == ["created", "dispatched"]


async def test_after_hours_on_a_working_day_goes_to_the_duty_engineer_in_english(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 19, 30))  # Monday evening; November duty → wang
    await harness.start()
    wang = (await greet(harness, "customer", "wang", lang="en"))["wang"]
    tid, number, outcome, _ = await open_ticket(harness)
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    card = await card_of(wang, number)
    assert "New ticket" in card["text"] and "Customer:" in card["text"]
    assert [b["text"] for b in card["buttons"][0]] == ["✋ Acknowledge"]


async def test_overnight_report_waits_and_goes_out_at_eight(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 24, 23, 10))  # Tuesday night: nobody on duty
    await harness.start()
    c = await _customer(harness)
    tid, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.queued and outcome.pickup_at == local(harness, 2026, 11, 25, 8, 0)
    assert (await ticket(harness, tid)).status == "new"
    for key in ("zhang", "li", "wang"):
        assert await texts(c[key], 0.2) == []
    harness.clock.set(local(harness, 2026, 11, 25, 7, 59, 30))
    assert await fire_due(harness) == 0  # not yet
    harness.clock.set(local(harness, 2026, 11, 25, 8, 0, 1))
    assert await fire_due(harness) >= 1
    # Wednesday 08:00–09:00 is after-hours duty (November: wang), not the office layer
    await card_of(c["wang"], number)
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds == ["created", "queued", "dispatched"]
    assert await fire_due(harness) == 0  # fired once only


async def test_public_holiday_uses_the_duty_layer_all_day(harness: Harness) -> None:
    # 2026-10-01 National Day: no office layer; after-hours duty 08:00–22:30 (October: li)
    harness.clock.set(local(harness, 2026, 10, 1, 11, 0))
    await harness.start()
    c = await _customer(harness)
    _, number, outcome, _ = await open_ticket(harness)
    assert outcome.engineer is not None and outcome.engineer.key == "li"
    await card_of(c["li"], number)


async def test_makeup_working_saturday_uses_the_office_layer(harness: Harness) -> None:
    # 2026-10-10 is a Saturday worked in exchange for the National Day break (调休):
    # office hours apply, so the office layer (week of 10-05: index 39 → zhang) gets it
    harness.clock.set(local(harness, 2026, 10, 10, 10, 30))
    await harness.start()
    c = await _customer(harness)
    _, number, outcome, _ = await open_ticket(harness)
    assert outcome.engineer is not None and outcome.engineer.key == "zhang"
    await card_of(c["zhang"], number)
    assert await texts(c["li"], 0.2) == []  # the October duty engineer is off


async def test_ordinary_saturday_goes_to_the_duty_engineer(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 28, 10, 30))  # plain Saturday; November duty → wang
    await harness.start()
    c = await _customer(harness)
    _, number, outcome, _ = await open_ticket(harness)
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    await card_of(c["wang"], number)


async def test_acknowledge_tells_the_customer_name_and_promised_time(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    await harness.start()
    c = await _customer(harness)
    customer = c["customer"]
    li = c["li"]
    tid, number, _, _ = await open_ticket(harness)
    card = await card_of(li, number)
    await li.press(card["id"], f"dp:ack:{tid}")
    got = await collect(li, f"已接单：{number}", "已由 李娜 接单")
    edited = [m for m in got if m["id"] == card["id"]][-1]
    assert "已由 李娜 接单" in edited["text"]
    assert [b["data"] for row in edited["buttons"] for b in row] == [
        f"dp:contact:{tid}", f"dp:resolve:{tid}", f"dp:handover:{tid}"]
    notice = await wait_for(customer, "李娜")
    assert number in notice["text"] and "11-23 12:00" in notice["text"]
    t = await ticket(harness, tid)
    assert t.status == "acknowledged" and t.acknowledged_at is not None
    ack = [e for e in await events(harness, tid) if e.kind == "acknowledged"][0]
    assert ack.data["by"] == "li" and ack.data["since_dispatch_s"] >= 0
    assert dt.timedelta(seconds=ack.data["delay_s"]) < dt.timedelta(minutes=1)
