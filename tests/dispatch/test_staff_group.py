"""The staff group with one forum topic per ticket (issue 17, bullet 4), end to end through the
sandbox: the topic opens with the card, staff acknowledge there and talk to the customer by writing
in it (``//`` stays an internal note), the customer's replies appear there, the topic follows the
status (renamed, closed on resolution, reopened on reopen); a non-staff member gets nothing."""

from __future__ import annotations

import datetime as dt

from bot.core import uow as uow_mod
from bot.tickets import work
from storage.models import Ticket, TicketTopic
from tests.harness import Harness
from tests.support.dispatchkit import (
    MONDAY_10,
    TG,
    acknowledge,
    events,
    fire_due,
    local,
    open_ticket,
    start_desk,
    ticket,
    wait_for,
)
from tests.support.flows import read_until_button
from tests.support.staffgroupkit import OUTSIDER, Forum, staff_forum


async def _reopen(h: Harness, ticket_id: int) -> None:
    """The customer's "the same fault is back" (bot.tickets.work.reopen) in a unit of work that ends
    as an update's does (the finish hook mirrors it)."""
    app = h.app
    assert app is not None and app.sender is not None and app.runner is not None
    async with app.db.write() as session:
        uow = uow_mod.UnitOfWork(session=session, now=h.clock.now(), claim_as=app.sender.instance)
        found = await session.get(Ticket, ticket_id)
        assert found is not None
        assert await work.reopen(uow, app.desk, found, found.reporter_user_id) is not None
        await uow_mod.finish_safely(uow, app.runner.finish)
    await app.sender.send_now(uow.outbox)


async def test_a_ticket_is_worked_in_its_topic(harness: Harness) -> None:
    h = harness
    chat_id = await staff_forum(h)
    c = await start_desk(h, "customer", "li", "zhao", staff_group_id=chat_id)
    forum = Forum(h, chat_id)
    li, customer = c["li"], c["customer"]
    tid, number, _, _ = await open_ticket(h, sla=False)

    # the new ticket opens its topic, "SD-… · customer · equipment · status", holding the card
    topic = await forum.topic_of(number)
    thread = topic["message_thread_id"]
    assert len(topic["name"]) <= 128 and "已派单" in topic["name"]
    card = await forum.wait_for(thread, "录像机没有画面")
    assert f"dp:ack:{tid}" in [b["data"] for row in card["buttons"] for b in row]
    assert h.app is not None
    async with h.app.db.read() as s:
        stored = await s.get(TicketTopic, tid)
    assert stored is not None and (stored.chat_id, stored.message_thread_id, stored.card_message_id) == (
        chat_id, thread, card["id"])

    # a member who is no staff gets nothing and changes nothing, pressing or writing
    await forum.press(OUTSIDER, card, f"dp:ack:{tid}")
    await forum.say(OUTSIDER, thread, "我来接这单")
    await forum.say(TG["li"], None, "General 里的闲聊")  # General: not a ticket's topic, ignored
    assert (await ticket(h, tid)).status == "dispatched"
    assert await forum.read(thread, wait=1.0) == []

    # acknowledged from the topic's button: the answer goes into the topic, the card keeps its buttons
    await forum.press(TG["li"], card, f"dp:ack:{tid}")
    await forum.wait_for(thread, "已接单")
    assert (await ticket(h, tid)).status == "acknowledged"
    await wait_for(customer, "李娜")
    await read_until_button(li, f"rl:msg:{tid}")  # li's private card works as before

    # a staff message in the topic reaches the customer (the first response); the reply comes back
    await forum.say(TG["li"], thread, "您好，请先重启录像机")
    relayed = await wait_for(customer, "请先重启录像机", wait=15.0)
    assert f"工单 {number} · 工程师 李娜" in relayed["text"] and str(TG["li"]) not in relayed["text"]
    await forum.wait_for(thread, "请先重启录像机")  # mirrored: "to the customer"
    assert (await ticket(h, tid)).status == "in_progress"
    await customer.send("重启了还是黑屏", reply_to_message_id=relayed["id"])
    await forum.wait_for(thread, "重启了还是黑屏")
    # files both ways: a photo written in the topic reaches the customer, the customer's comes back
    await forum.say(TG["li"], thread, photo=True, caption="请按图检查接线")
    photo = await wait_for(customer, "请按图检查接线", wait=15.0)
    assert photo.get("photo")
    await customer.send(photo=True, caption="接线照片", reply_to_message_id=photo["id"])
    line = await forum.wait_for(thread, "接线照片")
    await h.settle(chat_id, 10.0)
    later = [m for m in await forum.everything(thread) if m["id"] > line["id"]]
    assert any(m.get("photo") and number in (m.get("text") or "") for m in later)  # the file follows its line
    renamed = await forum.until_topic(lambda t: t["message_thread_id"] == thread and "处理中" in t["name"])
    assert number in renamed["name"]

    # "//" is an internal note: never relayed, in the history
    await forum.say(TG["li"], thread, "//备件已订，周三到")
    await forum.wait_for(thread, "备件已订")
    notes = [e for e in await events(h, tid) if e.kind == "note"]
    assert [e.data["text"] for e in notes] == ["备件已订，周三到"]
    assert all("备件" not in (m.get("text") or "") for m in await customer.read(1.0))
    zhao = c["zhao"]
    await zhao.send(f"/ticket {number}")
    await wait_for(zhao, "备件已订")

    # resolving is a typed answer: the topic points to the private chat, where it goes on
    card = await forum.message(thread, card["id"])  # as edited when li took it: the work buttons
    await forum.press(TG["li"], card, f"dp:resolve:{tid}")
    await forum.wait_for(thread, "私聊")
    await wait_for(li, number)
    await li.send("更换电源适配器后恢复正常")
    await forum.until_topic(lambda t: t["message_thread_id"] == thread and t["closed"] and "已解决" in t["name"])
    assert (await ticket(h, tid)).status == "resolved"

    # reopened (and dispatched again at once): the topic opens again, named with the new status
    await _reopen(h, tid)
    await forum.until_topic(lambda t: t["message_thread_id"] == thread and not t["closed"] and "已派单" in t["name"])
    await forum.wait_for(thread, "重新打开")  # the reopen's line
    assert len([t for t in await forum.topics() if number in t["name"]]) == 1  # one topic per ticket


async def test_without_a_staff_group_the_group_stays_refused(harness: Harness) -> None:
    h = harness
    chat_id = await staff_forum(h)
    c = await start_desk(h, "customer", "li")
    forum = Forum(h, chat_id)
    tid, number, _, _ = await open_ticket(h, sla=False)
    await wait_for(c["li"], number)  # the private card as always
    await forum.say(TG["li"], None, "有人吗")
    await forum.say(TG["li"], None, "/oncall")
    assert await forum.topics() == []  # no topic was opened
    await h.settle(chat_id, 10.0)
    data = await h.get("/sandbox/messages", chat_id=chat_id)
    bot_lines = [m["text"] for m in data["messages"] if m["from"]["id"] not in (*TG.values(), OUTSIDER)
                 and m.get("service") is None]
    assert len(bot_lines) == 1 and "私聊" in bot_lines[0]  # the command gets the one "private only" line
    assert (await ticket(h, tid)).status == "dispatched"


async def test_an_sla_breach_is_told_in_the_topic(harness: Harness) -> None:
    h = harness
    chat_id = await staff_forum(h)
    c = await start_desk(h, "li", "zhao", staff_group_id=chat_id)
    forum = Forum(h, chat_id)
    tid, number, _, _ = await open_ticket(h)  # first response due in 2 h
    thread = (await forum.topic_of(number))["message_thread_id"]
    await acknowledge(c["li"], tid, number)  # on the private card: the topic hears of it too
    await forum.wait_for(thread, "李娜")
    h.clock.set(local(h, *MONDAY_10) + dt.timedelta(hours=2, seconds=5))
    assert await fire_due(h) == 1
    await forum.wait_for(thread, "SLA 超时：首次响应")  # the timer's transaction is mirrored as well
    await wait_for(c["zhao"], "超时")  # the supervisors' alert as always
