"""Dispatch end to end: office hours, after hours, overnight queue, holidays, make-up Saturdays."""

from __future__ import annotations

import datetime as dt
import time

from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    TG,
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
    told = await wait_for(c["customer"], "非值班时间")
    assert number in told["text"] and "11-25 08:00" in told["text"]
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
    await li.press(card, f"dp:ack:{tid}")
    got = await collect(li, f"已接单：{number}", "已由 李娜 接单")
    edited = [m for m in got if m["id"] == card["id"]][-1]
    assert "已由 李娜 接单" in edited["text"]
    assert [b["data"] for row in edited["buttons"] for b in row] == [  # the holder may pause the SLA clock
        f"dp:contact:{tid}", f"dp:resolve:{tid}", f"rl:msg:{tid}", f"rl:canned:{tid}",
        f"dp:pause_customer:{tid}", f"dp:pause_parts:{tid}", f"rl:note:{tid}", f"dp:handover:{tid}"]
    await li.press(card, f"dp:ack:{tid}", forge=True)  # a second tap that raced the edit
    assert "已在您名下" in (await wait_for(li, "已在您名下"))["text"]
    notice = await wait_for(customer, "李娜")
    assert number in notice["text"] and "11-23 12:00" in notice["text"]
    t = await ticket(harness, tid)
    assert t.status == "acknowledged" and t.acknowledged_at is not None
    ack = [e for e in await events(harness, tid) if e.kind == "acknowledged"][0]
    assert ack.data["by"] == "li" and ack.data["since_dispatch_s"] >= 0
    assert dt.timedelta(seconds=ack.data["delay_s"]) < dt.timedelta(minutes=1)


async def test_photos_follow_the_card(harness: Harness) -> None:
    import asyncio
    import base64

    from storage.models import InboxUpdate

    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    await harness.start()
    c = await _customer(harness)
    png = base64.b64encode(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()
    sent = await c["customer"].send(photo=png, caption="NVR")
    await c["customer"].read()
    async with harness.app.db.read() as s:
        payload = (await s.get(InboxUpdate, sent["update_id"])).payload
    file_id = payload["message"]["photo"][-1]["file_id"]
    _, number, _, _ = await open_ticket(harness, photos=[file_id])
    card = await card_of(c["li"], number)
    assert "📎 照片 1 张" in card["text"]
    await asyncio.sleep(0.3)
    history = await harness.chat(TG["li"]).read(2)  # everything li received, from the start
    photos = [m for m in history if m.get("photo")]
    assert len(photos) == 1 and photos[0]["id"] > card["id"]
    assert number in (photos[0].get("caption") or photos[0].get("text") or ""), photos[0]


async def test_unregistered_engineer_on_duty_is_skipped(harness: Harness) -> None:
    from sqlalchemy import update

    from storage.models import Staff

    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))  # office: li, next in rotation: wang
    await harness.start()
    c = await _customer(harness)
    async with harness.app.db.write() as s:
        await s.execute(update(Staff).where(Staff.key == "li").values(telegram_user_id=None))
    tid, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    await card_of(c["wang"], number)
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds == ["created", "undeliverable", "dispatched"]


async def test_nobody_works_a_ticket_before_it_is_acknowledged(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    await harness.start()
    c = await _customer(harness)
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await card_of(c["li"], number)
    for action in ("resolve", "contact"):
        await c["li"].press(card, f"dp:{action}:{tid}")
        assert "尚未接单" in (await c["li"].read())[0]["text"]
    own = await c["zhao"].ask("/oncall")  # a supervisor with no card of it: forged data
    await c["zhao"].press(own, f"dp:ack:{tid}", forge=True)
    assert "不在您名下" in (await c["zhao"].read())[0]["text"]
    assert (await ticket(harness, tid)).status == "dispatched"


async def test_queued_ticket_survives_a_restart_overnight(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 24, 23, 10))
    await harness.start()
    c = await _customer(harness)
    tid, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.queued
    await harness.crash()
    harness.clock.set(local(harness, 2026, 11, 25, 8, 0, 3))
    await harness.start()  # the worker fires the queued dispatch on its own
    card = await card_of(c["wang"], number, wait=5)
    assert f"dp:ack:{tid}" in str(card["buttons"])
    assert await fire_due(harness) == 1  # the queued dispatch, fired by the worker; nothing else due
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds == ["created", "queued", "dispatched"]


async def test_due_times_and_warranty_stage_come_from_the_policy(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    await harness.start()
    c = await _customer(harness)
    # C1002 is in the suburbs: on site within the policy's suburb hours; its PBX (a project accepted
    # 2023-09-01, two years' repair warranty) is out of warranty now
    tid, number, _, _ = await open_ticket(harness, sla=None, customer_number="C1002")
    card = await card_of(c["li"], number)
    # fix: 24 h of duty time (08:00–22:30): 12.5 h on Monday, 11.5 h on Tuesday
    assert "首次响应 11-23 12:00｜到场 11-23 18:00｜修复 11-24 19:30" in card["text"], card["text"]
    assert "已过保" in card["text"] and "郊区" in card["text"]
    t = await ticket(harness, tid)
    assert t.onsite_due - t.created_at == dt.timedelta(hours=8)
    # C1001's NVR (project accepted 2025-03-15) is in its repair warranty
    _, number2, _, _ = await open_ticket(harness, sla=None)
    card2 = await card_of(c["li"], number2)
    assert "保修期内" in card2["text"] and "到场 11-23 14:00" in card2["text"]
