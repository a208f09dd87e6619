"""End-to-end: /start per language and role, /lang, restarts, re-delivery, ordering, failures."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

import handlers.common
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage
from tests.harness import TOKEN, Harness


async def test_start_in_chinese_and_english(bot: Harness) -> None:
    zh = await bot.chat(5001, "zh-hans").ask("/start")
    assert "售后服务台" in zh["text"] and "/mytickets" in zh["text"]
    en = await bot.chat(5002, "en-GB").ask("/start")
    assert "service desk" in en["text"] and "/mytickets" in en["text"]


async def test_start_and_help_depend_on_role(bot: Harness) -> None:
    engineer = await bot.chat(1001, "zh").ask("/start")
    assert "工程师" in engineer["text"] and "/mytickets" not in engineer["text"]
    supervisor = await bot.chat(2001, "en").ask("/help")
    assert "/stats" in supervisor["text"] and "/report" not in supervisor["text"]
    customer = await bot.chat(5003, "en").ask("/help")
    assert "/report" in customer["text"] and "/stats" not in customer["text"]


async def test_lang_buttons_switch_language(bot: Harness) -> None:
    chat = bot.chat(5004, "zh")
    prompt = await chat.ask("/lang")
    datas = [b["data"] for row in prompt["buttons"] for b in row]
    assert datas == ["lang:zh", "lang:zh-hant", "lang:zh-hk", "lang:en"]
    await chat.press(prompt, text="English")
    (reply,) = await chat.read()
    assert reply["text"] == "Language set to English."
    assert "Commands" in (await chat.ask("/help"))["text"]


async def test_forged_and_stale_buttons_are_refused_politely(bot: Harness) -> None:
    chat = bot.chat(5005, "en")
    prompt = await chat.ask("/lang")
    await chat.press(prompt, "lang:xx", forge=True)
    assert (await chat.read())[0]["text"] == "That button has expired. Please start again."
    await chat.press(prompt, "ticket:ack:999", forge=True)
    assert (await chat.read())[0]["text"] == "That button has expired. Please start again."
    for _ in range(50):  # the answer may land just after the reply
        answers = await bot.get("/sandbox/callback_answers", user_id=5005)
        if len(answers["answers"]) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(answers["answers"]) == 2  # every press is answered, so no spinner hangs


async def test_conversation_state_survives_a_crash(harness: Harness) -> None:
    await harness.start()
    chat = harness.chat(5006, "zh")
    prompt = await chat.ask("/lang")
    assert prompt["buttons"]
    await harness.crash()
    await harness.start()
    reply = await chat.ask("English")
    assert reply["text"] == "Language set to English."


async def test_redelivered_update_changes_nothing(bot: Harness) -> None:
    chat = bot.chat(5007, "en")
    sent = await chat.send("/lang zh")
    assert (await chat.read())[0]["text"] == "语言已切换为简体中文。"
    await chat.send("/lang en")
    assert (await chat.read())[0]["text"] == "Language set to English."
    await bot.post("/sandbox/redeliver", {"update_id": sent["update_id"]})
    assert await chat.quiet(1.0) == []
    assert "Commands" in (await chat.ask("/help"))["text"]  # still English


async def test_updates_of_one_chat_are_processed_in_order(bot: Harness) -> None:
    chat = bot.chat(5008, "en")
    for code in ["zh", "en", "zh", "en", "zh", "en"]:
        await chat.send(f"/lang {code}")
    texts: list[str] = []
    while len(texts) < 6:
        texts += [m["text"] for m in await chat.read()]
    assert texts == ["语言已切换为简体中文。", "Language set to English."] * 3


async def test_many_chats_concurrently_without_crosstalk(bot: Harness) -> None:
    chats = [bot.chat(6000 + i, "en" if i % 2 else "zh") for i in range(30)]
    await asyncio.gather(*(c.send("/start") for c in chats))
    replies = await asyncio.gather(*(c.read(wait=60) for c in chats))  # a generous deadline: the machine may be busy
    for c, msgs in zip(chats, replies, strict=True):
        assert len(msgs) == 1
        assert msgs[0]["chat_id"] == c.user_id
        assert ("service desk" in msgs[0]["text"]) == (c.language_code == "en")


async def test_unsupported_content_and_unknown_commands(bot: Harness) -> None:
    chat = bot.chat(5009, "en")
    assert "can't use that kind of message" in (await chat.ask(sticker=True))["text"]
    assert "no such command" in (await chat.ask("/frobnicate"))["text"]


async def test_handler_crash_rolls_back_and_apologises(bot: Harness, monkeypatch) -> None:
    def boom(text: str) -> str | None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(handlers.common, "_match_lang", boom)
    chat = bot.chat(5010, "zh")
    sent = await chat.send("/lang en")
    (reply,) = await chat.read()
    assert "出错" in reply["text"] and "没有丢失" in reply["text"]
    assert bot.app is not None
    async with bot.app.db.read() as s:
        row = await s.get(InboxUpdate, sent["update_id"])
        assert row is not None and row.status == "failed"


async def test_crash_mid_handler_leaves_the_update_for_the_next_start(
    harness: Harness, monkeypatch
) -> None:
    """A process that dies under a running handler records no failure: the next start replays it."""
    await harness.start()
    app = harness.app
    assert app is not None and app.runner is not None and app.application is not None

    died = asyncio.Event()

    def die_here(text: str) -> str | None:
        app.runner.halt()  # type: ignore[union-attr]  # the process is gone from here on
        app.application.bot_data.clear()  # type: ignore[union-attr]  # as a crash leaves it
        died.set()
        raise KeyError("desk")

    monkeypatch.setattr(handlers.common, "_match_lang", die_here)
    chat = harness.chat(5012, "en")
    await chat.send("/lang zh")
    await asyncio.wait_for(died.wait(), 60)
    await harness.crash()
    assert app.runner.failures == 0
    monkeypatch.undo()
    await harness.start()
    (reply,) = await chat.read()
    assert reply["text"] == "语言已切换为简体中文。"  # no apology, the customer's message was not lost


async def test_reply_survives_429_from_bot_api(bot: Harness) -> None:
    await bot.post(
        "/sandbox/faults", {"method": "sendMessage", "count": 3, "kind": "429", "retry_after": 1}
    )
    chat = bot.chat(5011, "en")
    await chat.send("/start")
    msgs = await chat.read(wait=10)
    assert msgs and "service desk" in msgs[0]["text"]
    assert bot.app is not None
    for _ in range(50):  # the row is marked sent just after the sandbox shows the message
        async with bot.app.db.read() as s:
            pending = await s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
            )
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    assert pending == 0


async def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    assert proc.stdout is not None
    while loop.time() < deadline:
        line = await asyncio.to_thread(proc.stdout.readline)
        if needle in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"bot exited with {proc.returncode}")
    raise AssertionError(f"{needle!r} not seen")


async def _outbox_drained(db_url: str, timeout: float = 10) -> None:
    """Wait until every outbox row is sent (a kill then falls between steps, not mid-send)."""
    from storage.db import Database

    db = Database(db_url)
    try:
        for _ in range(int(timeout / 0.05)):
            async with db.read() as s:
                pending = await s.scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
                )
            if pending == 0:
                return
            await asyncio.sleep(0.05)
    finally:
        await db.dispose()
    raise AssertionError("outbox not drained")


def _spawn(harness: Harness, tmp_path: Path) -> subprocess.Popen[str]:
    env = harness.env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        BOT_API_BASE_URL=harness.sandbox.bot_base_url,
        BOT_API_FILE_URL=harness.sandbox.file_base_url,
        LOG_LEVEL="INFO",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_kill_9_between_two_steps_resumes_at_the_same_step(harness: Harness, tmp_path: Path) -> None:
    proc = _spawn(harness, tmp_path)
    try:
        await _wait_for_line(proc, "polling Telegram")
        chat = harness.chat(5012, "zh")
        prompt = await chat.ask("/lang", wait=15)
        assert prompt["buttons"]
        await _outbox_drained(harness.db_url)  # step one is over: its reply is recorded as sent
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # a message sent while the bot is dead is kept by the Bot API and handled after restart
        await chat.send("English")
        proc = _spawn(harness, tmp_path)
        msgs = await chat.read(wait=30)
        assert msgs and msgs[0]["text"] == "Language set to English."
        output = ""
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


async def test_inbox_records_every_update_once(bot: Harness) -> None:
    chat = bot.chat(5013, "en")
    for _ in range(3):
        await chat.ask("/start")
    db = Database(bot.db_url)
    try:
        async with db.read() as s:
            rows = (await s.scalars(select(InboxUpdate.status))).all()
    finally:
        await db.dispose()
    assert rows.count("done") == 3


async def test_claims_of_a_dead_process_are_released_at_start(harness: Harness) -> None:
    """SQLite: a reply claimed by a process that died is sent at once after restart, not a minute
    later. PostgreSQL (several instances): a claim is honoured until it expires."""
    import datetime as dt

    from storage.db import Database

    chat = harness.chat(5020, "en")
    await chat.send("/start")  # the sandbox knows the chat
    now = harness.clock.now()
    db = Database(harness.db_url)
    try:
        async with db.write() as s:
            s.add(OutboxMessage(
                chat_id=5020, method="sendMessage", payload={"chat_id": 5020, "text": "held"},
                priority=5, status="pending", attempts=0, next_attempt_at=now, created_at=now,
                claimed_by="out-dead", claimed_until=now + dt.timedelta(minutes=10),
            ))
    finally:
        await db.dispose()
    await harness.start()
    texts = [m["text"] for m in await chat.read(wait=5)]
    texts += [m["text"] for m in await chat.read(wait=3)] if "held" not in texts else []
    if harness.db_url.startswith("sqlite"):
        assert "held" in texts
    else:  # PostgreSQL: the claim may be a live instance's; it is waited out, never stolen, and the
        # later reply keeps its place behind it (per-chat order), so nothing of the chat goes out yet
        assert texts == []
        db = Database(harness.db_url)
        try:
            async with db.read() as s:
                waiting = (await s.scalars(select(OutboxMessage.payload).where(
                    OutboxMessage.chat_id == 5020, OutboxMessage.status == "pending").order_by(OutboxMessage.id))).all()
        finally:
            await db.dispose()
        assert [p["text"] for p in waiting][0] == "held" and len(waiting) == 2
