"""Issue 14.5 end to end: duplicate reports are linked (verified), flagged (unverified), asked about
(similar symptom), split off (*This is a different problem*), and supervisors can ``/merge A B``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from storage.models import Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    TG,
    card_of,
    events,
    fire_due,
    open_ticket,
    pending_timers,
    start_desk,
    ticket,
    wait_for,
)
from tests.support.dispatchkit import collect as until
from tests.support.flows import (
    collect,
    datas,
    joined,
    last_with_buttons,
    read_until,
    read_until_button,
    report_verified,
    say,
    tap,
)

PHONE_A, PHONE_B = "+8613800000001", "+8613800000011"  # 王小明 and 刘芳 of C1001
SYMPTOM = "录像机没有画面，所有摄像头黑屏"


async def _tickets(h: Harness) -> list[Ticket]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())


def _kinds(rows: list[TicketEvent]) -> list[str]:
    return [e.kind for e in rows]


async def _report_on(chat: Chat, index: int, symptom: str, *, phone: str | None = None) -> list[dict[str, Any]]:
    """A verified report on the customer's ``index``-th registered equipment, up to Submit; every reply to it."""
    await chat.send("/report")
    first = await collect(chat)
    if datas(first, "rp:eq:"):
        eq = last_with_buttons(first)
    else:
        assert phone is not None
        await chat.send("C1001")
        await chat.read()
        await chat.send(contact={"phone_number": phone})
        eq = await read_until_button(chat, "rp:eq:")
    choices = [d for d in datas([eq], "rp:eq:") if d != "rp:eq:none"]
    await chat.press(eq, choices[index])
    await chat.read()
    await chat.send(symptom)
    sev = await read_until_button(chat, "rp:sev:")
    await chat.press(sev, "rp:sev:down")
    summary = await read_until_button(chat, "rp:submit")
    await chat.press(summary, "rp:submit")
    return await read_until(chat, "SD-")


async def test_a_verified_second_contact_is_linked_and_can_split_off(harness: Harness) -> None:
    c = await start_desk(harness, "li", "zhang", "wang")
    first = harness.chat(5101)
    await report_verified(first, phone=PHONE_A)
    [t1] = await _tickets(harness)
    card = await card_of(c["li"], t1.number)
    # 刘芳 of the same customer reports the same recorder: linked, nothing dispatched again
    second = harness.chat(5102)
    got = await report_verified(second, phone=PHONE_B, symptom="录像机坏了")
    said = joined(got)
    assert f"已在工单 {t1.number} 中处理" in said and datas(got, "dup:diff:") == [f"dup:diff:{t1.id}"]
    assert [t.id for t in await _tickets(harness)] == [t1.id]
    assert "linked" in _kinds(await events(harness, t1.id))
    note = await wait_for(c["li"], "另一条报修")
    assert t1.number in note["text"] and not note.get("buttons")
    for key in ("li", "zhang", "wang"):
        assert not datas(await c[key].read(0.3), "dp:ack:"), key  # no second dispatch card
    # the linked reporter sees the ticket (without a cancel button) and hears its news
    await second.send(f"/ticket {t1.number}")
    detail = await wait_for(second, "提交时间")
    assert t1.number in detail["text"] and not detail.get("buttons")
    await second.send("/mytickets")
    assert t1.number in (await wait_for(second, "我的工单"))["text"]
    await c["li"].press(card, f"dp:ack:{t1.id}")
    for chat in (first, second):
        await wait_for(chat, "李娜")
    # "This is a different problem": a ticket of its own, dispatched, with its receipt
    linked_msg = next(m for m in got if datas([m], "dup:diff:"))
    await second.press(linked_msg, f"dup:diff:{t1.id}")
    receipt = await wait_for(second, "报修已提交")
    tickets = await _tickets(harness)
    assert len(tickets) == 2 and tickets[1].number in receipt["text"]
    t2 = tickets[1]
    assert t2.reporter_user_id == 5102 and t2.verified and t2.status == "dispatched" and t2.symptom == "录像机坏了"
    assert t2.first_response_due is not None
    assert "unlinked" in _kinds(await events(harness, t1.id))
    # pressed again: stale, nothing more opened; the first ticket is no longer the reporter's
    await second.press(linked_msg, f"dup:diff:{t1.id}")
    assert "已失效" in (await wait_for(second, "已失效"))["text"]
    assert len(await _tickets(harness)) == 2
    await second.send(f"/ticket {t1.number}")
    await wait_for(second, f"没有找到工单 {t1.number}")


async def test_an_unverified_report_gets_its_own_ticket_flagged_for_the_desk(harness: Harness) -> None:
    c = await start_desk(harness, "li", "zhang", "wang")
    await report_verified(harness.chat(5101), phone=PHONE_A)
    [t1] = await _tickets(harness)
    await card_of(c["li"], t1.number)
    stranger = harness.chat(5103)
    seen = await say(stranger, "/report")
    seen += await say(stranger, "C1001")
    seen += (got := await say(stranger, "张三"))
    seen += (got := await tap(stranger, got, "rp:cat:cctv"))
    seen += await say(stranger, "门口的录像机")
    seen += (got := await say(stranger, SYMPTOM))
    seen += (got := await tap(stranger, got, "rp:sev:down"))
    seen += await tap(stranger, got, "rp:submit")
    tickets = await _tickets(harness)
    assert len(tickets) == 2
    t2 = tickets[1]
    assert not t2.verified and t2.number in joined(seen)
    assert t1.number not in joined(seen)  # the unverified reporter never learns the other ticket
    assert not datas(seen, "dup:") and "linked" not in _kinds(await events(harness, t1.id))
    card = await card_of(c["li"], t2.number)
    assert f"可能与 {t1.number} 重复" in card["text"]
    assert "possible_duplicate" in _kinds(await events(harness, t2.id))


async def test_a_similar_symptom_asks_first_same_links_other_opens(harness: Harness) -> None:
    c = await start_desk(harness, "li", "zhang", "wang")
    first, second = harness.chat(5101), harness.chat(5102)
    await _report_on(first, 0, SYMPTOM, phone=PHONE_A)
    [t1] = await _tickets(harness)
    await card_of(c["li"], t1.number)
    # another contact, other equipment, a similar symptom: asked first, nothing opened yet
    got = await _report_on(second, 1, "所有摄像头黑屏，录像机没有画面了", phone=PHONE_B)
    assert t1.number in joined(got) and datas(got, "rp:same") and datas(got, "rp:other")
    assert len(await _tickets(harness)) == 1 and await pending_timers(harness, "dupask:5102:")
    got = await tap(second, got, "rp:same")
    assert f"已在工单 {t1.number} 中处理" in joined(got) and datas(got, "dup:diff:")
    assert len(await _tickets(harness)) == 1 and not await pending_timers(harness, "dupask:")
    # the first reporter, on a third piece of equipment, says it is a different problem
    got = await _report_on(first, 2, "录像机没有画面，摄像头全部黑屏")
    assert datas(got, "rp:other")
    got = await tap(first, got, "rp:other")
    tickets = await _tickets(harness)
    assert len(tickets) == 2 and tickets[1].number in joined(got) and "报修已提交" in joined(got)
    await card_of(c["li"], tickets[1].number)


async def test_an_unanswered_question_opens_the_report_after_the_timeout(harness: Harness) -> None:
    c = await start_desk(harness, "li", "zhang", "wang")
    first = harness.chat(5101)
    await _report_on(first, 0, SYMPTOM, phone=PHONE_A)
    [t1] = await _tickets(harness)
    got = await _report_on(first, 1, "所有摄像头黑屏，录像机没有画面了")
    assert datas(got, "rp:same") and len(await _tickets(harness)) == 1
    await say(first, photo=True)  # a file while the question is open stays with the report
    minutes = harness.app.desk.policy.duplicates.ask_timeout_minutes  # type: ignore[union-attr]
    harness.clock.set(harness.clock.now() + dt.timedelta(minutes=minutes + 1))
    await fire_due(harness)
    got_late = await until(first, "作为新工单", "报修已提交")
    tickets = await _tickets(harness)
    assert len(tickets) == 2 and tickets[1].number in joined(got_late)
    assert [a["kind"] for a in tickets[1].attachments] == ["photo"]
    await card_of(c["li"], tickets[1].number)
    # the question is gone: its buttons are stale now
    late = await tap(first, got, "rp:same")
    assert len(await _tickets(harness)) == 2 and "rp:" not in str(datas(late))


async def test_merge_moves_reporters_and_closes_the_first(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao")
    other = harness.chat(5102)
    await other.send("/start")
    await other.read()
    a_id, a_no, _, _ = await open_ticket(harness, reporter=5102, sla=True)
    b_id, b_no, _, _ = await open_ticket(harness, reporter=5101, sla=False)
    await until(c["li"], a_no, b_no)
    before = (_kinds(await events(harness, a_id)), _kinds(await events(harness, b_id)))
    for text, needle in (
        ("/merge", "用法"),
        (f"/merge {a_no}", "用法"),
        (f"/merge SD-2026-999999 {b_no}", "没有工单 SD-2026-999999"),
        (f"/merge {a_no} {a_no.lower()}", "不能合并到自身"),
    ):
        reply = await c["zhao"].ask(text)
        assert needle in reply["text"], (text, reply["text"])
    assert "没有使用此功能的权限" in (await c["li"].ask(f"/merge {a_no} {b_no}"))["text"]
    assert "没有使用此功能的权限" in (await other.ask(f"/merge {a_no} {b_no}"))["text"]
    assert (_kinds(await events(harness, a_id)), _kinds(await events(harness, b_id))) == before
    done = await c["zhao"].ask(f"/merge {a_no} {b_no}")
    assert f"工单 {a_no} 已合并到 {b_no}" in done["text"]
    a, b = await ticket(harness, a_id), await ticket(harness, b_id)
    assert a.status == "closed" and b.status == "dispatched"
    assert "merged" in _kinds(await events(harness, a_id)) and "merged_in" in _kinds(await events(harness, b_id))
    assert not await pending_timers(harness, f"ack:{a_id}:") and not await pending_timers(harness, f"promise:{a_id}:")
    edited = await wait_for(c["li"], f"已合并到 {b_no}")
    assert a_no in edited["text"] and not edited.get("buttons")
    notice = await wait_for(other, b_no)
    assert a_no in notice["text"]
    assert b_no in (await other.ask(f"/ticket {b_no}"))["text"]  # now one of B's reporters
    history = await c["zhao"].ask(f"/ticket {b_no}")
    assert a_no in history["text"]
    assert "只有未完成的工单可以合并" in (await c["zhao"].ask(f"/merge {a_no} {b_no}"))["text"]
    assert TG["zhao"] == 2001


async def test_merge_in_english_and_a_reporter_not_allowed_to_see_the_target(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "zhao", lang="en")
    stranger = harness.chat(5103, "en")
    await stranger.send("/start")
    await stranger.read()
    a_id, a_no, _, _ = await open_ticket(harness, reporter=5103, sla=False)
    b_id, b_no, _, _ = await open_ticket(harness, reporter=5101, sla=False)
    assert harness.app is not None
    async with harness.app.db.write() as s:  # A came from an unverified report naming the customer
        row = await s.get(Ticket, a_id)
        assert row is not None
        row.verified = False
    await until(c["li"], a_no, b_no)
    reply = await c["zhao"].ask(f"/merge SD-2026-999999 {b_no}")
    assert reply["text"] == "No ticket SD-2026-999999; nothing changed."
    assert "Usage: /merge" in (await c["zhao"].ask("/merge"))["text"]
    assert "cannot be merged into itself" in (await c["zhao"].ask(f"/merge {b_no} {b_no}"))["text"]
    done = await c["zhao"].ask(f"/merge {a_no} {b_no}")
    assert f"Ticket {a_no} merged into {b_no}: 0 reporter(s)" in done["text"]
    notice = await wait_for(stranger, "handled together")
    assert a_no in notice["text"] and b_no not in notice["text"]
    await stranger.send(f"/ticket {b_no}")
    await wait_for(stranger, f"Ticket {b_no} not found")
    assert (await ticket(harness, a_id)).status == "closed"
    assert "linked" not in _kinds(await events(harness, b_id))
