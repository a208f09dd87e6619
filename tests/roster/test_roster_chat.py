"""Roster in chat: /oncall, /roster, /cover (supervisors), /swap with an Accept button, and the
month-end handoff with the duty-log summary — all end to end, with dispatch following the changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import RosterOverride
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    acknowledge,
    card_of,
    collect,
    fire_due,
    greet,
    local,
    open_ticket,
    pending_timers,
    wait_for,
)
from tests.support.flows import button


async def _start(h: Harness, *when: int) -> dict[str, Chat]:
    h.clock.set(local(h, *when))
    await h.start()
    return await greet(h, "customer", "zhang", "li", "wang", "zhao", "admin")


async def test_oncall_and_roster_show_the_duty(harness: Harness) -> None:
    c = await _start(harness, 2026, 9, 30, 10, 0)  # Wednesday before the National Day break
    text = (await c["li"].ask("/oncall"))["text"]
    assert "当前值班" in text and "办公时间：" in text
    cal = (await c["li"].ask("/roster 12"))["text"]
    assert "10-01 四" in cal and "节假日" in cal  # National Day
    assert "10-10 六" in cal and "调休上班" in cal  # make-up Saturday, office hours
    assert "10-11 日" in cal
    refused = (await c["customer"].ask("/roster"))["text"]
    assert "没有使用此功能的权限" in refused


async def test_supervisor_cover_moves_the_dispatch(harness: Harness) -> None:
    c = await _start(harness, 2026, 11, 23, 10, 0)  # office: li
    denied = (await c["wang"].ask("/cover wang li 2026-11-23"))["text"]
    assert "没有使用此功能的权限" in denied
    bad = (await c["zhao"].ask("/cover nobody li 2026-11-23"))["text"]
    assert "无法操作" in bad and "nobody" in bad
    saved = (await c["zhao"].ask("/cover zhang li 2026-11-23"))["text"]
    assert "张伟 代 李娜" in saved and "11-23 00:00 – 11-24 00:00" in saved
    await wait_for(c["zhang"], "排班变更")
    await wait_for(c["li"], "排班变更")
    _, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "zhang"
    await card_of(c["zhang"], number)
    assert "张伟（代 李娜）" in (await c["li"].ask("/oncall"))["text"]
    cal = (await c["zhao"].ask("/roster 1"))["text"]
    assert "张伟（代 李娜）" in cal
    async with harness.app.db.read() as s:
        row = await s.scalar(select(RosterOverride))
    assert row.kind == "cover" and row.status == "active" and row.created_by == "zhao"
    # withdrawn: li is back
    assert "已撤销" in (await c["zhao"].ask(f"/cover cancel {row.id}"))["text"]
    _, number2, outcome2, _ = await open_ticket(harness, sla=False)
    assert outcome2.engineer is not None and outcome2.engineer.key == "li"


async def test_swap_proposed_and_accepted_changes_who_gets_tickets(harness: Harness) -> None:
    # li has the office week of 11-23, wang the week of 11-30
    c = await _start(harness, 2026, 11, 23, 16, 0)
    assert "用法" in (await c["li"].ask("/swap wang"))["text"]
    proposed = (await c["li"].ask("/swap wang 2026-11-24 2026-12-01"))["text"]
    assert "换班申请已发给 王强" in proposed
    request = await wait_for(c["wang"], "换班申请")
    ok = button(request, "sw:ok:")
    # nobody else may answer it, not even with the right data
    own = await c["zhang"].ask("/oncall")
    await c["zhang"].press(own, ok, forge=True)
    assert "不是发给您的" in (await c["zhang"].read())[0]["text"]
    own = await c["customer"].ask("/help")
    await c["customer"].press(own, ok, forge=True)
    assert "没有使用此功能的权限" in (await c["customer"].read())[0]["text"]
    await c["wang"].press(request, ok)
    assert "已同意换班" in (await wait_for(c["wang"], "换班"))["text"]
    await wait_for(c["li"], "同意了换班")
    await c["wang"].press(request, ok)  # a second press changes nothing
    assert "已处理过" in (await c["wang"].read())[0]["text"]

    harness.clock.set(local(harness, 2026, 11, 24, 10, 0))
    _, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    await card_of(c["wang"], number)
    harness.clock.set(local(harness, 2026, 12, 1, 10, 0))
    _, number2, outcome2, _ = await open_ticket(harness, sla=False)
    assert outcome2.engineer is not None and outcome2.engineer.key == "li"
    harness.clock.set(local(harness, 2026, 12, 2, 10, 0))  # after the swap: wang's own week again
    _, _, outcome3, _ = await open_ticket(harness, sla=False)
    assert outcome3.engineer is not None and outcome3.engineer.key == "wang"


async def test_swap_declined_and_invalid_swaps(harness: Harness) -> None:
    c = await _start(harness, 2026, 11, 23, 16, 0)
    bad = (await c["li"].ask("/swap wang 2026-11-28 2026-12-01"))["text"]  # li has no duty on 11-28
    assert "无法操作" in bad
    assert "无法操作" in (await c["li"].ask("/swap wang 2026-11-20 2026-12-01"))["text"]  # the past
    assert "无法操作" in (await c["li"].ask("/swap wang 2026-13-45 2026-12-01"))["text"]
    await c["li"].ask("/swap wang 2026-11-24 2026-12-01")
    request = await wait_for(c["wang"], "换班申请")
    await c["wang"].press(request, button(request, "sw:no:"))
    await wait_for(c["li"], "没有同意换班")
    _, _, outcome, _ = await open_ticket(harness, sla=False)
    harness.clock.set(local(harness, 2026, 11, 24, 10, 0))
    _, _, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "li"


async def test_month_end_handoff_sends_the_duty_log(harness: Harness) -> None:
    c = await _start(harness, 2026, 11, 30, 19, 0)  # November duty engineer: wang
    handoffs = await pending_timers(harness, "handoff:after_hours:")
    assert [t.due_at for t in handoffs] == [local(harness, 2026, 12, 1, 8, 0)]
    tid, number, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    card = await acknowledge(c["wang"], tid, number)
    await c["wang"].press(card, f"dp:contact:{tid}")
    kinds = await wait_for(c["wang"], "哪种方式")
    await c["wang"].press(kinds, "wk:kind:phone")
    await wait_for(c["wang"], "做了什么")
    await c["wang"].ask("指导客户重启录像机")
    await c["wang"].ask("画面恢复一半，明早上门")
    assert "用时 25 分钟" in (await c["wang"].ask("25分钟"))["text"]

    harness.clock.set(local(harness, 2026, 12, 1, 7, 59))
    assert await fire_due(harness) == 0
    harness.clock.set(local(harness, 2026, 12, 1, 8, 0, 2))
    assert await fire_due(harness) >= 1
    for key in ("zhang", "zhao", "admin"):
        got = await collect(c[key], "值班交接")
        summary = next(m["text"] for m in got if "值班交接" in m["text"])
        assert "王强 → 张伟" in summary and "11-01 08:00 – 12-01 08:00" in summary
        assert "派单 1 张，接单 1 张" in summary and "处理记录 1 次，共 25 分钟" in summary
        assert f"{number}（处理中）" in summary  # still open: the incoming engineer follows it up
        assert f"11-30 19:00 {number} 电话 25分钟：画面恢复一半，明早上门" in summary
    assert await fire_due(harness) == 0  # once only; the next handoff is queued
    nxt = await pending_timers(harness, "handoff:after_hours:")
    assert [t.due_at for t in nxt] == [local(harness, 2027, 1, 1, 8, 0)]
    # December's engineer now gets new tickets
    _, number2, outcome2, _ = await open_ticket(harness, sla=False)
    assert outcome2.engineer is not None and outcome2.engineer.key == "zhang"
    assert dt.timedelta(0) <= harness.clock.now() - local(harness, 2026, 12, 1, 8, 0) < dt.timedelta(minutes=1)


async def test_roster_warns_when_the_official_calendar_ends(harness: Harness) -> None:
    c = await _start(harness, 2026, 12, 29, 10, 0)
    cal = (await c["zhao"].ask("/roster 7"))["text"]
    assert "官方节假日日历尚未包含 2027 年" in cal and "01-04 一" in cal
    assert "01-01 五 节假日（元旦）\n  值班 08:00–22:30" in cal  # 2027: by the statutory rule, no office hours
    assert "尚未包含" not in (await c["zhao"].ask("/roster 2"))["text"]
