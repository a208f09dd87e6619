"""A pause during a reopened cycle moves that cycle's SLA due times: nothing alerts while paused,
and after the resume the cycle is still watched, at its due times moved by the pause (issue 14)."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.dispatch import sla
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    acknowledge,
    card_of,
    events,
    fire_due,
    local,
    open_ticket,
    pending_timers,
    start_desk,
    texts,
    wait_for,
)


async def _reply_and_card(chat: Chat, needle: str, button: str, wait: float = 10.0) -> dict:
    """Read until both a reply containing ``needle`` and the card showing ``button`` arrived; the card."""
    reply = card = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while loop.time() < deadline and (reply is None or card is None):
        for m in await chat.read(max(0.1, deadline - loop.time())):
            if button in [b["data"] for row in m.get("buttons") or [] for b in row]:
                card = m
            elif needle in (m.get("text") or ""):
                reply = m
    assert reply is not None and card is not None, (needle, button)
    return card


async def test_a_pause_in_a_reopened_cycle_moves_its_due_times(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "wang", "zhao", "admin")
    assert harness.app is not None
    desk = harness.app.desk
    grace = dt.timedelta(minutes=desk.policy.sla_watch.grace_minutes)
    tid, number, _, _ = await open_ticket(harness)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    rating = await wait_for(c["customer"], "评分")

    harness.clock.set(local(harness, 2026, 11, 24, 11, 0))
    await c["customer"].send("又黑屏了，和昨天一样", reply_to_message_id=rating["id"])
    ask = await wait_for(c["customer"], "同样的故障")
    await c["customer"].press(ask, f"fu:reopen:{tid}")
    await wait_for(c["customer"], "已重新打开")
    card = await card_of(c["li"], number)
    await c["li"].press(card, f"dp:ack:{tid}")
    card = await _reply_and_card(c["li"], "已接单", f"dp:pause_customer:{tid}")
    reopened_at = [e.at for e in await events(harness, tid) if e.kind == "reopened"][0]
    [cycle] = [t for t in await pending_timers(harness, f"sla:{tid}:first_response:r1")]
    due = dt.datetime.fromisoformat(cycle.payload["due"])

    paused_at = reopened_at + dt.timedelta(minutes=30)
    harness.clock.set(paused_at)
    await c["li"].press(card, f"dp:pause_customer:{tid}")
    card = await _reply_and_card(c["li"], "已暂停", f"dp:resume:{tid}")
    harness.clock.set(due + grace + dt.timedelta(hours=1))  # the cycle's response due time passed, paused
    await fire_due(harness)
    assert [e for e in await events(harness, tid) if e.kind == "sla_breach"] == []
    resumed_at = harness.clock.now()
    await c["li"].press(card, f"dp:resume:{tid}")
    await wait_for(c["li"], "已恢复")
    moved = sla.shift_due(desk, "first_response", due, paused_at, resumed_at)
    fresh = [t for t in await pending_timers(harness, f"sla:{tid}:first_response:r1p")]
    assert len(fresh) == 1 and fresh[0].payload["since"] == reopened_at.isoformat()
    assert abs(dt.datetime.fromisoformat(fresh[0].payload["due"]) - moved) < dt.timedelta(seconds=2)
    assert moved > resumed_at
    # still nobody called the customer: the moved promise is missed, and the supervisors hear it
    await texts(c["zhao"], 0.3)
    harness.clock.set(moved + grace + dt.timedelta(seconds=5))
    await fire_due(harness)
    alert = await wait_for(c["zhao"], "超时")
    assert number in alert["text"] and "首次响应" in alert["text"]
    breaches = [e.data for e in await events(harness, tid) if e.kind == "sla_breach"]
    assert [b["kind"] for b in breaches] == ["first_response"] and breaches[0]["since"] == reopened_at.isoformat()
