"""Relay between the engineer holding a ticket and its customer (issue 17): both ways with text,
photo, document and voice; it follows hand-overs; canned replies; internal notes the customer never
sees; refusals (not the holder, another customer, finished tickets, bad input); the SLA's first
response."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from bot.reports import export
from bot.reports.periods import month
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    MONDAY_10,
    card_of,
    collect,
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

DOC = {"file_name": "wiring.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 wiring").decode()}


def _file_id(m: dict[str, Any]) -> str | None:
    """The file id of a message read from the sandbox (any kind)."""
    for kind in ("voice", "video", "video_note", "audio"):
        if m.get(kind):
            return str(m[kind]["file_id"])
    for kind in ("document", "photo"):
        if m.get(kind):
            return str(m[kind]["url"]).rsplit("/", 1)[-1]
    return None


async def _taken(h: Harness, *keys: str, sla: bool | None = False) -> tuple[dict[str, Chat], int, str, dict[str, Any]]:
    """A ticket acknowledged by li; returns the chats, its id and number, and li's card as edited
    (with the relay buttons)."""
    c = await start_desk(h, *keys)
    tid, number, _, _ = await open_ticket(h, sla=sla)
    card = await card_of(c["li"], number)
    await c["li"].press(card, f"dp:ack:{tid}")
    card = await read_until_button(c["li"], f"rl:msg:{tid}")
    await wait_for(c["customer"], "李娜")  # "taken by 李娜"
    return c, tid, number, card


async def _relayed(chat: Chat, number: str, needle: str = "", kind: str | None = None) -> dict[str, Any]:
    """Read until a relayed message of ``number`` (headed, with the Reply button) arrives."""
    head = f"工单 {number} · 工程师"
    seen: list[str] = []
    for _ in range(10):
        batch = await chat.read(8.0)
        for m in batch:
            text = m.get("text") or ""
            if head in text and needle in text and (kind is None or m.get(kind)):
                return m
            seen.append(text)
        if not batch:
            break
    raise AssertionError(f"no relayed message of {number} with {needle!r}: {seen}")


async def test_relay_both_ways_with_text_photo_document_and_voice(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness, "customer", "li", "zhao")
    li, customer = c["li"], c["customer"]
    # Message customer → one text message, headed with the ticket and the engineer's name only
    await li.press(card, f"rl:msg:{tid}")
    await wait_for(li, "请发送要转给")
    await li.send("您好，请先确认录像机电源灯是否亮。")
    await wait_for(li, "已发送给工单")
    first = await _relayed(customer, number, "电源灯")
    assert "李娜" in first["text"] and "1002" not in first["text"]
    assert [b["data"] for row in first["buttons"] for b in row] == [f"rl:reply:{tid}"]
    assert (await ticket(harness, tid)).status == "in_progress"

    # the customer replies to it: the engineer holding the ticket gets it and replies with a photo
    await customer.send("电源灯是亮的，但还是黑屏", reply_to_message_id=first["id"])
    await wait_for(customer, "已将您的补充信息")
    notice = await wait_for(li, "电源灯是亮的")
    await li.send(photo=True, caption="请按这张图检查接线", reply_to_message_id=notice["id"])
    await wait_for(li, "已发送给工单")
    photo = await _relayed(customer, number, "接线", kind="photo")

    # the Reply button under the photo, then a voice message: it reaches li with the file (during a
    # report the button says to reply to the message instead: the report is kept)
    await customer.send("/report")
    await customer.read()
    await customer.press(photo, f"rl:reply:{tid}")
    await wait_for(customer, "您正在填写报修")
    await customer.send("/cancel")
    await wait_for(customer, "取消")
    await customer.press(photo, f"rl:reply:{tid}")
    await wait_for(customer, "请发送您对工单")
    await customer.send(voice={"duration": 3})
    await wait_for(customer, "已将您的补充信息")
    got = await collect(li, "客户补充了工单")
    voice = next((m for m in got if m.get("voice")), None) or await read_until_voice(li)

    # li answers the voice message with a voice message, and the card with a document
    await li.send(voice={"duration": 5}, reply_to_message_id=voice["id"])
    await wait_for(li, "已发送给工单")
    back = await _relayed(customer, number, kind="voice")
    await li.send(document=DOC, caption="接线说明", reply_to_message_id=card["id"])
    await wait_for(li, "已发送给工单")
    doc = await _relayed(customer, number, "接线说明", kind="document")

    evs = await events(harness, tid)
    out = [e for e in evs if e.kind == "relay_out"]
    assert [e.data["text"] for e in out] == ["您好，请先确认录像机电源灯是否亮。", "请按这张图检查接线", "", "接线说明"]
    assert all(e.data["by"] == "li" for e in out)
    kinds = [[a["kind"] for a in e.data.get("attachments", [])] for e in out]
    assert kinds == [[], ["photo"], ["voice"], ["document"]]
    # re-sent by file id (a photo's sizes are re-made by Telegram, so its id is not compared)
    assert [e.data["attachments"][0]["file_id"] for e in out[2:]] == [_file_id(back), _file_id(doc)]
    assert out[1].data["attachments"][0]["file_id"] and photo["photo"]
    infos = [e for e in evs if e.kind == "customer_info"]
    assert infos[0].data["text"] == "电源灯是亮的，但还是黑屏" and infos[1].data["attachments"][0]["kind"] == "voice"
    # relay never shows the supervisor anything: only the holder talks to the customer
    assert not any("电源灯" in t for t in await texts(c["zhao"], 0.3))

    # every relayed message is in the supervisor's /ticket history, the customer's /ticket and the export
    await c["zhao"].send(f"/ticket {number}")
    history = (await wait_for(c["zhao"], "全部记录"))["text"]
    assert "💬 发给客户：您好，请先确认录像机电源灯是否亮。" in history
    assert "💬 发给客户：请按这张图检查接线（📎 照片 1 张）" in history and "（📎 文件 1 个）" in history
    assert "客户补充：电源灯是亮的，但还是黑屏" in history and "（📎 语音 1 条）" in history
    await customer.send(f"/ticket {number}")
    mine = (await wait_for(customer, "往来消息"))["text"]
    assert "工程师 李娜：请按这张图检查接线（📎 照片 1 张）" in mine and "您：电源灯是亮的" in mine
    assert harness.app is not None
    async with harness.app.db.read() as s:
        data = await export.export_data(s, month(2026, 11), harness.clock.tz, harness.clock.now())
    col = {name: i for i, name in enumerate(export.EVENT_COLUMNS)}
    rows = [r for r in data.events if r[col["ticket_number"]] == number and r[col["event_kind"]] == "relay_out"]
    assert [r[col["note"]] for r in rows] == ["您好，请先确认录像机电源灯是否亮。", "请按这张图检查接线", None, "接线说明"]
    assert [r[col["actor"]] for r in rows] == ["李娜"] * 4
    assert rows[2][col["files"]] == f"voice:{_file_id(back)}" and rows[3][col["files"]] == f"document:{_file_id(doc)}"


async def read_until_voice(chat: Chat) -> dict[str, Any]:
    """Read until a voice message arrives (the forwarded file may come after the notice)."""
    for _ in range(10):
        for m in await chat.read(8.0):
            if m.get("voice"):
                return m
    raise AssertionError("no voice message")


async def test_relay_follows_the_hand_over_and_refuses_others(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness, "customer", "li", "wang", "zhang")
    li, wang, customer = c["li"], c["wang"], c["customer"]
    await li.press(card, f"rl:msg:{tid}")
    await wait_for(li, "请发送要转给")
    await li.send("我先远程看一下")
    first = await _relayed(customer, number, "远程")

    await li.press(card, f"dp:handover:{tid}")
    await wait_for(li, "请说明原因")
    await li.send("需要本地工程师上门")
    await wait_for(li, "已转交给 王强")
    handed = await card_of(wang, number)
    # before wang acknowledges, nobody may write to the customer
    await li.send("我还在跟进", reply_to_message_id=card["id"])
    assert "不在您名下" in (await wait_for(li, "无法联系客户"))["text"]
    await wang.press(handed, f"dp:ack:{tid}")
    await read_until_button(wang, f"rl:msg:{tid}")

    # the customer's reply to li's message goes to wang, who holds the ticket now, not to li
    await customer.send("好的，下午在", reply_to_message_id=first["id"])
    await wait_for(customer, "已将您的补充信息")
    notice = await wait_for(wang, "下午在")
    assert not any("下午在" in t for t in await texts(li, 0.5))
    await wang.send("我两点到", reply_to_message_id=notice["id"])
    assert "王强" in (await _relayed(customer, number, "两点"))["text"]

    # li's old card (no buttons now) and another engineer's forged press: refused, nothing relayed
    await li.press(card, f"rl:msg:{tid}", forge=True)
    await wait_for(li, "不在您名下")
    await li.send("我还在", reply_to_message_id=card["id"])
    await wait_for(li, "不在您名下")
    await c["zhang"].send(f"/note {number} 我也来看看")  # nor add notes to it
    await wait_for(c["zhang"], "不能添加内部备注")
    own = await c["zhang"].ask("/oncall")  # zhang never had the card: the press is forged on his own chat
    await c["zhang"].press(own, f"rl:canned:{tid}", forge=True)
    await wait_for(c["zhang"], "不在您名下")
    # a customer forging staff buttons, another customer forging the Reply button
    await customer.press(first, f"rl:msg:{tid}", forge=True)
    await wait_for(customer, "没有使用此功能的权限")
    other = harness.chat(5102)
    own = await other.ask("/start")
    await other.press(own, f"rl:reply:{tid}", forge=True)  # forged on a message of their own chat
    stale = " ".join(await texts(other, 2.0))
    assert number not in stale
    await other.send("我想看看别人的工单")
    assert number not in " ".join(await texts(other, 2.0))
    out = [e for e in await events(harness, tid) if e.kind == "relay_out"]
    assert [(e.data["by"], e.data["text"]) for e in out] == [("li", "我先远程看一下"), ("wang", "我两点到")]
    assert not any("我还在" in t for t in await texts(customer, 0.3))


async def test_canned_replies_notes_and_bad_input(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness, "customer", "li", "zhao")
    li, zhao, customer = c["li"], c["zhao"], c["customer"]
    await li.press(card, f"rl:canned:{tid}")
    menu = await wait_for(li, "常用回复")
    assert [b["data"] for row in menu["buttons"] for b in row] == [
        f"rl:send:{tid}:restart", f"rl:send:{tid}:remote", f"rl:send:{tid}:onsite"]
    await li.press(menu, f"rl:send:{tid}:restart")
    await wait_for(li, "已发送给工单")
    assert "等待 30 秒" in (await _relayed(customer, number, "重新开机"))["text"]
    await li.press(menu["id"], f"rl:send:{tid}:nosuch", forge=True)  # an unknown key: stale
    await wait_for(li, "按钮已失效")

    # internal notes: by the holder (button) and a supervisor (/note); never to the customer
    await li.press(card, f"rl:note:{tid}")
    await wait_for(li, "内部备注")
    await li.send(photo=True)  # a note is text only: said so, the step stays
    await wait_for(li, "内部备注只能是文字")
    await li.send("客户比较着急，先安抚")
    await wait_for(li, "添加内部备注")
    await zhao.send(f"/note {number} 已与客户经理沟通\n优先处理")
    await wait_for(zhao, "添加内部备注")
    await c["customer"].send(f"/note {number} 想看备注")  # a customer: not allowed
    await wait_for(customer, "没有使用此功能的权限")

    # bad input: a clear line each time, nothing sent, the step stays
    await li.press(card, f"rl:msg:{tid}")
    await wait_for(li, "请发送要转给")
    await li.send("   ")
    await wait_for(li, "消息是空的")
    await li.send("长" * 4050)
    await wait_for(li, "太长")
    await li.send(photo=True, caption="图" * 1020)
    await wait_for(li, "说明文字太长")
    await li.send(sticker={"emoji": "👍"})
    await wait_for(li, "无法转给客户")
    await li.send("好的，就这样")
    await wait_for(li, "已发送给工单")
    await _relayed(customer, number, "就这样")
    # a video message takes no caption: the heading (with the Reply button) comes first, the note below
    await li.press(card, f"rl:msg:{tid}")
    await wait_for(li, "请发送要转给")
    await li.send(video_note={"duration": 2})
    await wait_for(li, "已发送给工单")
    head = await _relayed(customer, number)
    assert [b["data"] for row in head["buttons"] for b in row] == [f"rl:reply:{tid}"]
    got = await harness.chat(customer.user_id).read(2)  # from the start: the note may have come with the heading
    assert any(m.get("video_note") and m["id"] > head["id"] for m in got)

    evs = await events(harness, tid)
    notes = [e.data for e in evs if e.kind == "note"]
    assert notes == [{"text": "客户比较着急，先安抚", "by": "li"}, {"text": "已与客户经理沟通\n优先处理", "by": "zhao"}]
    out = [e.data for e in evs if e.kind == "relay_out"]
    assert [d.get("canned") for d in out] == ["restart", None, None]
    assert out[-1]["attachments"][0]["kind"] == "video_note"
    # staff see the notes in the history and the export; the customer's /ticket shows the messages only
    await zhao.send(f"/ticket {number}")
    history = (await wait_for(zhao, "全部记录"))["text"]
    assert "🔒 内部备注：客户比较着急，先安抚" in history and "🔒 内部备注：已与客户经理沟通" in history
    assert "💬 发给客户（常用回复）：您好，请先按以下步骤检查" in history
    await customer.send(f"/ticket {number}")
    mine = (await wait_for(customer, "往来消息"))["text"]
    assert "工程师 李娜：好的，就这样" in mine and "安抚" not in mine and "客户经理" not in mine
    assert harness.app is not None
    async with harness.app.db.read() as s:
        data = await export.export_data(s, month(2026, 11), harness.clock.tz, harness.clock.now())
    col = {name: i for i, name in enumerate(export.EVENT_COLUMNS)}
    noted = [(r[col["actor"]], r[col["note"]]) for r in data.events if r[col["event_kind"]] == "note"]
    assert noted == [("李娜", "客户比较着急，先安抚"), ("赵敏", "已与客户经理沟通\n优先处理")]
    everything = " ".join(m.get("text") or "" for m in await harness.chat(customer.user_id).read(2))  # from the start
    assert "就这样" in everything and "安抚" not in everything and "客户经理" not in everything


async def test_after_resolution_the_reply_offers_reopen_and_relay_stops(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness, "customer", "li")
    li, customer = c["li"], c["customer"]
    await li.press(card, f"rl:msg:{tid}")
    await wait_for(li, "请发送要转给")
    await li.send("已远程修复，请确认")
    first = await _relayed(customer, number, "远程修复")
    await li.press(card, f"dp:resolve:{tid}")
    await wait_for(li, "解决说明")
    await li.send("远程重置录像机配置")
    await wait_for(li, "已标记为解决")
    await customer.send("又黑屏了", reply_to_message_id=first["id"])
    ask = await wait_for(customer, "是同样的故障又出现了吗")
    assert f"fu:reopen:{tid}" in [b["data"] for row in ask["buttons"] for b in row]
    await customer.press(first, f"rl:reply:{tid}")  # the Reply button leads to the same question
    await wait_for(customer, "请发送您对工单")
    await customer.send("还是黑屏")
    await wait_for(customer, "是同样的故障又出现了吗")
    # the engineer can no longer write: the ticket is finished
    await li.send("再试一次", reply_to_message_id=card["id"])
    await wait_for(li, "已结束")
    assert not any("再试一次" in t for t in await texts(customer, 0.3))


async def test_the_first_relayed_message_is_the_first_response(harness: Harness) -> None:
    c, tid, number, card = await _taken(harness, "customer", "li", "zhao", sla=True)  # first response due 12:00
    await c["li"].press(card, f"rl:msg:{tid}")
    await wait_for(c["li"], "请发送要转给")
    await c["li"].send("您好，我是李娜，正在查看")
    await _relayed(c["customer"], number, "正在查看")
    harness.clock.set(local(harness, *MONDAY_10) + dt.timedelta(hours=2, seconds=5))
    assert await fire_due(harness) == 1  # the first-response check ran: kept, no alert
    assert not any("超时" in t for t in await texts(c["zhao"], 0.5))
    assert not [e for e in await events(harness, tid) if e.kind == "sla_breach"]
