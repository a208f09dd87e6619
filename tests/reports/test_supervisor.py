"""Supervisor commands end to end through the sandbox, on the history of tests/reports_seed.py."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import OutboxMessage, Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.reports_seed import TZ, at, seed_many_open, seed_reports

SUPERVISOR, ADMIN, ENGINEER, CUSTOMER = 2001, 9001, 1001, 5001


@pytest.fixture
async def desk(harness: Harness) -> AsyncIterator[Harness]:
    db = Database(harness.db_url)
    try:
        await seed_reports(db)
    finally:
        await db.dispose()
    await harness.start()
    yield harness


async def _all(chat: Chat, count: int, wait: float = 8.0) -> list[dict[str, Any]]:
    """Read until ``count`` messages arrived."""
    got: list[dict[str, Any]] = []
    for _ in range(20):
        got += await chat.read(wait)
        if len(got) >= count:
            break
    return got


async def _download(h: Harness, url: str) -> bytes:
    async with h.http.get(url) as resp:
        assert resp.status == 200
        return await resp.read()


async def _stored_upload_sizes(desk: Harness) -> set[str]:
    """Names of sent documents whose stored payload kept only the size, not the file itself."""
    assert desk.app is not None
    for _ in range(50):  # rows are marked sent just after the sandbox shows the message
        async with desk.app.db.read() as s:
            rows = (await s.execute(
                select(OutboxMessage.status, OutboxMessage.payload)
                .where(OutboxMessage.method == "sendDocument")
            )).all()
        if rows and all(status == "sent" for status, _ in rows):
            break
        await asyncio.sleep(0.05)
    assert all("base64" not in payload["document"] for _, payload in rows)
    return {p["document"]["filename"] for _, p in rows if p["document"].get("uploaded_bytes", 0) > 0}


async def _november_rows(url: str) -> tuple[list[Any], list[Ticket]]:
    """The database's own view of November 2026 (local time): events with their tickets, tickets."""
    start, end = at(11, 1, 0), at(12, 1, 0)
    db = Database(url)
    try:
        async with db.read() as s:
            rows = (await s.execute(
                select(TicketEvent, Ticket.number, Ticket.status, Ticket.category, Ticket.customer_label)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(TicketEvent.at >= start, TicketEvent.at < end)
                .order_by(TicketEvent.at, TicketEvent.id)
            )).all()
            tickets = (await s.scalars(
                select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
                .order_by(Ticket.created_at, Ticket.id)
            )).all()
    finally:
        await db.dispose()
    return [tuple(r) for r in rows], list(tickets)


# --- commands ------------------------------------------------------------------------------


async def test_log_yesterday_in_chinese_groups_by_engineer(desk: Harness) -> None:
    reply = await desk.chat(SUPERVISOR, "zh").ask("/log 昨天")
    text = reply["text"]
    assert "值班日志 2026-11-22" in text and "休息日" in text
    assert "值班安排：王强 08:00–22:30" in text  # the demo roster's after-hours duty that Sunday
    for name in ("张伟", "李娜", "王强"):
        assert name in text
    assert "20:11 SD-2026-000001 接单（报修后 11分钟）" in text
    assert "上门 60分钟：更换硬盘 → 已恢复" in text
    assert "升级：转下一位工程师" in text
    assert "小计：工单 1 张，联系 2 次共 1小时15分，非工作时间 2 次共 1小时15分" in text
    assert "合计：工单 2 张，派单 3，接单 2，联系 3 次共 1小时35分" in text


async def test_log_of_today_by_default_shows_sla_breaches(desk: Harness) -> None:
    text = (await desk.chat(SUPERVISOR, "zh").ask("/log"))["text"]
    assert "值班日志 2026-11-23" in text
    assert "08:01 SD-2026-000003 派单" in text and "09:00 SD-2026-000003 ⚠️ SLA 超时：首次响应" in text


async def test_log_for_one_engineer_by_name_or_username_in_english(desk: Harness) -> None:
    chat = desk.chat(SUPERVISOR, "en")
    text = (await chat.ask("/log yesterday wang"))["text"]
    assert "Duty log 2026-11-22 · 王强" in text
    assert "SD-2026-000002" in text and "SD-2026-000001" not in text
    assert "remote 20 min: 远程检查交换机 → 待跟进" in text
    # an engineer known by @username (the sandbox profile sets it)
    await desk.chat(1002, "en", username="li_na").ask("/help")
    text = (await chat.ask("/log 2026-11-05 @li_na"))["text"]
    assert "李娜" in text and "on site 45 min" in text


async def test_log_bad_arguments_get_usage_in_the_users_language(desk: Harness) -> None:
    zh = desk.chat(SUPERVISOR, "zh")
    await zh.send("/log 2026-13")
    (reply,) = await zh.read()
    assert reply["text"].startswith("用法：/log") and "/log 昨天" in reply["text"]
    await zh.send("/log 昨天 nobody")
    msgs = await _all(zh, 2)
    assert "找不到工程师“nobody”" in msgs[0]["text"] and msgs[1]["text"].startswith("用法：/log")
    en = desk.chat(ADMIN, "en")
    reply = await en.ask("/stats 2026-13")
    assert reply["text"] == "Usage: /stats [MONTH], e.g. /stats last month or /stats 2026-11"


async def test_open_and_overdue(desk: Harness) -> None:
    chat = desk.chat(SUPERVISOR, "en")
    text = (await chat.ask("/open"))["text"]
    assert "Open tickets: 2" in text and "SD-2026-000002" in text and "SD-2026-000003" in text
    assert "SD-2026-000001" not in text
    text = (await chat.ask("/overdue"))["text"]
    assert "Overdue tickets: 2" in text
    lines = text.splitlines()
    assert any(line.startswith("SD-2026-000002 on site late by 9h 00m") for line in lines)
    assert any(line.startswith("SD-2026-000003 first response late by 1h 00m") for line in lines)


async def test_ticket_shows_any_ticket_with_full_history_to_supervisors(desk: Harness) -> None:
    chat = desk.chat(SUPERVISOR, "zh")
    text = (await chat.ask("/ticket sd-2026-000002"))["text"]
    assert "工单 SD-2026-000002 · 处理中 · ❗投诉" in text
    assert "全部记录（8）" in text
    assert "升级：转下一位工程师" in text and "王强 · 接单（报修后 2小时30分）" in text
    missing = await chat.ask("/ticket SD-2026-999999")
    assert "SD-2026-999999" in missing["text"] and "全部记录" not in missing["text"]
    assert (await chat.ask("/ticket"))["text"] == "用法：/ticket 单号，例如 /ticket SD-2026-000123"


async def test_customers_keep_their_own_ticket_view(desk: Harness) -> None:
    # the seeded tickets were reported by user 5001: their own view, without the history
    own = await desk.chat(CUSTOMER, "en").ask("/ticket SD-2026-000001")
    assert own["text"].startswith("Ticket SD-2026-000001") and "Full history" not in own["text"]
    other = await desk.chat(5002, "en").ask("/ticket SD-2026-000001")
    assert other["text"] == "Ticket SD-2026-000001 not found."


async def test_complaints(desk: Harness) -> None:
    text = (await desk.chat(SUPERVISOR, "zh").ask("/complaints"))["text"]
    assert "投诉工单（未完成）：1 张" in text and "SD-2026-000002" in text
    assert "不满意评价 2026-11：1 次" in text and "SD-2026-000004" in text


async def test_stats_of_this_month_in_both_languages(desk: Harness) -> None:
    text = (await desk.chat(SUPERVISOR, "zh").ask("/stats"))["text"]
    assert "统计 2026-11" in text and "新工单 5 张，其中投诉 1 张" in text
    assert "首次响应（4 张）：中位数 45分钟，95% 2小时40分" in text
    assert "按时 3/5（60%）" in text and "按时 3/4（75%）" in text
    assert "到场（2 张）：中位数 1小时30分，95% 2小时00分" in text
    assert "SLA 超时：2 张工单（首次响应 2，到场 1，修复 0）" in text
    assert "张伟：合计 -5，平均 -5.00，评价 1 次，不满意 1 次" in text
    assert "李娜：合计 5，平均 5.00，评价 1 次，不满意 0 次" in text
    assert "不满意 -5" in text  # the policy's score table
    assert "升级：转下一位工程师 1" in text
    en = (await desk.chat(ADMIN, "en").ask("/stats last month"))["text"]
    assert "Statistics 2026-10" in en and "1 new ticket, 0 of them complaints" in en and "王强: total 3" in en


async def test_export_xlsx_matches_the_database_cell_by_cell(desk: Harness) -> None:
    import openpyxl

    from bot.reports.export import EVENT_COLUMNS, TICKET_COLUMNS

    chat = desk.chat(SUPERVISOR, "zh")
    await chat.send("/export 2026-11")
    msgs = await _all(chat, 3)
    assert msgs[0]["text"] == "⏳ 正在生成 2026-11 的导出文件，请稍候…"
    docs = [m["document"] for m in msgs if m.get("document")]
    assert [d["file_name"] for d in docs] == ["servicedesk-2026-11.xlsx", "servicedesk-2026-11.csv"]
    assert "26 条记录" in docs[0]["caption"]
    assert await _stored_upload_sizes(desk) == {"servicedesk-2026-11.xlsx", "servicedesk-2026-11.csv"}
    wb = openpyxl.load_workbook(io.BytesIO(await _download(desk, docs[0]["url"])))
    events = list(wb["events"].iter_rows(values_only=True))
    assert events[0] == EVENT_COLUMNS
    rows, tickets = await _november_rows(desk.db_url)
    assert len(events) - 1 == len(rows) == 26
    col = {name: i for i, name in enumerate(EVENT_COLUMNS)}
    for cells, (ev, number, status, category, customer) in zip(events[1:], rows, strict=True):
        assert cells[col["event_id"]] == ev.id
        assert cells[col["event_time"]] == ev.at.astimezone(TZ).replace(tzinfo=None, microsecond=0)
        assert cells[col["event_kind"]] == ev.kind
        assert cells[col["actor_kind"]] == ev.actor_kind
        assert cells[col["ticket_number"]] == number
        assert cells[col["ticket_status"]] == status
        assert cells[col["category"]] == category
        assert cells[col["customer"]] == customer
        assert cells[col["from_status"]] == ev.from_status
        assert cells[col["to_status"]] == ev.to_status
        assert cells[col["minutes"]] == ev.minutes
        assert cells[col["result"]] == ev.data.get("result")
        assert cells[col["work_done"]] == ev.data.get("done")
        assert cells[col["contact_kind"]] == (ev.data.get("kind") if ev.kind == "contact" else None)
        assert cells[col["score"]] == ev.data.get("score")
        assert cells[col["rating"]] == ev.data.get("rating")
    engineers = {c[col["engineer"]] for c in events[1:] if c[col["event_kind"]] == "contact"}
    assert engineers == {"张伟", "王强", "李娜"}
    sheet = list(wb["tickets"].iter_rows(values_only=True))
    assert sheet[0] == TICKET_COLUMNS and len(sheet) - 1 == len(tickets) == 5
    tcol = {name: i for i, name in enumerate(TICKET_COLUMNS)}
    for cells, t in zip(sheet[1:], tickets, strict=True):
        assert cells[tcol["ticket_number"]] == t.number and cells[tcol["status"]] == t.status
        assert cells[tcol["created"]] == t.created_at.astimezone(TZ).replace(tzinfo=None)
        assert cells[tcol["resolved_at"]] == (t.resolved_at.astimezone(TZ).replace(tzinfo=None) if t.resolved_at else None)
        assert cells[tcol["rating"]] == t.rating
    csv_text = (await _download(desk, docs[1]["url"])).decode("utf-8-sig")
    assert csv_text.splitlines()[0] == ",".join(EVENT_COLUMNS) and len(csv_text.splitlines()) == 27


async def test_export_of_an_empty_month_says_so(desk: Harness) -> None:
    chat = desk.chat(SUPERVISOR, "en")
    await chat.send("/export 2025-01")
    msgs = await _all(chat, 2)
    assert [m["text"] for m in msgs] == [
        "⏳ Preparing the 2025-01 export…", "Nothing was recorded in 2025-01; there is nothing to export."
    ]


async def test_chart_is_a_png_photo(desk: Harness) -> None:
    from PIL import Image

    chat = desk.chat(SUPERVISOR, "en")
    reply = await chat.ask("/chart 11月", wait=15)
    photo = reply["photo"]
    assert photo and "2026-11" in photo["caption"] and "(5 tickets)" in photo["caption"]
    data = await _download(desk, photo["url"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.size == (1000, 500)


# --- roles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/open", "/overdue", "/stats", "/export", "/chart", "/complaints", "/log"])
async def test_customers_get_nothing(desk: Harness, command: str) -> None:
    reply = await desk.chat(5009, "en").ask(command)
    assert reply["text"] == "Sorry, you are not allowed to use this."


@pytest.mark.parametrize("command", ["/open", "/overdue", "/stats", "/export", "/chart", "/complaints"])
async def test_engineers_get_no_supervisor_reports(desk: Harness, command: str) -> None:
    reply = await desk.chat(ENGINEER, "en").ask(command)
    assert reply["text"] == "Sorry, you are not allowed to use this."


async def test_engineers_see_only_their_own_log(desk: Harness) -> None:
    chat = desk.chat(ENGINEER, "en")
    text = (await chat.ask("/log yesterday"))["text"]
    assert "Duty log 2026-11-22 · 张伟" in text and "SD-2026-000001" in text and "SD-2026-000002" not in text
    assert (await chat.ask("/log yesterday wang"))["text"] == "Engineers can only see their own duty log."
    ticket = await chat.ask("/ticket SD-2026-000002")
    assert ticket["text"] == "Sorry, you are not allowed to use this."


# --- paging and questions ------------------------------------------------------------------


async def test_long_answers_are_paged_and_only_the_asker_may_turn(desk: Harness) -> None:
    db = Database(desk.db_url)
    try:
        await seed_many_open(db, 150)
    finally:
        await db.dispose()
    chat = desk.chat(SUPERVISOR, "en")
    first = await chat.ask("/open")
    datas = [b["data"] for row in first["buttons"] for b in row]
    labels = [b["text"] for row in first["buttons"] for b in row]
    assert labels[0] == "◀" and labels[2] == "▶" and labels[1].startswith("1/")
    pages = int(labels[1].split("/")[1])
    assert pages >= 3 and len(first["text"]) <= 4096
    seen = [first["text"]]
    current = first
    for n in range(1, pages):
        await chat.press(current, datas[2])
        (edited,) = await chat.read()
        assert edited["id"] == first["id"] and edited["edited"]
        seen.append(edited["text"])
        datas = [b["data"] for row in edited["buttons"] for b in row]
        assert edited["buttons"][0][1]["text"] == f"{n + 1}/{pages}"
        current = edited
    every = "\n".join(seen)
    assert "Open tickets: 152" in every
    assert all(f"SD-2026-{i:06d}" in every for i in range(100, 250))  # nothing lost between pages
    # another manager forging the supervisor's page set on a message of their own gets nothing
    other = desk.chat(ADMIN, "en")
    own = await other.ask("/open")
    own_set = own["buttons"][0][2]["data"].split(":")[2]
    assert own_set != datas[2].split(":")[2]
    await other.press(own, datas[2], forge=True)
    assert (await other.read())[0]["text"] == "That button has expired. Please start again."
    for forged in ("sv:pg:1:999", "sv:pg:x:1", "sv:pg:99999:0"):
        await chat.press(first, forged, forge=True)
        assert (await chat.read())[0]["text"] == "That button has expired. Please start again."


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("昨晚谁值班", "值班安排：王强 08:00–22:30"),
        ("王强昨天做了什么", "值班日志 2026-11-22 · 王强"),
        ("这个月有几单超时", "SLA 超时：2 张工单"),
        ("还有哪些没解决", "未完成工单：2 张"),
        ("导出这个月的表格", "正在生成 2026-11 的导出文件"),
        ("你好", "主管命令"),
    ],
)
async def test_plain_questions_in_chinese(desk: Harness, question: str, expected: str) -> None:
    reply = await desk.chat(SUPERVISOR, "zh").ask(question)
    assert expected in reply["text"]


async def test_plain_questions_in_english(desk: Harness) -> None:
    chat = desk.chat(ADMIN, "en")
    assert "Open tickets: 2" in (await chat.ask("what is still open"))["text"]
    assert "Overdue tickets: 2" in (await chat.ask("anything overdue?"))["text"]
    assert "Supervisor commands" in (await chat.ask("good morning"))["text"]


async def test_reports_do_not_block_other_users(desk: Harness) -> None:
    """An export runs on a read session: a customer's /help is answered meanwhile."""
    sup, cust = desk.chat(SUPERVISOR, "en"), desk.chat(5010, "en")
    await asyncio.gather(sup.send("/export 2026-11"), cust.send("/help"))
    assert (await cust.read())[0]["text"]
    assert len([m for m in await _all(sup, 3) if m.get("document")]) == 2


async def test_user_text_in_reports_is_escaped_and_shortened(desk: Harness) -> None:
    db = Database(desk.db_url)
    try:
        async with db.write() as s:
            ticket = await s.scalar(select(Ticket).where(Ticket.number == "SD-2026-000001"))
            assert ticket is not None
            s.add(TicketEvent(ticket_id=ticket.id, at=at(11, 22, 22), kind="contact", actor_kind="staff",
                              actor_id=ticket.assignee_id, minutes=5,
                              data={"kind": "phone", "done": "<b>重启</b> & 检查 " * 30, "result": "a<b"}))
    finally:
        await db.dispose()
    chat = desk.chat(SUPERVISOR, "en")
    line = next(x for x in (await chat.ask("/log yesterday"))["text"].splitlines() if x.startswith("22:00"))
    assert line.startswith("22:00 SD-2026-000001 phone 5 min: <b>重启</b> & 检查") and "… → a<b" in line
    history = (await chat.ask("/ticket SD-2026-000001"))["text"]
    assert ("<b>重启</b> & 检查 " * 30).strip() in history  # the full text in the ticket's history
