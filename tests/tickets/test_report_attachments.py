"""End-to-end (issue 15, deliverable 10): documents, voice, video and video notes join a report and
a ticket as typed attachments (file ids stored) and follow the engineer's card; a photo with a
caption outside a report starts one with the caption as the symptom; a reply to the ticket's
message with a file adds it to the ticket; a full report refuses the next file with a clear line."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from sqlalchemy import select

from storage.models import Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.dispatchkit import CUSTOMER, card_of, start_desk
from tests.support.flows import datas, joined, say, tap

PHONE_A = "+8613800000001"
SYMPTOM = "录像机没有画面，所有摄像头黑屏"
LOG = b"2026-11-23 disk error\n"
FILES: dict[str, dict[str, Any]] = {
    "document": {"document": {"file_name": "nvr.txt", "content_base64": base64.b64encode(LOG).decode()}},
    "voice": {"voice": {"duration": 7}},
    "video": {"video": {"duration": 12, "width": 1280, "height": 720}, "caption": "报警时的画面"},
    "video_note": {"video_note": {"length": 240, "duration": 5}},
}


async def _tickets(h: Harness, reporter: int) -> list[Ticket]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list(await s.scalars(select(Ticket).where(Ticket.reporter_user_id == reporter)))


async def _to_symptom(chat: Chat) -> None:
    """/report, customer number, shared phone (verified), first registered equipment."""
    await say(chat, "/report")
    await say(chat, "C1001")
    got = await say(chat, contact={"phone_number": PHONE_A})
    await tap(chat, got, datas(got, "rp:eq:")[0])


def _file_id(m: dict[str, Any]) -> str | None:
    """The file id of a message read from the sandbox (any kind)."""
    for kind in ("voice", "video", "video_note"):
        if m.get(kind):
            return str(m[kind]["file_id"])
    if m.get("document"):
        return str(m["document"]["url"]).rsplit("/", 1)[-1]
    return None


async def test_files_join_the_report_and_the_ticket_and_follow_the_card(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li")  # Monday 10:00: the office engineer is li
    chat, li = c["customer"], c["li"]
    await _to_symptom(chat)
    for kind in ("document", "voice", "video_note"):  # at the symptom step: kept, still asking
        got = joined(await say(chat, **FILES[kind]))
        assert "加入报修" in got and "请描述" not in got and "无法加入" not in got, (kind, got)
    asked = await say(chat, SYMPTOM)
    got = joined(await say(chat, **FILES["video"]))  # at the severity step, with a caption
    assert "已把视频加入报修（目前：文件 1 个、语音 1 条、视频 1 个、视频留言 1 条）" in got
    got = await tap(chat, asked, "rp:sev:down")
    summary = joined(got)
    assert "附件：文件 1 个、语音 1 条、视频 1 个、视频留言 1 条" in summary
    assert "📎 报警时的画面" in summary  # the video's caption is kept with the text
    # Telegram refuses the video note to the engineer: the card still says it exists
    await harness.post("/sandbox/faults", {"method": "sendVideoNote", "kind": "413"})
    done = await tap(chat, got, "rp:submit")
    confirmation = next(m for m in done if "SD-" in (m.get("text") or ""))
    [ticket] = await _tickets(harness, CUSTOMER)
    kinds = [a["kind"] for a in ticket.attachments]
    assert kinds == ["document", "voice", "video_note", "video"] and ticket.photos == []
    doc, voice, note, video = ticket.attachments
    assert (doc["name"], doc["size"], doc["mime"]) == ("nvr.txt", len(LOG), "text/plain")
    assert voice["duration"] == 7 and video["duration"] == 12 and note["duration"] == 5
    assert all(a["file_id"] and a["file_unique_id"] for a in ticket.attachments)

    card = await card_of(li, ticket.number)
    assert "📎 文件 1 个、语音 1 条、视频 1 个、视频留言 1 条" in card["text"]
    after = await _read_files(harness, li.user_id, card["id"], 3)
    forwarded = {(k, _file_id(m)) for m in after for k in ("document", "voice", "video") if m.get(k)}
    assert forwarded == {("document", doc["file_id"]), ("voice", voice["file_id"]), ("video", video["file_id"])}
    assert all(ticket.number in (m.get("text") or "") for m in after)
    assert any("nvr.txt" in (m.get("text") or "") for m in after if m.get("document"))

    # li takes it; the customer replies to the confirmation with a voice message and a document
    await li.press(card, f"dp:ack:{ticket.id}")
    await li.read()
    got = joined(await say(chat, voice={"duration": 3}, reply_to_message_id=confirmation["id"]))
    assert f"已将您的补充信息加入工单 {ticket.number}" in got
    got = joined(await say(chat, reply_to_message_id=confirmation["id"], caption="完整日志",
                          document={"file_name": "full.log", "content_base64": base64.b64encode(b"x" * 300).decode()}))
    assert ticket.number in got
    told = await _read_files(harness, li.user_id, after[-1]["id"], 2, texts=2)
    assert any("客户补充了工单" in (m.get("text") or "") and "📎 语音 1 条" in (m.get("text") or "") for m in told)
    assert any("完整日志" in (m.get("text") or "") and "📎 文件 1 个" in (m.get("text") or "") for m in told)
    assert any(m.get("voice") for m in told) and any(m.get("document") for m in told)
    [ticket] = await _tickets(harness, CUSTOMER)
    assert [a["kind"] for a in ticket.attachments] == ["document", "voice", "video_note", "video", "voice", "document"]
    assert ticket.attachments[-1]["name"] == "full.log"
    async with harness.app.db.read() as s:  # type: ignore[union-attr]
        infos = list(await s.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "customer_info")))
    assert [e.data["attachments"][0]["kind"] for e in infos] == ["voice", "document"]
    assert infos[1].data["text"] == "完整日志"


async def _read_files(
    h: Harness, user_id: int, after: int, files: int, texts: int = 0, wait: float = 10.0
) -> list[dict[str, Any]]:
    """The chat's messages after message ``after``, once ``files`` file messages and ``texts``
    other ones are there (read from the start: whatever another read already took counts)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    got: list[dict[str, Any]] = []
    while loop.time() < deadline:
        await h.settle(user_id, 2.0)
        got = [m for m in await h.chat(user_id).read(1.0) if m["id"] > after]
        n_files = sum(1 for m in got if _file_id(m))
        if n_files >= files and len(got) - n_files >= texts:
            return got
    raise AssertionError(f"{files} files + {texts} texts never came: {got}")


async def test_a_photo_with_a_caption_starts_a_report_with_it_as_the_symptom(bot: Harness) -> None:
    chat = bot.chat(5410)
    await say(chat, "/start")
    got = joined(await say(chat, photo=True, caption=SYMPTOM))
    assert "报修" in got and "已把照片加入报修（目前：照片 1 张）" in got
    assert f"已把附带的说明作为故障描述：“{SYMPTOM}”" in got
    assert "客户编号" in got  # the report's first question follows
    await say(chat, "C1001")
    got = await say(chat, contact={"phone_number": PHONE_A})
    got = await tap(chat, got, datas(got, "rp:eq:")[0])
    assert datas(got, "rp:sev:"), got  # the symptom step is skipped: the caption described it
    got = await tap(chat, got, "rp:sev:partial")
    summary = joined(got)
    assert SYMPTOM in summary and "附件：照片 1 张" in summary
    await tap(chat, got, "rp:submit")
    [ticket] = await _tickets(bot, 5410)
    assert ticket.symptom == SYMPTOM and [a["kind"] for a in ticket.attachments] == ["photo"]
    assert ticket.photos == [ticket.attachments[0]["file_id"]]


async def test_a_voice_message_outside_a_report_starts_one_in_english(bot: Harness) -> None:
    chat = bot.chat(5411, "en")
    await say(chat, "/start")
    got = joined(await say(chat, voice={"duration": 4}))
    assert "Voice message added to your report (1 voice message so far)" in got
    assert "Sorry" not in got and "customer number" in got
    got = joined(await say(chat, photo=True, caption="hi"))  # a short caption is not a symptom
    assert "1 photo, 1 voice message so far" in got and "description of the problem" not in got


async def test_a_full_report_refuses_the_next_file_and_keeps_the_rest(bot: Harness) -> None:
    await bot.stop()
    await bot.start(flood_max_messages=500)
    chat = bot.chat(5412)
    await _to_symptom(chat)
    for _ in range(10):
        await say(chat, photo=True)
    got = joined(await say(chat, **FILES["document"]))
    assert "一份报修最多 10 个附件，这个文件没有加入" in got
    got = await say(chat, SYMPTOM)
    got = await tap(chat, got, "rp:sev:down")
    assert "附件：照片 10 张" in joined(got)
    await tap(chat, got, "rp:submit")
    [ticket] = await _tickets(bot, 5412)
    assert len(ticket.attachments) == 10 and len(ticket.photos) == 10
