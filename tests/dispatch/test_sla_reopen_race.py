"""A reopened ticket gets fresh SLA timers (judged only by what happens after the reopening), and
resolve vs. a concurrent hand-over: exactly one wins (conditional update), the loser changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.core import uow as uow_mod
from bot.dispatch import sla
from bot.rules import calculators as calc
from bot.tickets import work as worklog
from storage.models import Staff, Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    acknowledge,
    events,
    fire_due,
    local,
    open_ticket,
    pending_timers,
    start_desk,
    texts,
    wait_for,
)


async def _start(h: Harness) -> dict[str, Chat]:
    return await start_desk(h, "customer", "li", "wang", "zhao", "admin")


async def _ack_and_resolve(c: dict[str, Chat], tid: int, number: str) -> dict:
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    return await wait_for(c["customer"], "评分")


async def test_reopened_ticket_gets_fresh_sla_timers(harness: Harness) -> None:
    c = await _start(harness)
    assert harness.app is not None
    policy = harness.app.desk.policy
    grace = dt.timedelta(minutes=policy.sla_watch.grace_minutes)
    duty = sla.duty_window(harness.app.desk)
    tid, number, _, _ = await open_ticket(harness)  # first response 2 h, on site 4 h, fix 24 h
    rating = await _ack_and_resolve(c, tid, number)  # resolved at once: the first cycle is kept
    first_cycle = await pending_timers(harness, f"sla:{tid}:")
    assert len(first_cycle) == 3

    harness.clock.set(local(harness, 2026, 11, 24, 11, 0))  # every first-cycle due time has passed
    await c["customer"].send("又黑屏了，和昨天一样", reply_to_message_id=rating["id"])
    ask = await wait_for(c["customer"], "同样的故障")
    await c["customer"].press(ask, f"fu:reopen:{tid}")
    await wait_for(c["customer"], "已重新打开")
    card = await acknowledge(c["li"], tid, number)  # acknowledged, but no contact with the customer
    reopened_at = [e.at for e in await events(harness, tid) if e.kind == "reopened"][0]
    fresh = {t.key: t for t in await pending_timers(harness, f"sla:{tid}:") if t.key.endswith(":r1")}
    hours = {"first_response": policy.sla.first_response_hours, "onsite": policy.sla.onsite_city_hours,
             "fix": policy.sla.fix_general_hours}  # C1001 is in the city
    assert set(fresh) == {f"sla:{tid}:{k}:r1" for k in hours}
    for kind, h in hours.items():
        t = fresh[f"sla:{tid}:{kind}:r1"]
        # on the duty calendar (the fix's 24 h run past 22:30 into the next day)
        assert t.due_at == calc.add_service_time(reopened_at, dt.timedelta(hours=h), duty) + grace
        assert t.payload["since"] == reopened_at.isoformat()
    assert await fire_due(harness) == 3  # the first cycle's timers: kept (resolved in time), no alert
    assert not [t for t in await texts(c["zhao"], 0.3) if "超时" in t]  # (the reopening's complaint alert may be there)

    # nobody answered after the reopening: the fresh first-response promise is missed (the contact
    # and resolution of the first cycle do not count)
    harness.clock.set(reopened_at + dt.timedelta(hours=hours["first_response"]) + grace + dt.timedelta(seconds=5))
    assert await fire_due(harness) == 1
    alert = await wait_for(c["zhao"], "超时")
    assert number in alert["text"] and "首次响应" in alert["text"]
    await c["li"].press(card, f"dp:contact:{tid}")
    kinds = await wait_for(c["li"], "哪种方式")
    await c["li"].press(kinds, "wk:kind:onsite")
    await wait_for(c["li"], "做了什么")
    for answer in ("上门检查", "更换硬盘", "60"):
        await c["li"].ask(answer)
    harness.clock.set(reopened_at + dt.timedelta(hours=hours["onsite"]) + grace + dt.timedelta(seconds=5))
    assert await fire_due(harness) == 1  # on site in time: kept
    assert not [t for t in await texts(c["zhao"], 0.3) if "超时" in t]
    harness.clock.set(reopened_at + dt.timedelta(days=3))
    assert await fire_due(harness) == 1  # fix missed
    breaches = [e.data for e in await events(harness, tid) if e.kind == "sla_breach"]
    assert [b["kind"] for b in breaches] == ["first_response", "fix"]
    assert all(b["since"] == reopened_at.isoformat() for b in breaches)
    assert await pending_timers(harness, f"sla:{tid}:") == []


async def _stale_race(h: Harness, loser: str) -> tuple[Ticket, list[str]]:
    """The ticket as one unit of work read it; then the other action commits first (simulated by a
    plain UPDATE the stale object does not see); then the loser runs on its stale read."""
    assert h.app is not None
    tid, number, _, _ = await open_ticket(h, sla=False)
    async with h.app.db.write() as s:
        li = await s.scalar(select(Staff).where(Staff.key == "li"))
        row = await s.get(Ticket, tid)
        assert li is not None and row is not None
        row.status, row.assignee_id = "in_progress", li.id
    raised = False
    async with h.app.db.write() as s:
        uow = uow_mod.UnitOfWork(session=s, now=h.clock.now(), claim_as=h.app.sender.instance)  # type: ignore[union-attr]
        li = await s.scalar(select(Staff).where(Staff.key == "li"))
        wang = await s.scalar(select(Staff).where(Staff.key == "wang"))
        stale = await s.get(Ticket, tid)
        assert li is not None and wang is not None and stale is not None
        winner = ({"status": "dispatched", "assignee_id": wang.id} if loser == "resolve"
                  else {"status": "resolved", "resolved_at": h.clock.now()})
        await s.execute(update(Ticket).where(Ticket.id == tid).values(**winner)
                        .execution_options(synchronize_session=False))
        try:
            if loser == "resolve":
                await worklog.resolve(uow, h.app.desk, stale, li, "重启后恢复")
            else:
                await worklog.hand_over(uow, h.app.desk, stale, li, "需要本地工程师")
        except worklog.TicketChanged:
            raised = True
        assert uow.outbox == []  # the loser tells nobody anything
    assert raised
    async with h.app.db.read() as s:
        final = await s.get(Ticket, tid)
        kinds = list((await s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid))).all())
    assert final is not None
    return final, kinds


@pytest.mark.parametrize("loser", ["resolve", "hand_over"])
async def test_resolve_and_hand_over_race_exactly_one_wins(harness: Harness, loser: str) -> None:
    await _start(harness)
    final, kinds = await _stale_race(harness, loser)
    assert "handover" not in kinds and "resolved" not in kinds  # the loser recorded nothing
    if loser == "resolve":
        assert final.status == "dispatched" and final.resolution is None
    else:
        assert final.status == "resolved"
