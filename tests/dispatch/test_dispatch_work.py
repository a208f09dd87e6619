"""Working a ticket end to end: contacts, hand-over, resolution with a service report, rating,
auto-close as "no opinion", reopening by a customer reply, and the SLA watch."""

from __future__ import annotations

import datetime as dt

from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    acknowledge,
    card_of,
    collect,
    events,
    fire_due,
    local,
    open_ticket,
    pending_timers,
    start_desk,
    texts,
    ticket,
    wait_for,
)
from tests.support.flows import button

MONDAY_10 = (2026, 11, 23, 10, 0)  # office layer: li


async def _start(h: Harness) -> dict[str, Chat]:
    return await start_desk(h)


async def _contact(chat: Chat, card: dict, tid: int, kind: str, done: str, result: str, minutes: str) -> str:
    await chat.press(card, f"dp:contact:{tid}")
    kinds = await wait_for(chat, "哪种方式")
    assert [b["data"] for b in kinds["buttons"][0]] == ["wk:kind:phone", "wk:kind:remote", "wk:kind:onsite"]
    await chat.press(kinds, f"wk:kind:{kind}")
    await wait_for(chat, "做了什么")
    await chat.ask(done)
    await chat.ask(result)
    return (await chat.ask(minutes))["text"]


async def test_contacts_resolution_service_report_and_rating(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness)
    card = await acknowledge(c["li"], tid, number)
    await wait_for(c["customer"], "李娜")
    saved = await _contact(c["li"], card, tid, "phone", "指导客户重启录像机", "无效，需上门", "十分钟")
    assert "1–1440" in saved  # not a number: asked again, nothing lost
    assert "用时 10 分钟" in (await c["li"].ask("10"))["text"]
    assert (await ticket(harness, tid)).status == "in_progress"
    assert "用时 90 分钟" in await _contact(c["li"], card, tid, "onsite", "上门更换电源", "画面恢复", "1.5小时")

    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].send("更换录像机电源，画面恢复")
    got = await collect(c["li"], "已标记为解决", "已由 李娜 解决")
    assert not [m for m in got if m["id"] == card["id"]][-1].get("buttons")
    report = await wait_for(c["customer"], "服务报告")
    assert "更换录像机电源" in report["text"] and "李娜" in report["text"]
    assert await texts(c["customer"], 0.3) == []  # the rating request waits for the confirmation
    await c["customer"].press(report, button(report, "sr:"))
    got = await collect(c["customer"], "已确认", "请为本次服务评分")
    rating = next(m for m in got if "评分" in m["text"])
    assert "更换录像机电源" in rating["text"]
    assert [b["data"] for row in rating["buttons"] for b in row] == [
        f"rt:{tid}:{k}" for k in ("very_satisfied", "satisfied", "average", "no_opinion", "dissatisfied")]
    await c["customer"].press(report, button(report, "sr:"))  # twice: no second rating request
    await wait_for(c["customer"], "已经确认过")
    await c["customer"].press(rating, f"rt:{tid}:satisfied")
    await wait_for(c["customer"], "感谢您的评价")
    t = await ticket(harness, tid)
    assert t.status == "closed" and t.rating == 3  # policy satisfaction.scores.satisfied
    await c["customer"].press(rating, f"rt:{tid}:very_satisfied")  # only once
    await wait_for(c["customer"], "已经评价过")
    assert (await ticket(harness, tid)).rating == 3
    evs = await events(harness, tid)
    contacts = [e for e in evs if e.kind == "contact"]
    assert [(e.data["kind"], e.minutes) for e in contacts] == [("phone", 10), ("onsite", 90)]
    assert [e.kind for e in evs if e.kind in ("resolved", "report_confirmed", "closed")] == [
        "resolved", "report_confirmed", "closed"]
    assert await pending_timers(harness, f"autoclose:{tid}:") == []


async def test_no_rating_closes_as_no_opinion_after_the_policy_days(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("远程重启服务后恢复")
    await wait_for(c["customer"], "评分")
    harness.clock.set(local(harness, *MONDAY_10) + dt.timedelta(days=3) - dt.timedelta(minutes=1))
    assert await fire_due(harness) == 0
    harness.clock.set(local(harness, *MONDAY_10) + dt.timedelta(days=3, minutes=1))
    assert await fire_due(harness) == 1
    t = await ticket(harness, tid)
    assert t.status == "closed" and t.rating == 1  # "no opinion" score from the policy
    closed = [e for e in await events(harness, tid) if e.kind == "closed"][0]
    assert closed.data["rating"] == "no_opinion" and closed.data["auto"] is True


async def test_customer_reply_after_resolution_reopens_the_ticket(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    rating = await wait_for(c["customer"], "评分")
    await c["customer"].press(rating, f"rt:{tid}:average")
    await wait_for(c["customer"], "感谢")

    harness.clock.set(local(harness, 2026, 11, 24, 10, 0))
    await c["customer"].send("又黑屏了，和昨天一样", reply_to_message_id=rating["id"])
    ask = await wait_for(c["customer"], "同样的故障")
    assert (await ticket(harness, tid)).status == "closed"  # not before the customer confirms
    await c["customer"].press(ask, f"fu:reopen:{tid}")
    await wait_for(c["customer"], "已重新打开")
    again = await card_of(c["li"], number)
    assert "投诉" in again["text"]
    t = await ticket(harness, tid)
    assert t.status == "dispatched" and t.complaint and t.rating is None
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds[-5:] == ["customer_info", "reopened", "complaint", "complaint_alert", "dispatched"]
    for sup in ("zhao", "admin"):  # policy §5: complaints go to a supervisor, with the card
        alert = await wait_for(c[sup], "投诉")
        assert number in alert["text"] and "再次出现" in alert["text"] and "时限" in alert["text"]
    await c["customer"].press(ask, f"fu:reopen:{tid}")  # a second press: the question has expired
    assert "按钮已失效" in (await wait_for(c["customer"], "按钮"))["text"]
    assert [e.kind for e in await events(harness, tid)].count("reopened") == 1
    # someone else's button press on it is refused
    own = await c["wang"].ask("/oncall")
    await c["wang"].press(own, f"fu:reopen:{tid}", forge=True)
    assert "没有使用此功能的权限" in (await c["wang"].read())[0]["text"]


async def test_customer_reply_to_an_open_ticket_reaches_the_engineer(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await acknowledge(c["li"], tid, number)
    taken = await wait_for(c["customer"], "李娜")
    await c["customer"].send("补充：3号摄像头也不亮", reply_to_message_id=taken["id"])
    await wait_for(c["customer"], "已将您的补充信息")
    assert "3号摄像头也不亮" in (await wait_for(c["li"], "客户补充"))["text"]


async def test_hand_over_with_a_reason_to_the_next_engineer(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:handover:{tid}")
    await wait_for(c["li"], "请说明原因")
    await c["li"].send("我在外地，需要本地工程师上门")
    got = await collect(c["li"], f"工单 {number} 已转交给 王强", "↪️ 已转交给 王强")
    handed = await card_of(c["wang"], number)
    assert "转交给您" in handed["text"] and "我在外地" in handed["text"]
    old_card = [m for m in got if m["id"] == card["id"]][-1]
    assert "已转交给 王强" in old_card["text"] and not old_card.get("buttons")
    await c["li"].press(card, f"dp:contact:{tid}", forge=True)  # no longer li's (nor shown)
    assert "不在您名下" in (await c["li"].read())[0]["text"]
    await c["wang"].press(handed, f"dp:ack:{tid}")
    await wait_for(c["wang"], "已接单")
    t = await ticket(harness, tid)
    assert t.status == "acknowledged" and t.assignee_id is not None
    ho = [e for e in await events(harness, tid) if e.kind == "handover"][0]
    assert ho.data == {"from": "li", "to": "wang", "reason": "我在外地，需要本地工程师上门"}


async def test_sla_breach_alerts_supervisors_once_and_is_recorded(harness: Harness) -> None:
    c = await _start(harness)
    tid, number, _, _ = await open_ticket(harness)  # first response due in 2 h, on site 4 h, fix 24 h
    card = await acknowledge(c["li"], tid, number)
    t0 = local(harness, *MONDAY_10)
    harness.clock.set(t0 + dt.timedelta(hours=2, seconds=5))
    assert await fire_due(harness) == 1
    for sup in ("zhao", "admin"):
        alert = await wait_for(c[sup], "超时")
        assert number in alert["text"] and "首次响应" in alert["text"]
    # an on-site contact in time keeps the on-site commitment
    await _contact(c["li"], card, tid, "onsite", "上门检查", "更换硬盘", "60")
    harness.clock.set(t0 + dt.timedelta(hours=4, seconds=5))
    assert await fire_due(harness) == 1
    assert await texts(c["zhao"], 0.3) == []
    harness.clock.set(t0 + dt.timedelta(days=3))
    assert await fire_due(harness) == 1  # fix missed
    await wait_for(c["zhao"], "修复")
    assert await fire_due(harness) == 0
    breaches = [e.data["kind"] for e in await events(harness, tid) if e.kind == "sla_breach"]
    assert breaches == ["first_response", "fix"]
