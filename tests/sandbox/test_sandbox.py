"""The Bot API sandbox, driven by a real telegram.Bot plus its JSON control API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import time
from typing import Any

import pytest
from aiohttp import web
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MessageEntity,
    ReplyKeyboardMarkup,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sandbox import SandboxServer
from bot.sandbox.html import HtmlError, parse_html
from bot.sandbox.state import TINY_PNG
from tests.support.sandboxkit import TOKEN, USER, Control, flood_limited


def seconds(value: int | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def test_get_me(tg: Bot, server: SandboxServer) -> None:
    me = await tg.get_me()
    assert (me.id, me.is_bot, me.username) == (123, True, "servicedesk_sandbox_bot")
    assert me.first_name == "ServiceDesk Sandbox" and me.can_join_groups
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")


async def test_user_messages_parse_as_ptb_updates(tg: Bot, ctl: Control) -> None:
    sent = await ctl.send("/start deep", first_name="Ann", username="ann", language_code="en")
    await ctl.send(contact={"phone_number": "+8613800000000"})
    await ctl.send(photo=base64.b64encode(TINY_PNG).decode(), caption="broken")
    await ctl.send(sticker=True)
    await ctl.send(voice=True)
    await ctl.send(location={"latitude": 31.2, "longitude": 121.5})
    await ctl.send(contact={"phone_number": "+1555", "user_id": None, "first_name": "Bob"})
    updates = await tg.get_updates()
    assert [u.update_id for u in updates] == list(range(sent["update_id"], sent["update_id"] + 7))
    text, contact, photo, sticker, voice, location, other = (u.message for u in updates)
    assert text.message_id == sent["message_id"] and text.text == "/start deep"
    assert text.chat.id == USER and text.chat.type == "private"
    assert text.from_user.language_code == "en" and text.from_user.username == "ann"
    assert text.entities[0].type == MessageEntity.BOT_COMMAND and text.entities[0].length == 6
    assert contact.contact.user_id == USER and contact.contact.phone_number == "+8613800000000"
    assert other.contact.user_id is None and other.contact.first_name == "Bob"
    assert len(photo.photo) >= 1 and photo.caption == "broken" and photo.photo[-1].file_id
    assert sticker.sticker.file_id and voice.voice.mime_type == "audio/ogg"
    assert location.location.latitude == pytest.approx(31.2)
    assert [m.message_id for m in (text, contact, photo)] == [1, 2, 3]
    data = await (await tg.get_file(photo.photo[-1].file_id)).download_as_bytearray()
    assert bytes(data) == TINY_PNG
    # confirmed updates are gone
    assert await tg.get_updates(offset=updates[-1].update_id + 1) == ()


async def test_html_message_with_inline_keyboard_is_visible(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes ✅", callback_data="yes:1")]])
    msg = await tg.send_message(
        USER, "<b>Hello</b> &amp; <i>wélcome</i> 😀 <a href='https://x.io'>x</a>",
        parse_mode="HTML", reply_markup=keyboard,
    )
    assert msg.text == "Hello & wélcome 😀 x" and msg.message_id == 2
    assert [(e.type, e.offset, e.length) for e in msg.entities] == [
        ("bold", 0, 5), ("italic", 8, 7), ("text_link", 19, 1),
    ]
    assert msg.reply_markup == keyboard
    view = await ctl.get("/sandbox/messages", user_id=USER, since=0)
    (m,) = view["messages"]
    assert m["text"] == msg.text and m["buttons"] == [[{"text": "Yes ✅", "data": "yes:1"}]]
    assert not m["edited"] and m["reply_keyboard"] is None and view["last_id"] == 2
    both = await ctl.get("/sandbox/messages", user_id=USER, since=0, include_user=1)
    assert [(x["id"], x["from_user"]) for x in both["messages"]] == [(1, True), (2, False)]


async def test_reply_keyboard_with_contact_button(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    kb = ReplyKeyboardMarkup([[KeyboardButton("Share phone", request_contact=True), "No"]])
    await tg.send_message(USER, "Phone?", reply_markup=kb, reply_to_message_id=1)
    (m,) = (await ctl.get("/sandbox/messages", user_id=USER))["messages"]
    assert m["reply_keyboard"] == [
        [{"text": "Share phone", "request_contact": True}, {"text": "No", "request_contact": False}]
    ]
    assert m["reply_to"] == 1 and m["buttons"] == []


async def test_press_and_answer_callback(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    msg = await tg.send_message(USER, "Pick", reply_markup=keyboard)
    await ctl.post("/sandbox/press", {"user_id": USER, "message_id": 99, "data": "go"}, 404)
    refused = await ctl.post(
        "/sandbox/press", {"user_id": USER, "message_id": msg.message_id, "data": "forged"}, 400
    )
    assert "no button with data 'forged'" in refused["description"]
    pressed = await ctl.post(
        "/sandbox/press",
        {"user_id": USER, "message_id": msg.message_id, "data": "forged", "forge": True},
    )
    update = (await tg.get_updates(offset=pressed["update_id"]))[0]
    query = update.callback_query
    assert query.id == pressed["callback_query_id"] and query.data == "forged"
    assert query.message.message_id == msg.message_id and query.from_user.id == USER
    assert await query.answer("Done", show_alert=True)
    answers = await ctl.get("/sandbox/callback_answers", user_id=USER)
    assert answers["answers"] == [
        {"callback_query_id": query.id, "text": "Done", "show_alert": True}
    ]
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await tg.answer_callback_query(query.id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await tg.answer_callback_query("nope")


async def test_edits_and_deletes_show_up_once_via_since(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    first = await tg.send_message(USER, "one", reply_markup=keyboard)
    second = await tg.send_message(USER, "two")
    view = await ctl.get("/sandbox/messages", user_id=USER, since=0)
    seen = view["last_id"]
    assert [m["text"] for m in view["messages"]] == ["one", "two"]
    edited = await tg.edit_message_text("one, edited", USER, first.message_id)
    assert edited.text == "one, edited" and edited.edit_date is not None
    assert edited.reply_markup is None  # no reply_markup given: keyboard removed, as Telegram
    await tg.delete_message(USER, second.message_id)
    view = await ctl.get("/sandbox/messages", user_id=USER, since=seen)
    assert [(m["id"], m["text"], m["edited"], m["deleted"]) for m in view["messages"]] == [
        (first.message_id, "one, edited", True, False),
        (second.message_id, "two", False, True),
    ]
    assert view["messages"][0]["buttons"] == []
    again = await ctl.get("/sandbox/messages", user_id=USER, since=view["last_id"])
    assert again["messages"] == []
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await tg.edit_message_text("one, edited", USER, first.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await tg.edit_message_text("x", USER, 999)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await tg.delete_message(USER, second.message_id)
    markup = await tg.edit_message_reply_markup(USER, first.message_id, reply_markup=keyboard)
    assert markup.reply_markup == keyboard
    # the user edits their own message
    edit = await ctl.post("/sandbox/edit", {"user_id": USER, "message_id": 1, "text": "hey"})
    (update,) = await tg.get_updates(offset=edit["update_id"])
    assert update.edited_message.text == "hey" and update.edited_message.message_id == 1


async def test_telegram_limits(tg: Bot, ctl: Control) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.send_message(4242, "hello")
    await ctl.send("hi")
    assert (await tg.send_message(USER, "x" * 4096)).text == "x" * 4096
    with pytest.raises(BadRequest, match="Message is too long"):
        await tg.send_message(USER, "x" * 4097)
    # the limit applies after entity parsing
    assert await tg.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await tg.send_message(USER, "  \n ")
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await tg.send_message(
            USER, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("b", callback_data="d" * 65)]]
            ),
        )
    assert await tg.send_message(
        USER, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("b", callback_data="é" * 32)]]
        ),
    )
    for bad in ["<b>open", "<b><i>x</b></i>", "a < b", "<div>x</div>", "x</b>"]:
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await tg.send_message(USER, bad, parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await tg.send_document(USER, b"data", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await tg.send_message(USER, "x", reply_to_message_id=999)
    stats = await ctl.get("/sandbox/stats")
    assert stats["errors"]["400"] >= 10 and stats["calls"]["sendMessage"] >= 12


def test_html_parser_details() -> None:
    text, ents = parse_html('<pre><code class="language-py">a&lt;b</code></pre> &#128512;&x')
    assert text == "a<b 😀&x"
    assert ents == [{"offset": 0, "length": 3, "type": "pre", "language": "py"}]
    text, ents = parse_html("😀<tg-spoiler>s</tg-spoiler><blockquote expandable>q</blockquote>")
    assert [(e["type"], e["offset"]) for e in ents] == [("spoiler", 2), ("expandable_blockquote", 3)]
    with pytest.raises(HtmlError, match='Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'):
        parse_html("<b><i>x</b></i>")
    with pytest.raises(HtmlError, match='Unsupported start tag "span"|must have class'):
        parse_html("<span>x</span>")


async def test_long_poll_returns_promptly(tg: Bot, ctl: Control) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(tg.get_updates(timeout=5, read_timeout=10))
    await asyncio.sleep(0.1)
    assert not poll.done()
    sent = await ctl.send("ping")
    (update,) = await poll
    assert update.update_id == sent["update_id"] and update.message.text == "ping"
    assert time.monotonic() - started < 2
    # and an empty long poll really waits, then returns nothing
    started = time.monotonic()
    assert await tg.get_updates(offset=sent["update_id"] + 1, timeout=0.3) == ()
    assert time.monotonic() - started >= 0.25


async def test_messages_wait_returns_when_bot_replies(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    started = time.monotonic()
    read = asyncio.create_task(ctl.get("/sandbox/messages", user_id=USER, since=1, wait=5))
    await asyncio.sleep(0.05)
    await tg.send_message(USER, "reply")
    view = await read
    assert [m["text"] for m in view["messages"]] == ["reply"]
    assert time.monotonic() - started < 2


async def test_redeliver_repeats_the_same_update(tg: Bot, ctl: Control) -> None:
    sent = await ctl.send("/lang en")
    (first,) = await tg.get_updates()
    nxt = first.update_id + 1
    assert await tg.get_updates(offset=nxt) == ()
    await ctl.post("/sandbox/redeliver", {"update_id": sent["update_id"]})
    (again,) = await tg.get_updates(offset=nxt)
    assert again.update_id == first.update_id and again.message.text == "/lang en"
    assert await tg.get_updates(offset=nxt) == ()
    await ctl.post("/sandbox/redeliver", {"update_id": 987654}, status=404)


async def test_faults_429_500_timeout_and_rate(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    await ctl.post(
        "/sandbox/faults", {"method": "sendMessage", "count": 1, "kind": "429", "retry_after": 7}
    )
    with pytest.raises(RetryAfter) as exc:
        await tg.send_message(USER, "a")
    assert seconds(exc.value.retry_after) == 7
    assert (await tg.send_message(USER, "a")).text == "a"
    await ctl.post("/sandbox/faults", {"method": "*", "count": 1, "kind": "500"})
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await tg.get_me()
    await ctl.post("/sandbox/faults", {"method": "sendmessage", "count": 1, "kind": "timeout"})
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await tg.send_message(USER, "lost", read_timeout=0.3)
    assert time.monotonic() - started < 2
    await ctl.post("/sandbox/faults", {"rate": 1.0, "kinds": ["500"], "seed": 1})
    with pytest.raises(NetworkError):
        await tg.get_me()
    async with ctl.http.delete(ctl.server.url + "/sandbox/faults") as resp:
        assert resp.status == 200
    assert (await tg.get_me()).id == 123
    view = await ctl.get("/sandbox/messages", user_id=USER)
    assert [m["text"] for m in view["messages"]] == ["a"]  # faulted calls had no effect
    stats = await ctl.get("/sandbox/stats")
    assert stats["errors"]["429"] == 1 and stats["errors"]["500"] == 2


async def test_upload_and_download_files(tg: Bot, ctl: Control, server: SandboxServer) -> None:
    await ctl.send("hi")
    doc_msg = await tg.send_document(USER, b"%PDF-1.4 report", filename="report.pdf",
                                     caption="<b>Report</b>", parse_mode="HTML")
    doc = doc_msg.document
    assert (doc.file_name, doc.mime_type, doc.file_size) == ("report.pdf", "application/pdf", 15)
    assert doc_msg.caption == "Report" and doc_msg.caption_entities[0].type == "bold"
    tg_file = await tg.get_file(doc.file_id)
    assert tg_file.file_path and tg_file.file_size == 15
    assert bytes(await tg_file.download_as_bytearray()) == b"%PDF-1.4 report"
    photo_msg = await tg.send_photo(USER, TINY_PNG, caption="pic")
    assert len(photo_msg.photo) >= 1 and photo_msg.photo[-1].width == 1
    got = await (await tg.get_file(photo_msg.photo[0].file_id)).download_as_bytearray()
    assert bytes(got) == TINY_PNG
    reused = await tg.send_document(USER, doc.file_id)
    assert reused.document.file_id == doc.file_id
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await tg.send_document(USER, "no-such-file-id")
    view = await ctl.get("/sandbox/messages", user_id=USER)
    d, p, _ = view["messages"]
    assert d["document"]["file_name"] == "report.pdf" and d["document"]["size"] == 15
    assert p["photo"]["caption"] == "pic"
    async with ctl.http.get(d["document"]["url"]) as resp:
        assert await resp.read() == b"%PDF-1.4 report"
    async with ctl.http.get(f"{server.file_base_url}{TOKEN}/nope/x") as resp:
        assert resp.status == 404


async def test_flood_limits_per_chat_burst() -> None:
    now = [1000.0]
    async with flood_limited(now) as (bot, ctl):
        await ctl.send("hi")
        await ctl.send("hi", user_id=USER + 1)
        for i in range(3):
            await bot.send_message(USER, f"burst {i}")
        with pytest.raises(RetryAfter) as exc:
            await bot.send_message(USER, "one too many")
        assert seconds(exc.value.retry_after) >= 1
        assert await bot.send_message(USER + 1, "other chat is fine")
        now[0] += 1.0
        assert await bot.send_message(USER, "after a second")
        await ctl.post("/sandbox/config", {"flood_limits": False, "delay_ms": 1})
        for _ in range(5):
            await bot.send_message(USER, "unlimited")
        assert (await ctl.get("/sandbox/stats"))["errors"] == {"429": 1}


async def test_webhook_delivery_with_secret_and_retry(tg: Bot, ctl: Control) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    got = asyncio.Event()
    attempts = [0]

    async def hook(request: web.Request) -> web.Response:
        attempts[0] += 1
        if attempts[0] == 1:
            return web.Response(status=500)  # the first try fails: Telegram retries
        received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        got.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(BadRequest, match="(?i)https url must be provided"):
            await tg.set_webhook(f"http://127.0.0.1:{port}/hook")
        ctl.server.allow_insecure_webhook = True  # the test's listener is plain http
        assert await tg.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr-et_")
        with pytest.raises(Conflict):
            await tg.get_updates()
        sent = await ctl.send("via webhook")
        await asyncio.wait_for(got.wait(), 5)
        (payload, secret), = received
        assert secret == "s3cr-et_" and payload["update_id"] == sent["update_id"]
        assert payload["message"]["text"] == "via webhook" and attempts[0] == 2
        info = await tg.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        assert await tg.delete_webhook()
        assert await tg.get_updates() == ()
    finally:
        await runner.cleanup()


async def test_control_misc_commands_json_body_and_reset(
    tg: Bot, ctl: Control, server: SandboxServer
) -> None:
    await ctl.send("hi")
    async with ctl.http.post(
        f"{server.bot_base_url}{TOKEN}/SENDMESSAGE", json={"chat_id": USER, "text": "json body"}
    ) as resp:
        body = await resp.json()
        assert body["ok"] and body["result"]["text"] == "json body"
    async with ctl.http.post(f"{server.bot_base_url}{TOKEN}/frobnicate") as resp:
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert await tg.set_my_commands([("start", "Start"), ("help", "Help")])
    assert [c.command for c in await tg.get_my_commands()] == ["start", "help"]
    assert await tg.delete_my_commands() and await tg.get_my_commands() == ()
    assert await tg.send_chat_action(USER, "typing")
    raw = await ctl.post("/sandbox/update", {"update": {"message": {
        "message_id": 50, "date": 0, "chat": {"id": 9, "type": "private"},
        "from": {"id": 9, "is_bot": False, "first_name": "Raw"}, "text": "raw"}}})
    (update,) = await tg.get_updates(offset=raw["update_id"])
    assert update.message.text == "raw" and update.update_id == raw["update_id"]
    assert (await ctl.get("/sandbox/health")) == {"ok": True}
    stats = await ctl.get("/sandbox/stats")
    assert stats["calls"]["sendMessage"] == 1 and stats["updates_delivered"] == 1
    await ctl.post("/sandbox/reset", {})
    stats = await ctl.get("/sandbox/stats")
    assert stats == {"calls": {}, "errors": {}, "updates_delivered": 0, "pending_updates": 0,
                     "dropped_updates": 0}
    assert (await ctl.get("/sandbox/messages", user_id=USER))["messages"] == []
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.send_message(USER, "gone")
    again = await ctl.send("back")  # update ids keep increasing across resets
    assert again["update_id"] > raw["update_id"] and again["message_id"] == 1


async def test_get_chat_is_a_complete_chat_full_info(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi", first_name="Ann")
    chat = await tg.get_chat(USER)
    assert chat.id == USER and chat.type == "private" and chat.first_name == "Ann"
    gifts = chat.accepted_gift_types  # required by the Bot API (aiogram refuses a chat without)
    assert gifts is not None and gifts.unlimited_gifts and gifts.premium_subscription


async def test_press_must_name_a_button_of_the_current_keyboard(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a"),
                                      InlineKeyboardButton("Site", url="https://x.io")]])
    msg = await tg.send_message(USER, "Pick", reply_markup=keyboard)
    press = {"user_id": USER, "message_id": msg.message_id}
    assert (await ctl.post("/sandbox/press", {**press, "data": "a"}))["update_id"]
    await ctl.post("/sandbox/press", {**press, "data": "b"}, 400)
    await ctl.post("/sandbox/press", {**press, "data": "https://x.io"}, 400)  # a url button
    await ctl.post("/sandbox/press", {"user_id": USER, "message_id": 1, "data": "a"}, 400)
    await ctl.post("/sandbox/press", {**press, "data": "b", "forge": "yes"}, 400)
    # the bot renames the button: the old data is gone, the new one works
    await tg.edit_message_reply_markup(USER, msg.message_id, reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("B", callback_data="b")]]))
    await ctl.post("/sandbox/press", {**press, "data": "a"}, 400)
    assert await ctl.post("/sandbox/press", {**press, "data": "b"})
    # the bot drops the keyboard: nothing can be pressed, except by a forging client
    await tg.edit_message_reply_markup(USER, msg.message_id)
    await ctl.post("/sandbox/press", {**press, "data": "b"}, 400)
    forged = await ctl.post("/sandbox/press", {**press, "data": "b", "forge": True})
    updates = (await tg.get_updates())[1:]  # after the user's "hi"
    assert [u.callback_query.data for u in updates] == ["a", "b", "b"]
    assert updates[-1].update_id == forged["update_id"]


async def test_empty_inline_keyboard_is_no_keyboard(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    async with ctl.http.post(f"{ctl.server.bot_base_url}{TOKEN}/sendMessage", json={
            "chat_id": USER, "text": "raw", "reply_markup": {"inline_keyboard": [[]]}}) as resp:
        assert "reply_markup" not in (await resp.json())["result"]
    msg = await tg.send_message(USER, "plain", reply_markup=InlineKeyboardMarkup([]))
    assert msg.reply_markup is None
    views = (await ctl.get("/sandbox/messages", user_id=USER))["messages"]
    assert [v["buttons"] for v in views] == [[], []]
    # removing a keyboard the message does not have changes nothing
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await tg.edit_message_reply_markup(USER, msg.message_id, reply_markup=InlineKeyboardMarkup([]))
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    assert (await tg.edit_message_reply_markup(USER, msg.message_id, reply_markup=keyboard)).reply_markup
    removed = await tg.edit_message_reply_markup(USER, msg.message_id, reply_markup=InlineKeyboardMarkup([]))
    assert removed.reply_markup is None


async def test_markdown_is_refused_html_is_parsed(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    for mode in ("Markdown", "MarkdownV2"):
        with pytest.raises(BadRequest, match="sandbox: parse_mode .* is not supported"):
            await tg.send_message(USER, "*bold*", parse_mode=mode)
        with pytest.raises(BadRequest, match="sandbox: parse_mode"):
            await tg.send_document(USER, b"x", filename="a.txt", caption="*c*", parse_mode=mode)
    assert (await tg.send_message(USER, "<b>bold</b>", parse_mode="HTML")).entities[0].type == "bold"
    assert [m["text"] for m in (await ctl.get("/sandbox/messages", user_id=USER))["messages"]] == ["bold"]


async def test_file_size_limits(tg: Bot, ctl: Control, server: SandboxServer) -> None:
    await ctl.send("hi")
    big_photo = TINY_PNG + b"\0" * (10 * 1024 * 1024)
    with pytest.raises(BadRequest, match="Request Entity Too Large"):
        await tg.send_photo(USER, big_photo, read_timeout=30, write_timeout=30)
    assert await tg.send_photo(USER, TINY_PNG + b"\0" * (10 * 1024 * 1024 - len(TINY_PNG)))
    doc = b"x" * (50 * 1024 * 1024)
    assert await tg.send_document(USER, doc, filename="a.bin", read_timeout=60, write_timeout=60)
    with pytest.raises(BadRequest, match="Request Entity Too Large"):
        await tg.send_document(USER, doc + b"x", filename="a.bin", read_timeout=60, write_timeout=60)
    # a user's 21 MB file can be forwarded by file_id but not downloaded by the bot
    path = server.world.store_file(b"y" * (20 * 1024 * 1024 + 1), "documents", "big.zip")
    with pytest.raises(BadRequest, match="File is too big"):
        await tg.get_file(path.file_id)
    fits = server.world.store_file(b"y" * (20 * 1024 * 1024), "documents", "fits.zip")
    assert (await tg.get_file(fits.file_id)).file_size == 20 * 1024 * 1024
    assert [m["text"] for m in (await ctl.get("/sandbox/messages", user_id=USER))["messages"]] == ["", ""]


async def test_block_and_unblock(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    msg = await tg.send_message(USER, "before", reply_markup=keyboard)
    await ctl.post("/sandbox/block", {"user_id": 4242}, 404)
    blocked = await ctl.post("/sandbox/block", {"user_id": USER})
    assert blocked["blocked"] and blocked["update_id"]
    assert (await ctl.post("/sandbox/block", {"user_id": USER}))["update_id"] is None  # no change
    for attempt in (
        tg.send_message(USER, "after"),
        tg.send_photo(USER, TINY_PNG),
        tg.send_document(USER, b"x", filename="a.txt"),
        tg.send_chat_action(USER, "typing"),
        tg.edit_message_text("edited", USER, msg.message_id),
        tg.edit_message_reply_markup(USER, msg.message_id),
    ):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await attempt
    # a user who blocked the bot cannot write or press (Telegram's client offers "unblock")
    await ctl.post("/sandbox/send", {"user_id": USER, "text": "hello?"}, 409)
    await ctl.post("/sandbox/press", {"user_id": USER, "message_id": msg.message_id, "data": "a"}, 409)
    unblocked = await ctl.post("/sandbox/unblock", {"user_id": USER})
    assert not unblocked["blocked"] and unblocked["update_id"] == blocked["update_id"] + 1
    assert (await tg.send_message(USER, "welcome back")).text == "welcome back"
    updates = await tg.get_updates(offset=blocked["update_id"])
    kinds = [(u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
             for u in updates]
    assert kinds == [("member", "kicked"), ("kicked", "member")]
    change = updates[0].my_chat_member
    assert change.chat.id == USER and change.from_user.id == USER and change.new_chat_member.user.is_bot
    # a bot that asked only for messages never sees them
    await tg.get_updates(offset=updates[-1].update_id + 1, allowed_updates=["message"])
    assert (await ctl.post("/sandbox/block", {"user_id": USER}))["update_id"] is None
    assert await tg.get_updates(offset=updates[-1].update_id + 1) == ()
    assert (await ctl.get("/sandbox/stats"))["dropped_updates"] == 1


async def test_allowed_updates_filter_what_is_queued(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    msg = await tg.send_message(USER, "pick", reply_markup=keyboard)
    (first,) = await tg.get_updates(allowed_updates=["callback_query"])
    await ctl.send("ignored")
    pressed = await ctl.post("/sandbox/press", {"user_id": USER, "message_id": msg.message_id, "data": "a"})
    (update,) = await tg.get_updates(offset=first.update_id + 1)  # the setting stays
    assert update.update_id == pressed["update_id"] and update.callback_query.data == "a"
    await tg.get_updates(offset=update.update_id + 1, allowed_updates=[])  # [] = the default set
    sent = await ctl.send("seen again")
    (again,) = await tg.get_updates(offset=update.update_id + 1)
    assert again.update_id == sent["update_id"]


async def test_a_second_get_updates_terminates_the_first(
    tg: Bot, ctl: Control, server: SandboxServer
) -> None:
    first = asyncio.create_task(tg.get_updates(timeout=5, read_timeout=10))
    await asyncio.sleep(0.2)
    async with Bot(TOKEN, base_url=server.bot_base_url) as other:  # a second bot instance
        second = asyncio.create_task(other.get_updates(timeout=5, read_timeout=10))
        with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request"):
            await asyncio.wait_for(first, 3)
        sent = await ctl.send("to the survivor")
        (update,) = await asyncio.wait_for(second, 3)
    assert update.update_id == sent["update_id"]


async def test_set_webhook_requires_https_on_telegram_ports(tg: Bot, ctl: Control) -> None:
    for url in ("http://bot.example.com/hook", "https://bot.example.com:8080/hook",
                "ftp://bot.example.com/hook", "bot.example.com"):
        with pytest.raises(BadRequest, match="(?i)bad webhook"):
            await tg.set_webhook(url)
    for url in ("https://bot.example.com/hook", "https://bot.example.com:8443/hook",
                "https://bot.example.com:88/x"):
        assert await tg.set_webhook(url, max_connections=7, allowed_updates=["message"])
    info = await tg.get_webhook_info()
    assert info.url.endswith(":88/x") and info.max_connections == 7
    assert info.allowed_updates == ("message",)
    assert await tg.delete_webhook()
    config = await ctl.post("/sandbox/config", {"allow_insecure_webhook": True})
    assert config["allow_insecure_webhook"] and await tg.set_webhook("http://127.0.0.1:9/hook")
    assert await tg.delete_webhook()
    insecure = SandboxServer(port=0, allow_insecure_webhook=True)
    await insecure.start()
    try:
        async with Bot(TOKEN, base_url=insecure.bot_base_url) as bot:
            assert await bot.set_webhook("http://127.0.0.1:9/hook")
    finally:
        await insecure.stop()


async def test_webhook_honours_max_connections_and_chat_order(tg: Bot, ctl: Control) -> None:
    active, peak, order = [0], [0], []
    release = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        order.append((update["message"]["chat"]["id"], update["message"]["text"]))
        await release.wait()
        active[0] -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    ctl.server.allow_insecure_webhook = True
    try:
        for uid in range(USER, USER + 5):
            for n in range(2):
                await ctl.send(f"m{n}", user_id=uid)
        assert await tg.set_webhook(f"http://127.0.0.1:{port}/hook", max_connections=3)
        for _ in range(100):
            if active[0] == 3:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # no fourth delivery starts while three are in flight
        assert active[0] == 3 and [t for _, t in order] == ["m0"] * 3
        release.set()
        for _ in range(200):
            if len(order) == 10 and not ctl.server.world.updates:
                break
            await asyncio.sleep(0.02)
        assert peak[0] == 3 and len(order) == 10
        for uid in range(USER, USER + 5):  # one chat's updates arrive in order
            assert [t for c, t in order if c == uid] == ["m0", "m1"]
    finally:
        await tg.delete_webhook()
        await runner.cleanup()


# ---------------------------------------------------------------- voice, video, video notes, copies
async def test_send_voice_video_and_video_note_match_the_bot_api(tg: Bot, ctl: Control) -> None:
    await ctl.send("hi")
    voice = (await tg.send_voice(USER, b"OggS voice", filename="v.ogg", duration=7, caption="listen")).voice
    assert (voice.duration, voice.mime_type, voice.file_size) == (7, "audio/ogg", 10)
    video_msg = await tg.send_video(USER, b"\x00mp4 video", filename="v.mp4", duration=12, width=1280,
                                    height=720, caption="<b>look</b>", parse_mode="HTML")
    video = video_msg.video
    assert (video.width, video.height, video.duration, video.mime_type) == (1280, 720, 12, "video/mp4")
    assert video_msg.caption == "look" and video_msg.caption_entities[0].type == "bold"
    note = (await tg.send_video_note(USER, b"\x00mp4 note", duration=5, length=360)).video_note
    assert (note.length, note.duration, note.file_size) == (360, 5, 9)
    again = (await tg.send_voice(USER, voice.file_id)).voice  # a file_id keeps the metadata
    assert (again.file_id, again.duration) == (voice.file_id, 7)
    with pytest.raises(BadRequest, match="(?i)type of file mismatch"):
        await tg.send_video_note(USER, video.file_id)
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await tg.send_video(USER, video.file_id, caption="c" * 1025)
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await tg.send_voice(USER, "no-such-file")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await tg.send_voice(424242, voice.file_id)
    view = (await ctl.get("/sandbox/messages", user_id=USER))["messages"]
    assert view[0]["voice"]["duration"] == 7 and view[0]["text"] == "listen"
    assert view[1]["video"]["width"] == 1280 and view[2]["video_note"]["length"] == 360


async def test_send_media_without_a_file_is_refused(ctl: Control, server: SandboxServer) -> None:
    await ctl.send("hi")
    async with ctl.http.post(f"{server.bot_base_url}123:ABC/sendVideoNote", json={"chat_id": USER}) as resp:
        body = await resp.json()
    assert resp.status == 400 and body["description"] == "Bad Request: there is no video note in the request"
    async with ctl.http.post(f"{server.bot_base_url}123:ABC/sendVoice", json={"voice": "x"}) as resp:
        assert (await resp.json())["description"] == "Bad Request: chat_id is empty"


async def test_copy_message_returns_a_message_id(tg: Bot, ctl: Control) -> None:
    other = USER + 1
    await ctl.send("hi", user_id=other)
    sent = await ctl.send(user_id=USER, video={"content_base64": base64.b64encode(b"clip").decode(),
                                               "duration": 3, "width": 320, "height": 240},
                          caption="the gate camera")
    copied = await tg.copy_message(other, USER, sent["message_id"], caption="SD-2026-000001")
    view = (await ctl.get("/sandbox/messages", user_id=other))["messages"]
    assert copied.message_id == view[-1]["id"]
    assert view[-1]["video"]["duration"] == 3 and view[-1]["text"] == "SD-2026-000001"
    text = await ctl.send("plain words", user_id=USER)
    await tg.copy_message(other, USER, text["message_id"], caption="ignored")
    view = (await ctl.get("/sandbox/messages", user_id=other, since=copied.message_id))["messages"]
    assert view[-1]["text"] == "plain words"
    with pytest.raises(BadRequest, match="(?i)message to copy not found"):
        await tg.copy_message(other, USER, 9999)


async def test_users_send_voice_video_and_video_notes(tg: Bot, ctl: Control) -> None:
    await ctl.send(voice={"duration": 9})
    await ctl.send(video=True, caption="/report at the gate")
    await ctl.send(video_note={"length": 200, "duration": 4})
    updates = await tg.get_updates()
    voice, video, note = (u.message for u in updates)
    assert voice.voice.duration == 9 and voice.voice.mime_type == "audio/ogg"
    assert video.video.width and video.caption == "/report at the gate"
    assert video.caption_entities[0].type == "bot_command"
    assert (note.video_note.length, note.video_note.duration) == (200, 4)
    got = await (await tg.get_file(note.video_note.file_id)).download_as_bytearray()
    assert bytes(got).startswith(b"\x00\x00\x00\x18ftyp")
    err = await ctl.post("/sandbox/send", {"user_id": USER, "video_note": True, "caption": "x"}, status=400)
    assert "no caption" in err["description"]
