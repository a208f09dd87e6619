"""Pause states end to end (issue 14): the holding engineer pauses the SLA clock from the card
(waiting for the customer / for parts or payment), the customer is told, nothing alerts while
paused, the customer's next message or the engineer's Resume restarts it with the due times moved
on; the paused time shows in /ticket and the export. Pause/Resume is the holder's only."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.reports import export
from bot.reports.periods import month
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    card_of,
    events,
    fire_due,
    local,
    open_ticket,
    start_desk,
    texts,
    ticket,
    wait_for,
)
from tests.support.flows import read_until_button

MONDAY_10 = (2026, 11, 23, 10, 0)  # office layer: li


async def _taken(h: Harness) -> tuple[dict[str, Chat], int, str, dict]:
    """A ticket whose due times come from the policy (first response 12:00, on site 14:00),
    acknowledged by li; returns his card as edited, with the Pause buttons."""
    c = await start_desk(h, when=MONDAY_10)
    tid, number, _, _ = await open_ticket(h, sla=None)
    card = await card_of(c["li"], number)
    assert "首次响应 11-23 12:00" in card["text"] and "到场 11-23 14:00" in card["text"]
    await c["li"].press(card, f"dp:ack:{tid}")
    card = await read_until_button(c["li"], f"dp:pause_customer:{tid}")
    datas = [b["data"] for row in card["buttons"] for b in row]
    assert datas == [f"dp:contact:{tid}", f"dp:resolve:{tid}", f"rl:msg:{tid}", f"rl:canned:{tid}",
                     f"dp:pause_customer:{tid}", f"dp:pause_parts:{tid}", f"rl:note:{tid}", f"dp:handover:{tid}"]
    await texts(c["customer"], 1.0)  # "taken by 李娜"
    return c, tid, number, card


async def _reply_and_card(chat: Chat, needle: str, button: str, wait: float = 10.0) -> tuple[dict, dict]:
    """Read until both a reply containing ``needle`` and the card (as edited) showing ``button``
    arrived, in whatever order the outbox delivered them."""
    reply: dict | None = None
    card: dict | None = None
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline and (reply is None or card is None):
        for m in await chat.read(max(0.1, deadline - loop.time())):
            seen.append(m.get("text") or "")
            if button in [b["data"] for row in m.get("buttons") or [] for b in row]:
                card = m
            elif needle in (m.get("text") or ""):
                reply = m
    assert reply is not None and card is not None, (needle, button, seen)
    return reply, card


def _local_due(h: Harness, value: dt.datetime | None) -> dt.datetime:
    assert value is not None
    return value.astimezone(h.clock.tz).replace(second=0, microsecond=0)


async def _silent(h: Harness, c: dict[str, Chat], tid: int) -> None:
    for key in ("zhao", "admin"):
        assert await texts(c[key], 0.3) == [], key
    assert [e for e in await events(h, tid) if e.kind == "sla_breach"] == []


async def test_waiting_for_the_customer_stops_the_clock_until_they_reply(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness)
    # nobody but the holder: a forged press from another engineer, a supervisor's press
    for key, data in (("zhang", f"dp:pause_customer:{tid}"), ("zhao", f"dp:pause_parts:{tid}")):
        own = await c[key].ask("/oncall")  # a message of their own chat to forge the press on
        await c[key].press(own, data, forge=True)
        assert "不在您名下" in (await wait_for(c[key], number))["text"]
    assert (await ticket(harness, tid)).paused_at is None

    harness.clock.set(local(harness, 2026, 11, 23, 10, 30))
    await c["li"].press(card, f"dp:pause_customer:{tid}")
    _, card = await _reply_and_card(c["li"], "已暂停", f"dp:resume:{tid}")
    told = await wait_for(c["customer"], "等待您提供信息")
    assert number in told["text"]
    assert "时限计时已暂停" in card["text"] and "等待客户" in card["text"]
    assert f"dp:pause_customer:{tid}" not in [b["data"] for row in card["buttons"] for b in row]

    for hh in (12, 14, 15):  # both old due times pass while paused: no alert, not overdue
        harness.clock.set(local(harness, 2026, 11, 23, hh, 0, 30))
        await fire_due(harness)
        await _silent(harness, c, tid)
    assert "没有超时的工单" in (await c["zhao"].ask("/overdue"))["text"]
    view = (await c["zhao"].ask(f"/ticket {number}"))["text"]
    assert "时限计时暂停中" in view and "等待客户" in view

    harness.clock.set(local(harness, 2026, 11, 23, 15, 0))  # the customer answers (plain message)
    await c["customer"].send("摄像头型号是 DS-2CD1023")
    await wait_for(c["customer"], "补充信息")
    resumed, card = await _reply_and_card(c["li"], "恢复计时", f"dp:pause_customer:{tid}")
    assert number in resumed["text"] and "270" in resumed["text"]
    stored = await ticket(harness, tid)
    assert stored.paused_at is None and abs(stored.paused_seconds - 270 * 60) < 60
    # 1.5 h of response and 3.5 h of on-site time were left at 10:30: counted again from 15:00
    assert _local_due(harness, stored.first_response_due) == local(harness, 2026, 11, 23, 16, 30)
    assert _local_due(harness, stored.onsite_due) == local(harness, 2026, 11, 23, 18, 30)
    assert "首次响应 11-23 16:30" in card["text"] and "到场 11-23 18:30" in card["text"]
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds[-3:] == ["paused", "customer_info", "resumed"]

    view = (await c["zhao"].ask(f"/ticket {number}"))["text"]
    assert "暂停时长：270 分钟" in view and "首次响应 11-23 16:30" in view
    assert harness.app is not None
    async with harness.app.db.read() as s:
        data = await export.export_data(s, month(2026, 11), harness.clock.tz, harness.clock.now())
    row = next(r for r in data.tickets if r[0] == number)
    assert row[export.TICKET_COLUMNS.index("paused_min")] == 270

    harness.clock.set(local(harness, 2026, 11, 23, 16, 30, 30))  # the moved due time is watched
    await fire_due(harness)
    alert = await wait_for(c["zhao"], "11-23 16:30")
    assert number in alert["text"]
    alert_datas = [b["data"] for row in alert.get("buttons") or [] for b in row]
    assert not any(d.startswith(("dp:pause", "dp:resume")) for d in alert_datas)  # the holder's only
    await c["zhao"].press(alert, f"dp:pause_customer:{tid}", forge=True)  # on a real alert: refused
    assert "不在您名下" in (await wait_for(c["zhao"], number))["text"]
    assert (await ticket(harness, tid)).paused_at is None
    breaches = [e.data["kind"] for e in await events(harness, tid) if e.kind == "sla_breach"]
    assert breaches == ["first_response"]


async def test_waiting_for_parts_resumes_by_the_engineer_and_the_customer_hears(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness)
    harness.clock.set(local(harness, 2026, 11, 23, 11, 0))
    await c["li"].press(card, f"dp:pause_parts:{tid}")
    _, card = await _reply_and_card(c["li"], "已暂停", f"dp:resume:{tid}")
    assert number in (await wait_for(c["customer"], "等待配件或付款"))["text"]
    await c["li"].press(card, f"dp:pause_parts:{tid}", forge=True)  # a second pause: said so
    await wait_for(c["li"], "已处于暂停")
    harness.clock.set(local(harness, 2026, 11, 24, 9, 0))  # overnight: only duty time counts
    await fire_due(harness)
    await _silent(harness, c, tid)
    await c["li"].press(card, f"dp:resume:{tid}")
    done = await wait_for(c["li"], "已恢复")
    # at 11:00 one hour of response was left: 09:00 + 1 h; on site 3 h: 12:00
    assert "首次响应 11-24 10:00" in done["text"] and "到场 11-24 12:00" in done["text"], done["text"]
    assert number in (await wait_for(c["customer"], "已继续处理"))["text"]
    await c["li"].press(card["id"], f"dp:resume:{tid}", forge=True)  # nothing left to resume
    await wait_for(c["li"], "未暂停")
    stored = await ticket(harness, tid)
    assert stored.paused_at is None and abs(stored.paused_seconds - 22 * 3600) < 60


async def test_resolving_a_paused_ticket_ends_the_pause(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness)
    await c["li"].press(card, f"dp:pause_customer:{tid}")
    card = await read_until_button(c["li"], f"dp:resume:{tid}")
    harness.clock.set(local(harness, 2026, 11, 23, 10, 45))
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].send("客户远程重启后恢复")
    await wait_for(c["customer"], "评分")
    stored = await ticket(harness, tid)
    assert stored.status == "resolved" and stored.paused_at is None and stored.paused_seconds > 0
    assert [e.kind for e in await events(harness, tid)][-2:] == ["resumed", "resolved"]
