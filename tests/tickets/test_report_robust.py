"""End-to-end robustness of the report: restarts between steps (in-process and kill -9), the same
update delivered twice, a second Submit press, 50 customers at once, and every kind of bad input."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage.models import Conversation, Ticket, TicketEvent
from tests.harness import TOKEN, Harness
from tests.support.flows import collect, datas, joined, say, tap, to_summary, until

PHONE_A = "+8613800000001"


async def _tickets(h: Harness) -> list[Ticket]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(Ticket).order_by(Ticket.id))).all())


async def _conversation(h: Harness, chat_id: int) -> Conversation | None:
    assert h.app is not None
    async with h.app.db.read() as s:
        return await s.get(Conversation, chat_id)


async def test_restart_between_every_pair_of_steps(harness: Harness) -> None:
    """A crash after each step: the flow resumes at the same step with nothing lost."""
    await harness.start()
    chat = harness.chat(5301)
    steps = [
        ("say", "/report", "ident"),
        ("say", "C1001", "name"),
        ("say", "刘芳芳", "equipment"),  # unverified: categories at once (rp:eq: only when verified)
        ("tap", "rp:cat:cctv", "equipment_text"),
        ("say", "二楼走廊摄像头", "symptom"),
        ("photo", "", "symptom"),
        ("say", "画面一直闪烁，偶尔黑屏", "severity"),
        ("tap", "rp:sev:partial", "confirm"),
        ("tap", "rp:edit", "edit_pick"),
        ("tap", "rp:field:severity", "severity"),
        ("tap", "rp:sev:down", "confirm"),
    ]
    last: list[dict] = []
    for kind, value, expected in steps:
        if kind == "say":
            last = await say(chat, value)
        elif kind == "photo":
            last = await say(chat, photo=True)
        else:
            last = await tap(chat, last, value)
        conv = await _conversation(harness, 5301)
        assert conv is not None and conv.step == expected, (value, conv and conv.step)
        await harness.crash()
        await harness.start()
    await tap(chat, last, "rp:submit")
    [ticket] = await _tickets(harness)
    assert (ticket.customer_label, ticket.reporter_name, ticket.equipment_label) == ("C1001", "刘芳芳", "二楼走廊摄像头")
    assert ticket.symptom == "画面一直闪烁，偶尔黑屏" and ticket.severity == "down" and len(ticket.photos) == 1


def _spawn(h: Harness, tmp_path: Path) -> subprocess.Popen[str]:
    env = h.env(TELEGRAM_BOT_TOKEN=TOKEN, BOT_API_BASE_URL=h.sandbox.bot_base_url,
                BOT_API_FILE_URL=h.sandbox.file_base_url, LOG_LEVEL="INFO")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def _ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    for _ in range(400):
        line = await asyncio.to_thread(proc.stdout.readline)
        if "polling Telegram" in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"bot exited with {proc.returncode}")
    raise AssertionError("bot did not start")


async def test_kill_9_mid_report_resumes_at_the_same_step(harness: Harness, tmp_path: Path) -> None:
    proc = _spawn(harness, tmp_path)
    try:
        await _ready(proc)
        chat = harness.chat(5302)
        await chat.send("/report")
        await collect(chat, wait=15)
        await chat.send("C1001")
        await collect(chat, wait=15)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        await chat.send("刘芳芳")  # kept by the Bot API while the bot is dead
        proc = _spawn(harness, tmp_path)
        got = await collect(chat, wait=30, quiet=1.0)
        assert "rp:cat:cctv" in datas(got), [m["text"] for m in got]  # the name was taken: equipment step
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


async def test_same_update_twice_and_second_submit_make_one_ticket(bot: Harness) -> None:
    chat = bot.chat(5303)
    summary = await to_summary(chat, phone=PHONE_A)
    target = next(m for m in reversed(summary) if "rp:submit" in datas([m]))
    pressed = await chat.press(target, "rp:submit")
    done = joined(await collect(chat))
    [ticket] = await _tickets(bot)
    assert ticket.number in done
    await bot.post("/sandbox/redeliver", {"update_id": pressed["update_id"]})
    assert await chat.quiet(1.0) == []  # re-delivery: nothing happens at all
    again = joined(await tap(chat, summary, "rp:submit"))  # a second press on the old summary
    assert f"已经提交过了，工单号 {ticket.number}" in again
    assert len(await _tickets(bot)) == 1
    assert bot.app is not None
    async with bot.app.db.read() as s:
        created = await s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "created"))
    assert created == 1


async def test_redelivered_text_step_is_not_applied_twice(bot: Harness) -> None:
    chat = bot.chat(5304)
    await say(chat, "/report")
    await say(chat, "C1001")
    sent = await chat.send("刘芳芳")
    await collect(chat)
    await bot.post("/sandbox/redeliver", {"update_id": sent["update_id"]})
    assert await chat.quiet(1.0) == []
    conv = await _conversation(bot, 5304)
    assert conv is not None and conv.step == "equipment" and conv.data["reporter_name"] == "刘芳芳"


async def test_fifty_customers_at_once_without_crosstalk(bot: Harness) -> None:
    chats = [bot.chat(7000 + n, "en" if n % 2 else "zh") for n in range(50)]

    async def walk(n: int) -> str:
        chat = chats[n]
        zh = chat.language_code == "zh"
        name = f"客户{n:02d}号" if zh else f"Reporter {n:02d}"
        await chat.send("/report")
        await until(chat, "客户编号" if zh else "customer number")
        await chat.send(f"火星公司{n:02d}")
        await until(chat, "报修人姓名" if zh else "full name")
        await chat.send(name)
        got = await until(chat, "rp:cat:")
        await chat.press(got[-1], "rp:cat:cctv")
        await until(chat, "型号" if zh else "model")
        await chat.send(f"camera {n:02d}")
        await until(chat, "5–2000")
        await chat.send(f"fault number {n:02d}: the screen is black")
        got = await until(chat, "rp:sev:")
        await chat.press(got[-1], "rp:sev:down")
        summary = await until(chat, "rp:submit")
        text = joined(summary)
        assert f"fault number {n:02d}" in text and name in text and f"camera {n:02d}" in text
        await chat.press(summary[-1], "rp:submit")
        return joined(await until(chat, "SD-2026-"))

    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(walk(n) for n in range(50)))
    took = asyncio.get_running_loop().time() - started
    print(f"\n50 concurrent reports (8 steps each): {took:.1f} s wall, {took / 50 * 1000:.0f} ms per report")
    tickets = await _tickets(bot)
    assert len(tickets) == 50 and len({t.number for t in tickets}) == 50
    for t in tickets:
        n = t.reporter_user_id - 7000
        assert t.symptom == f"fault number {n:02d}: the screen is black"
        assert t.customer_label == f"火星公司{n:02d}"
        assert t.number in results[n]  # each customer was told their own number


async def test_bad_input_at_every_step_is_answered_and_changes_nothing(bot: Harness) -> None:
    await bot.stop()
    await bot.start(flood_max_messages=500)  # this test sends more than the per-minute flood limit
    chat = bot.chat(5305)
    huge = "很" * 10_000
    got = await say(chat, "/report")
    for content in ({"sticker": True}, {"voice": True}, {"location": {"latitude": 22.5, "longitude": 114.0}},
                    {"document": {"file_name": "a.pdf", "content_base64": ""}}):
        reply = joined(await say(chat, **content))
        assert reply, content
        conv = await _conversation(bot, 5305)
        assert conv is not None and conv.step == "ident" and conv.data.get("customer_label") is None
    assert "没看懂" in joined(await say(chat, huge))
    assert "没看懂" in joined(await say(chat, "🙂🙂🙂"))
    await say(chat, "C1001")
    for bad in ("🙂🙂", "😀", huge, "x"):
        assert "请输入真实姓名" in joined(await say(chat, bad)), bad
    sent = await chat.send("刘芳芳")
    got = await collect(chat)
    edited = await bot.post("/sandbox/edit", {"user_id": 5305, "message_id": sent["message_id"], "text": "改名了"})
    assert edited and joined(await collect(chat))  # an edit gets a reply and changes nothing
    conv = await _conversation(bot, 5305)
    assert conv is not None and conv.data["reporter_name"] == "刘芳芳"
    categories = got
    got = await tap(chat, got, "rp:cat:cctv")
    assert "2–200" in joined(await say(chat, huge))
    await say(chat, "门口摄像头")
    assert "5–2000" in joined(await say(chat, "坏了"))
    conv = await _conversation(bot, 5305)
    assert conv is not None and conv.step == "symptom" and "symptom" not in conv.data
    # over the policy's limit: kept whole (the rest as a note) and the customer is told so
    got = await say(chat, huge)
    assert "共 10000 字" in joined(got) and "最多 2000 字" in joined(got)
    conv = await _conversation(bot, 5305)
    assert conv is not None and conv.step == "severity"
    assert conv.data["symptom"] + conv.data["symptom_rest"] == huge
    old = await tap(chat, categories, "rp:cat:network")  # a button of an earlier step
    assert "已失效" in joined(old)
    got = await tap(chat, got, "rp:sev:down")
    assert "已失效" in joined(await tap(chat, got, "rp:sev:nonsense", forge=True))
    assert "已失效" in joined(await tap(chat, got, "rp:eq:99999999999999999999", forge=True))
    conv = await _conversation(bot, 5305)
    assert conv is not None and conv.step == "confirm" and conv.data["severity"] == "down"
    assert await _tickets(bot) == []


async def test_html_and_template_syntax_are_kept_literally(bot: Harness) -> None:
    chat = bot.chat(5306, "en")
    nasty = "<b>ACME</b> {{ 7*7 }} {% if 1 %}x{% endif %} &amp;"
    await say(chat, "/report")
    await say(chat, nasty)
    got = await say(chat, "<i>Bob</i> {{name}}")
    got = await tap(chat, got, "rp:cat:other")
    await say(chat, "<script>alert(1)</script>")
    got = await say(chat, "{{ config }} <a href='x'>broken</a> {% raw %}")
    got = await tap(chat, got, "rp:sev:partial")
    summary = joined(got)
    assert nasty in summary and "<i>Bob</i> {{name}}" in summary and "49" not in summary
    assert "<script>alert(1)</script>" in summary and "{{ config }} <a href='x'>broken</a> {% raw %}" in summary
    done = joined(await tap(chat, got, "rp:submit"))
    [ticket] = await _tickets(bot)
    assert ticket.number in done
    assert ticket.customer_label == nasty and ticket.reporter_name == "<i>Bob</i> {{name}}"
    assert ticket.symptom == "{{ config }} <a href='x'>broken</a> {% raw %}"
    listing = joined(await say(chat, f"/ticket {ticket.number}"))
    assert "{{ config }} <a href='x'>broken</a> {% raw %}" in listing
