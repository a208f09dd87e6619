"""Issue 14: nothing abandoned (repeat rule, /assign and the Assign button, the roster handoff, a
broken response promise) and supervisors told at once (complaints, dissatisfied ratings, SLA
breaches to the holder too, alerts never overwritten)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import uow as uow_mod
from bot.dispatch import routing as dispatch
from bot.tickets import lifecycle as tickets
from storage.models import Customer, Equipment, Staff, Ticket
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    CUSTOMER,
    TG,
    acknowledge,
    advance_to,
    card_of,
    collect,
    events,
    fire_due,
    local,
    open_ticket,
    pending_timers,
    staff_id,
    start_desk,
    texts,
    ticket,
    wait_for,
)

MONDAY_10 = (2026, 11, 23, 10, 0)  # office layer: li; rotation order zhang → li → wang
STEP = dt.timedelta(minutes=15)  # policy dispatch.ack_timeout_minutes
REPEAT = dt.timedelta(minutes=30)  # policy escalation.repeat_minutes


def _kinds(evs: list) -> list[str]:
    return [e.kind for e in evs]


async def _to_supervisors(h: Harness, c: dict[str, Chat], number: str, t0: dt.datetime) -> dict[str, dict]:
    """Play the chain out (reminder → next engineer → supervisors); the supervisors' alerts."""
    for n in (1, 2, 3):
        h.clock.set(t0 + n * (STEP + dt.timedelta(seconds=5)))
        await fire_due(h)
    return {sup: await wait_for(c[sup], "无人接单") for sup in ("zhao", "admin")}


def _buttons(message: dict) -> list[str]:
    return [b["data"] for row in message.get("buttons") or [] for b in row]


# --- 3. nothing abandoned -----------------------------------------------------------------


async def test_supervisors_are_reminded_again_until_someone_acknowledges(harness: Harness) -> None:
    c = await start_desk(harness)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    alerts = await _to_supervisors(harness, c, number, t0)
    assert f"as:menu:{tid}" in _buttons(alerts["zhao"])  # the alert carries an Assign button
    last = harness.clock.now()
    for n in (1, 2):  # every 30 minutes (policy), the whole set of supervisors again
        harness.clock.set(last + REPEAT - dt.timedelta(seconds=30))
        assert await fire_due(harness) == 0
        harness.clock.set(last + REPEAT + dt.timedelta(seconds=1))
        assert await fire_due(harness) == 1
        last = harness.clock.now()
        for sup in ("zhao", "admin"):
            again = await wait_for(c[sup], "仍无人接单")
            assert number in again["text"] and f"第 {n} 次提醒" in again["text"]
            assert f"as:menu:{tid}" in _buttons(again) and f"dp:ack:{tid}" in _buttons(again)
    reminders = [e for e in await events(harness, tid) if e.kind == "reminder" and e.data["to"] == "supervisors"]
    assert [e.data["repeat"] for e in reminders] == [1, 2] and reminders[0].data["notified"] == 2
    # a supervisor acknowledges: the reminders stop
    await c["zhao"].press(again, f"dp:ack:{tid}")
    await wait_for(c["zhao"], f"已接单：{number}")
    assert await pending_timers(harness, f"ack:{tid}:") == []
    harness.clock.set(last + 3 * REPEAT)
    assert await fire_due(harness) == 0


async def test_repeat_reminders_wait_for_duty_hours(harness: Harness) -> None:
    c = await start_desk(harness, when=(2026, 11, 23, 21, 30))  # after hours: wang until 22:30
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["wang"], number)
    await _to_supervisors(harness, c, number, t0)  # 22:15 supervisors... 22:15 is the last step
    (nxt,) = await pending_timers(harness, f"ack:{tid}:")
    # 22:45 + 30 min falls outside duty hours (22:30–08:00): the reminder waits for 08:00
    assert nxt.due_at == local(harness, 2026, 11, 24, 8, 0)
    harness.clock.set(local(harness, 2026, 11, 24, 7, 59))
    assert await fire_due(harness) == 0
    assert await texts(c["zhao"], 0.3) == []
    harness.clock.set(local(harness, 2026, 11, 24, 8, 0, 2))
    assert await fire_due(harness) >= 1
    assert number in (await wait_for(c["zhao"], "仍无人接单"))["text"]


async def test_assign_command_edits_every_card_and_dispatches_the_engineer(harness: Harness) -> None:
    c = await start_desk(harness)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    li_card = await card_of(c["li"], number)
    await _to_supervisors(harness, c, number, t0)
    wang_card = [m for m in await harness.chat(TG["wang"]).read(0.5) if number in (m.get("text") or "")][0]

    reply = await c["zhao"].ask(f"/assign {number.lower()} zhang")
    assert "已指派给" in reply["text"] and number in reply["text"]
    card = await card_of(c["zhang"], number)
    assert "指派给您" in card["text"]
    for key, old in (("li", li_card), ("wang", wang_card)):
        got = await collect(c[key], "已指派给")
        edited = [m for m in got if m["id"] == old["id"]]
        assert edited and "已指派给" in edited[-1]["text"] and not edited[-1].get("buttons"), key
    t = await ticket(harness, tid)
    assert t.status == "dispatched" and t.assignee_id == await staff_id(harness, "zhang")
    assigned = [e for e in await events(harness, tid) if e.kind == "assigned"]
    assert assigned and assigned[0].data == {"by": "zhao", "to": "zhang", "from": "li"}
    # the chain starts again for zhang: his reminder after one ack timeout, no supervisor repeat
    (timer,) = await pending_timers(harness, f"ack:{tid}:")
    assert timer.payload["stage"] == 0 and timer.payload["engineer"] == "zhang"
    await c["zhang"].press(card, f"dp:ack:{tid}")
    await wait_for(c["zhang"], f"已接单：{number}")
    assert (await ticket(harness, tid)).status == "acknowledged"


async def test_assign_bad_input_gets_one_line_and_changes_nothing(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao", "admin")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    before = _kinds(await events(harness, tid))
    for text, needle in (
        ("/assign", "用法"),
        (f"/assign {number}", "用法"),
        ("/assign SD-2026-999999 zhang", "没有工单 SD-2026-999999"),
        (f"/assign {number} nobody", "“nobody”不是在职且已注册的工程师"),
        (f"/assign {number} zhao", "不是在职且已注册的工程师"),  # a supervisor is not an engineer
    ):
        got = await c["zhao"].read(0.1) + [await c["zhao"].ask(text)]
        assert needle in got[-1]["text"], (text, got[-1]["text"])
    assert _kinds(await events(harness, tid)) == before
    assert (await ticket(harness, tid)).assignee_id == await staff_id(harness, "li")
    # an inactive engineer cannot be given a ticket
    async with harness.app.db.write() as s:
        (await s.scalar(select(Staff).where(Staff.key == "wang"))).active = False
    assert "不是在职" in (await c["zhao"].ask(f"/assign {number} wang"))["text"]
    assert _kinds(await events(harness, tid)) == before


async def test_assign_bad_input_in_english(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao", lang="en")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    assert "No ticket SD-2026-999999; nothing changed." in (await c["zhao"].ask("/assign SD-2026-999999 li"))["text"]
    reply = await c["zhao"].ask(f"/assign {number} ghost")
    assert '"ghost" is not an active, registered engineer; nothing changed.' in reply["text"]
    assert "Usage: /assign" in (await c["zhao"].ask("/assign"))["text"]
    assert "assigned" not in _kinds(await events(harness, tid))


async def test_engineer_cannot_assign(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await card_of(c["li"], number)
    reply = await c["li"].ask(f"/assign {number} zhang")
    assert "没有使用此功能的权限" in reply["text"]
    for data in (f"as:menu:{tid}", f"as:to:{tid}:{await staff_id(harness, 'li')}"):
        await c["li"].press(card, data, forge=True)
        assert "没有使用此功能的权限" in (await c["li"].read())[0]["text"]
    assert "assigned" not in _kinds(await events(harness, tid))


async def test_assign_button_lists_engineers_on_duty_first(harness: Harness) -> None:
    c = await start_desk(harness)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    alert = (await _to_supervisors(harness, c, number, t0))["zhao"]
    await c["zhao"].press(alert, f"as:menu:{tid}")
    menu = await wait_for(c["zhao"], "指派给哪位工程师")
    rows = [row[0] for row in menu["buttons"]]
    assert rows[0]["text"] == "李娜（值班）" and not rows[1]["text"].endswith("（值班）")
    assert len(rows) == 3 and all(r["data"].startswith(f"as:to:{tid}:") for r in rows)
    wang = await staff_id(harness, "wang")
    # the target's status is checked again when pressed: wang deactivated meanwhile
    async with harness.app.db.write() as s:
        (await s.get(Staff, wang)).active = False
    await c["zhao"].press(menu, f"as:to:{tid}:{wang}")
    assert "不是在职" in (await wait_for(c["zhao"], "不是"))["text"]
    assert "assigned" not in _kinds(await events(harness, tid))
    zhang = await staff_id(harness, "zhang")
    await c["zhao"].press(menu, f"as:to:{tid}:{zhang}")
    assert "已指派给" in (await wait_for(c["zhao"], "已指派给"))["text"]
    await card_of(c["zhang"], number)
    assert (await ticket(harness, tid)).assignee_id == zhang
    # a forged press: a staff id that is no engineer, a ticket the message is not about
    await c["zhao"].press(menu, f"as:to:{tid}:{await staff_id(harness, 'admin')}", forge=True)
    assert "不是在职" in (await wait_for(c["zhao"], "不是"))["text"]
    other, other_number, _, _ = await open_ticket(harness, sla=False)
    await c["zhao"].press(menu, f"as:to:{other}:{zhang}", forge=True)
    assert "失效" in (await wait_for(c["zhao"], "失效"))["text"]
    assert "assigned" not in _kinds(await events(harness, other))


async def test_a_resolved_ticket_cannot_be_assigned(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    reply = await c["zhao"].ask(f"/assign {number} zhang")
    assert "不能指派" in reply["text"] and "未做任何更改" in reply["text"]
    assert (await ticket(harness, tid)).status == "resolved"


async def test_roster_handoff_moves_unacknowledged_tickets_to_the_incoming_engineer(harness: Harness) -> None:
    # Monday 30 Nov 22:00, after hours: wang (November); 1 Dec 08:00 the after-hours duty goes to zhang
    c = await start_desk(harness, when=(2026, 11, 30, 22, 0))
    tid, number, _, _ = await open_ticket(harness, sla=False)
    wang_card = await card_of(c["wang"], number)
    assert (await ticket(harness, tid)).assignee_id == await staff_id(harness, "wang")
    await advance_to(harness, local(harness, 2026, 12, 1, 8, 0, 5))
    got = await collect(c["zhang"], "交班转给您", wait=10)
    assert any(number in (m.get("text") or "") and f"dp:ack:{tid}" in _buttons(m) for m in got)
    edited = [m for m in await collect(c["wang"], "交班时已转给") if m["id"] == wang_card["id"]]
    assert edited and not edited[-1].get("buttons")
    t = await ticket(harness, tid)
    assert t.status == "dispatched" and t.assignee_id == await staff_id(harness, "zhang")
    moved = [e for e in await events(harness, tid) if e.kind == "handoff_moved"]
    assert moved and moved[0].data == {"from": "wang", "to": "zhang"}
    timers = await pending_timers(harness, f"ack:{tid}:")
    assert [(t.payload["stage"], t.payload["engineer"]) for t in timers] == [(0, "zhang")]


async def test_a_broken_response_promise_is_told_to_the_customer(harness: Harness) -> None:
    c = await start_desk(harness)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness)  # first response promised by 12:00
    await card_of(c["li"], number)
    await _to_supervisors(harness, c, number, t0)
    await c["customer"].read(0.3)
    harness.clock.set(t0 + dt.timedelta(hours=2, seconds=2))
    await fire_due(harness)
    late = await wait_for(c["customer"], "抱歉")
    assert number in late["text"] and "11-23 12:00" in late["text"] and "11-23 13:00" in late["text"]
    renewed = [e for e in await events(harness, tid) if e.kind == "promise_renewed"]
    assert len(renewed) == 1
    # the new time passes too: told again, with the next time
    harness.clock.set(t0 + dt.timedelta(hours=3, seconds=4))
    await fire_due(harness)
    again = await wait_for(c["customer"], "抱歉")
    assert "11-23 13:00" in again["text"] and "11-23 14:" in again["text"]


async def test_an_acknowledged_ticket_gets_no_apology(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness)
    card = await card_of(c["li"], number)
    await c["li"].press(card, f"dp:ack:{tid}")
    await wait_for(c["customer"], "受理")
    harness.clock.set(t0 + dt.timedelta(hours=2, seconds=2))
    await fire_due(harness)
    assert not [t for t in await texts(c["customer"], 0.5) if "抱歉" in t]
    assert "promise_renewed" not in _kinds(await events(harness, tid))


async def test_the_promise_in_english(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao", lang="en")
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness)
    await card_of(c["li"], number)
    harness.clock.set(t0 + dt.timedelta(hours=2, seconds=2))
    await fire_due(harness)
    late = await wait_for(c["customer"], "sorry", wait=10)
    assert number in late["text"] and "by 11-23 13:00" in late["text"]


# --- 4. supervisors told at once ------------------------------------------------------------


async def _open_complaint(h: Harness) -> tuple[int, str]:
    """A report the complaint rule flagged at intake (policy §5), dispatched as intake does."""
    app = h.app
    assert app is not None and app.sender is not None
    async with app.db.write() as session:
        now = h.clock.now()
        uow = uow_mod.UnitOfWork(session=session, now=now, claim_as=app.sender.instance)
        customer = await session.scalar(select(Customer).where(Customer.number == "C1001"))
        eq = await session.scalar(select(Equipment).where(Equipment.customer_id == customer.id).limit(1))
        new = tickets.NewTicket(
            reporter_user_id=CUSTOMER, reporter_name="王小明", customer_label=customer.name,
            customer_id=customer.id, verified=True, equipment_id=eq.id, equipment_label=eq.model,
            category=eq.category, severity="down", symptom="又黑屏了", complaint=True, complaint_rule="repeat_fault",
        )
        t = await tickets.open_ticket(session, new, now, h.clock.tz)
        await dispatch.dispatch(uow, app.desk, t, notify_customer=False)
        tid, number = t.id, t.number
    await app.sender.send_now(uow.outbox)
    return tid, number


async def test_an_automatic_complaint_reaches_the_supervisors_at_once(harness: Harness) -> None:
    c = await start_desk(harness)
    tid, number = await _open_complaint(harness)
    for sup in ("zhao", "admin"):
        alert = await wait_for(c[sup], "投诉")
        assert number in alert["text"] and "维修或更换后再次出现" in alert["text"] and "时限" in alert["text"]
        assert f"as:menu:{tid}" in _buttons(alert)
    await card_of(c["li"], number)
    assert _kinds(await events(harness, tid)).count("complaint_alert") == 1


async def test_an_overnight_complaint_is_told_at_once_and_once(harness: Harness) -> None:
    c = await start_desk(harness, when=(2026, 11, 23, 23, 30))
    tid, number = await _open_complaint(harness)
    assert number in (await wait_for(c["zhao"], "投诉"))["text"]
    await advance_to(harness, local(harness, 2026, 11, 24, 8, 0, 1))
    await card_of(c["wang"], number)
    assert _kinds(await events(harness, tid)).count("complaint_alert") == 1


async def test_an_explicit_complaint_reaches_supervisors_with_the_card(harness: Harness) -> None:
    c = await start_desk(harness, "zhao", "admin", "li")
    chat = harness.chat(5105, "zh")
    reply = await chat.ask("我要投诉你们的工程师")
    async with harness.app.db.read() as s:
        t = await s.scalar(select(Ticket).where(Ticket.reporter_user_id == 5105))
    assert t.complaint and t.number in reply["text"]
    for sup in ("zhao", "admin"):
        alert = await wait_for(c[sup], "客户要求投诉")
        assert t.number in alert["text"] and "时限" in alert["text"]


async def _resolved(h: Harness, c: dict[str, Chat], sla: bool = False) -> tuple[int, str, dict, dict]:
    tid, number, _, _ = await open_ticket(h, sla=sla)
    card = await acknowledge(c["li"], tid, number)
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    rating = await wait_for(c["customer"], "评分")
    return tid, number, card, rating


async def test_a_dissatisfied_rating_reaches_the_supervisors(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao", "admin")
    tid, number, _, rating = await _resolved(harness, c)
    await c["zhao"].read(0.3)
    await c["customer"].press(rating, f"rt:{tid}:dissatisfied")
    await wait_for(c["customer"], "感谢")
    for sup in ("zhao", "admin"):
        alert = await wait_for(c[sup], "不满意")
        assert number in alert["text"] and "-5" in alert["text"] and "李娜" in alert["text"]
        assert "时限" in alert["text"]  # with the ticket's card


async def test_a_good_rating_alerts_nobody(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    tid, number, _, rating = await _resolved(harness, c)
    await c["zhao"].read(0.3)
    await c["customer"].press(rating, f"rt:{tid}:satisfied")
    await wait_for(c["customer"], "感谢")
    assert not [t for t in await texts(c["zhao"], 0.5) if number in t]


async def test_sla_breach_reaches_the_holder_and_alerts_survive_the_resolution(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness)
    card = await acknowledge(c["li"], tid, number)
    harness.clock.set(t0 + dt.timedelta(hours=2, seconds=5))
    await fire_due(harness)
    mine = await wait_for(c["li"], "您名下的工单")
    sup = await wait_for(c["zhao"], "超时")
    assert number in mine["text"] and "首次响应" in mine["text"]
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].ask("重启后恢复")
    await fire_due(harness, settle=0.5)
    assert harness.app is not None and harness.app.sender is not None
    assert await harness.app.sender.flush(limit_seconds=15)
    history = {m["id"]: m for m in await harness.chat(TG["li"]).read(1)}  # everything, as it is now
    assert "已由 李娜 解决" in history[card["id"]]["text"]  # the card shows the resolution
    assert history[mine["id"]]["text"] == mine["text"]  # the alert is not overwritten by the card
    stripped = [m for m in await c["zhao"].read(2) if m["id"] == sup["id"]]
    assert stripped and "超时" in stripped[-1]["text"] and not stripped[-1].get("buttons")


# --- the policy's repeat rule ----------------------------------------------------------------


def _policy_with(tmp_path: Path, old: str, new: str) -> Path:
    from bot.rules.policy import DEFAULT_POLICY

    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text, old
    out = tmp_path / "policy.toml"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("repeat_minutes = 30", "repeat_minutes = -5", "escalation.repeat_minutes", "greater than or equal"),
        ("repeat_minutes = 30", 'repeat_minutes = "30"', "escalation.repeat_minutes", "integer"),
        ("repeat_during_duty_hours = true", "repeat_during_duty_hours = 1", "escalation.repeat_during_duty_hours",
         "boolean"),
        ("recommit_minutes = 60", "recommit_minutes = 0", "escalation.recommit_minutes", "greater than or equal"),
    ],
)
def test_the_repeat_rule_is_validated(tmp_path: Path, old: str, new: str, key: str, problem: str) -> None:
    from bot.rules.policy import PolicyError, load_policy

    path = _policy_with(tmp_path, old, new)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    assert str(err.value).startswith(f"{path}: {key}: ") and problem in str(err.value), str(err.value)


async def test_the_repeat_interval_and_hours_come_from_the_policy(harness: Harness, tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, "repeat_minutes = 30", "repeat_minutes = 10")
    policy.write_text(policy.read_text(encoding="utf-8").replace(
        "repeat_during_duty_hours = true", "repeat_during_duty_hours = false"), encoding="utf-8")
    c = await start_desk(harness, when=(2026, 11, 23, 21, 45), policy_file=policy)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["wang"], number)
    await _to_supervisors(harness, c, number, t0)
    (nxt,) = await pending_timers(harness, f"ack:{tid}:")  # 22:30 + 10 min: past duty hours, no matter
    assert abs(nxt.due_at - harness.clock.now() - dt.timedelta(minutes=10)) < dt.timedelta(seconds=5)
    harness.clock.set(nxt.due_at + dt.timedelta(seconds=1))
    assert await fire_due(harness) == 1
    assert number in (await wait_for(c["zhao"], "仍无人接单"))["text"]


async def test_repeat_minutes_zero_tells_the_supervisors_once(harness: Harness, tmp_path: Path) -> None:
    policy = _policy_with(tmp_path, "repeat_minutes = 30", "repeat_minutes = 0")
    c = await start_desk(harness, policy_file=policy)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    await card_of(c["li"], number)
    await _to_supervisors(harness, c, number, t0)
    assert await pending_timers(harness, f"ack:{tid}:") == []
