"""The web chat in a real browser: Debian's headless Chromium driven by Playwright.

The sandbox, the real bot and the web page run in this test's event loop; the browser is the
system's ``/usr/bin/chromium`` (no browser download). Without it these tests FAIL — ``.ci/run``
installs it. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from bot.app import ServiceDeskApp
from bot.sandbox import SandboxServer
from bot.webchat import WebChat
from bot.webchat.duty import on_duty_user_ids
from bot.webchat.personas import customer_personas, staff_personas
from tests.harness import TOKEN, Harness, seeded
from tests.harness import test_clock as make_clock

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000


@dataclass
class Web:
    """The running stack: harness (bot + sandbox + clock) and the web chat."""

    h: Harness
    chat: WebChat
    app: ServiceDeskApp

    async def bot_api(self, method: str, **params: Any) -> dict[str, Any]:
        """Call the sandbox Bot API as the bot does (to send or edit a message directly)."""
        url = f"{self.h.sandbox.bot_base_url}{TOKEN}/{method}"
        async with self.h.http.post(url, json=params) as resp:
            data = await resp.json()
            assert data["ok"], data
            return data["result"]


@pytest.fixture
async def web(db_url: str) -> AsyncIterator[Web]:
    """Sandbox, bot and web chat sharing one clock (as ``sdbot run`` wires them)."""
    clock = make_clock()
    sandbox = SandboxServer(port=0, clock=lambda: clock.now().timestamp())
    await sandbox.start()
    h = Harness(sandbox, db_url, clock)
    await seeded(h)
    app = await h.start()

    def wake() -> None:
        if app.timers is not None:
            app.timers.wake.set()

    chat = WebChat(
        sandbox, clock, port=0, wake=wake, on_duty=lambda: on_duty_user_ids(app.desk)
    )
    await chat.start()
    try:
        yield Web(h, chat, app)
    finally:
        await chat.stop()
        await h.close()
        await sandbox.stop()


def chromium_installed() -> bool:
    """Is the system Chromium there (the browser tests need it; they never download one)?"""
    return CHROMIUM.is_file()


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium page (own profile directory); fails without Chromium."""
    assert chromium_installed(), (
        f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium; "
        ".ci/run does) or point CHROMIUM at a Chromium binary"
    )
    errors: list[str] = []
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
            locale="en-GB",
        )
        try:
            pg = context.pages[0] if context.pages else await context.new_page()
            pg.set_default_timeout(TIMEOUT_MS)
            pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield pg
        finally:
            await context.close()
    assert not errors, errors


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (a 'photo' to upload)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


async def open_page(page: Page, web: Web) -> tuple[Locator, Locator]:
    """Load the page; return the (customer, on-duty engineer) panes once both chats are open."""
    await page.goto(web.chat.url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    left, right = page.locator("#pane-0"), page.locator("#pane-1")
    await expect(left).to_have_attribute("data-user-id", "5001")
    await expect(right).to_have_attribute("data-role", "engineer")
    return left, right


async def type_and_send(pane: Locator, text: str) -> None:
    """Type into the pane's composer and press Enter."""
    box = pane.locator("textarea.input")
    await box.fill(text)
    await box.press("Enter")
    await expect(box).to_have_value("")


def bot_msg(pane: Locator, text: str) -> Locator:
    return pane.locator(".msg.bot", has_text=text)


async def test_start_lang_buttons_edit_photo_document_and_clock(web: Web, page: Page) -> None:
    left, right = await open_page(page, web)

    # START in an empty chat sends /start; the greeting arrives live, its /report is clickable
    await left.locator(".empty button.start").click()
    greeting = bot_msg(left, "售后服务台")
    await expect(greeting).to_be_visible()
    await expect(left.locator(".msg.user", has_text="/start")).to_be_visible()
    await expect(greeting.locator("a.cmd", has_text="/report")).to_be_visible()
    greeting_id = int(await greeting.get_attribute("data-id") or 0)
    greeting = left.locator(f'.msg[data-id="{greeting_id}"]')

    # replying to a message (hover ↩): the reply quotes it, and Telegram gets reply_to_message
    await greeting.hover()
    await greeting.locator("button.reply-btn").click()
    await expect(left.locator(".replying-text")).to_contain_text("您好")
    await type_and_send(left, "谢谢")
    reply = left.locator(".msg.user", has_text="谢谢")
    await expect(reply.locator(".reply-quote")).to_contain_text("您好")
    reply = left.locator(f'.msg[data-id="{await reply.get_attribute("data-id")}"]')
    await expect(left.locator(".replying")).to_be_hidden()
    sent = (await web.h.get("/sandbox/messages", user_id=5001, include_user=1))["messages"]
    assert [m["reply_to"] for m in sent if m["text"] == "谢谢"] == [greeting_id]

    # editing one's own message (hover ✎): the bubble is marked edited, the bot gets the edit
    await reply.hover()
    await reply.locator("button.edit-btn").click()
    await expect(left.locator("textarea.input")).to_have_value("谢谢")
    await expect(left.locator(".replying-label")).to_have_text("Edit")
    await type_and_send(left, "非常感谢")
    await expect(reply).to_have_class("msg user edited")
    await expect(reply.locator(".text")).to_have_text("非常感谢")
    await expect(left.locator(".msg.user", has_text="非常感谢")).to_have_count(1)

    # /lang typed, the inline "English" button pressed: the reply comes in English
    await type_and_send(left, "/lang")
    prompt = bot_msg(left, "Please choose a language")
    await prompt.locator("button.ikb-btn", has_text="English").click()
    await expect(bot_msg(left, "Language set to English")).to_be_visible()

    # the bot edits a message: it is replaced in place; HTML is rendered, not injected
    prompt_id = int(await prompt.get_attribute("data-id") or 0)
    await web.bot_api(
        "editMessageText",
        chat_id=5001,
        message_id=prompt_id,
        parse_mode="HTML",
        text='<b>Bold</b> <i>it</i> <code>&lt;img src=x onerror="alert(1)"&gt;</code> '
        '<a href="https://example.com/a?b=1">link</a> <a href="javascript:alert(2)">bad</a>',
    )
    edited = left.locator(f'.msg[data-id="{prompt_id}"]')
    await expect(edited).to_have_count(1)
    await expect(edited).to_have_class("msg bot edited")
    await expect(edited.locator("strong")).to_have_text("Bold")
    await expect(edited.locator("em")).to_have_text("it")
    await expect(edited.locator("code")).to_have_text('<img src=x onerror="alert(1)">')
    assert await edited.locator("img").count() == 0
    await expect(edited.locator("a", has_text="link")).to_have_attribute(
        "href", "https://example.com/a?b=1"
    )
    assert await edited.locator("a", has_text="bad").count() == 0  # javascript: is no link
    assert await edited.locator(".ikb-btn").count() == 0  # the edit dropped the buttons

    # a photo from the composer reaches the chat and displays
    await left.locator("input.file").set_input_files(
        files=[{"name": "nvr.png", "mimeType": "image/png", "buffer": png(96, 64, (200, 60, 60))}]
    )
    await expect(left.locator(".attachment-name")).to_contain_text("nvr.png")
    await left.locator("button.send").click()
    photo = left.locator(".msg.user img.photo")
    await expect(photo).to_be_visible()
    # visible is not loaded: wait for the image to decode (a busy machine is slow to fetch it)
    assert await photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 96
    sandbox_msgs = await web.h.get("/sandbox/messages", user_id=5001, include_user=1)
    assert any(m.get("photo") for m in sandbox_msgs["messages"] if m["from_user"])

    # a document the bot sends can be opened from the page
    doc_bytes = b"service report\n"
    form = aiohttp.FormData()
    form.add_field("chat_id", "5001")
    form.add_field("document", doc_bytes, filename="report.txt", content_type="text/plain")
    async with web.h.http.post(f"{web.h.sandbox.bot_base_url}{TOKEN}/sendDocument", data=form) as resp:
        assert (await resp.json())["ok"]
    doc = left.locator(".msg.bot a.doc", has_text="report.txt")
    await expect(doc).to_be_visible()
    href = await doc.get_attribute("href")
    assert href and href.startswith("/sandbox/files/")
    got = await page.request.get(web.chat.url + href)
    assert got.ok and await got.body() == doc_bytes

    # the clock control moves the bot's clock (shared object) and the page shows it
    await page.locator('.clock-btn[data-action="jump2231"]').click()
    await expect(page.locator("#clock-now")).to_contain_text("22:31")
    now = web.h.clock.now()
    assert (now.hour, now.minute) == (22, 31)
    await page.locator('.clock-btn[data-action="advance15"]').click()
    await expect(page.locator("#clock-now")).to_contain_text("22:46")

    # the engineer pane is a separate live chat
    await right.locator(".empty button.start").click()
    await expect(bot_msg(right, "工程师")).to_be_visible()
    assert await left.locator(".msg", has_text="工程师").count() == 0

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "webchat-basics.png"))


async def engineer_with_card(web: Web) -> int:
    """The demo engineer whose sandbox chat holds an unacknowledged dispatch card."""
    for _ in range(50):
        for p in staff_personas():
            data = await web.h.get("/sandbox/messages", user_id=p["user_id"])
            for m in data["messages"]:
                if any(b["data"].startswith("dp:ack:") for row in m["buttons"] for b in row):
                    return int(p["user_id"])
        await asyncio.sleep(0.2)
    raise AssertionError("no engineer received a dispatch card")


async def answered(pane: Locator, text: str) -> None:
    """Send ``text`` once the bot has answered what came before; wait for its answer too."""
    bots = pane.locator(".msg.bot")
    before = await bots.count()
    await type_and_send(pane, text)
    await expect(bots.nth(before)).to_be_visible()


async def press_new_button(pane: Locator, prefix: str) -> None:
    """Press the first ``prefix`` button of the newest message having one; wait for the reply."""
    selector = f'button.ikb-btn[data-data^="{prefix}"]'
    message = pane.locator(".msg.bot", has=pane.page.locator(selector)).last
    await expect(message).to_be_visible()
    bots = pane.locator(".msg.bot")
    before = await bots.count()
    await message.locator(selector).first.click()
    await expect(bots.nth(before)).to_be_visible()


async def test_customer_reports_engineer_acknowledges_side_by_side(web: Web, page: Page) -> None:
    left, right = await open_page(page, web)
    phone = next(p["phone"] for p in customer_personas() if p["user_id"] == 5001)

    # the customer reports a fault through the page: number, shared phone, equipment, symptom…
    await answered(left, "/report")
    await type_and_send(left, "C1001")
    share = left.locator(".reply-kb button.contact-btn")
    await expect(share).to_be_visible()
    await share.click()
    await expect(left.locator(".msg.user .contact-phone")).to_have_text(phone)
    await press_new_button(left, "rp:eq:")
    await answered(left, "录像机没有画面，所有摄像头黑屏")
    await press_new_button(left, "rp:sev:down")
    await press_new_button(left, "rp:submit")
    receipt = bot_msg(left, "SD-")
    await expect(receipt).to_be_visible()
    number = re.search(r"SD-[0-9-]+", await receipt.inner_text())
    assert number, await receipt.inner_text()

    # the on-duty engineer, opened in the other pane, has the dispatch card and acknowledges it
    engineer = await engineer_with_card(web)
    on_duty = int(await right.get_attribute("data-user-id") or 0)
    assert engineer == on_duty  # the page opened the engineer dispatch picked
    await expect(right.locator(".who-meta")).to_contain_text("on duty now")
    await right.locator("select.persona").select_option(f"u:{engineer}")
    await expect(right).to_have_attribute("data-user-id", str(engineer))
    card = right.locator(".msg.bot", has=page.locator('button[data-data^="dp:ack:"]'))
    await expect(card).to_contain_text(number[0])
    card_id = await card.get_attribute("data-id")

    # +15 min on the page's clock: the bot's ack timer fires and reminds the engineer
    await page.locator('.clock-btn[data-action="advance15"]').click()
    await expect(right.locator(".msg.bot", has_text="⏰")).to_contain_text(number[0])
    await card.locator('button[data-data^="dp:ack:"]').click()

    # the card is edited in place (no ack button any more); the customer sees who took it
    taken = right.locator(f'.msg[data-id="{card_id}"]')
    await expect(taken).to_have_class("msg bot edited")
    await expect(taken.locator('button[data-data^="dp:ack:"]')).to_have_count(0)
    notice = bot_msg(left, "已由工程师")
    await expect(notice).to_contain_text(number[0])
    name = next(p["first_name"] for p in staff_personas() if p["user_id"] == engineer)
    await expect(notice.locator("strong")).to_have_text(name)

    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "webchat-report-ack.png"))


async def test_new_user_with_chosen_language_and_single_pane(web: Web, page: Page) -> None:
    left, right = await open_page(page, web)
    await page.locator("#side-by-side").uncheck()
    await expect(right).to_be_hidden()

    await left.locator("select.lang").select_option("en")
    await left.locator("select.persona").select_option("new")
    form = left.locator("form.new-user")
    await expect(form).to_be_visible()
    await form.locator("input.new-name").fill("Ada <b>Lovelace</b>")
    await form.locator("input.new-phone").fill("+8613712345678")
    await form.locator("button").click()
    await expect(left.locator(".who-name")).to_have_text("Ada <b>Lovelace</b>")
    user_id = int(await left.get_attribute("data-user-id") or 0)
    assert user_id not in {p["user_id"] for p in customer_personas() + staff_personas()}

    await left.locator(".empty button.start").click()
    greeting = bot_msg(left, "This is the after-sales service desk")
    await expect(greeting).to_contain_text("Ada <b>Lovelace</b>")  # shown as typed, not as HTML
    assert await greeting.locator("b, strong").count() == 0
    assert web.h.sandbox.world.users[user_id].language_code == "en"


async def test_staff_group_pane_lists_topics_and_posts_into_them(web: Web, page: Page) -> None:
    group = web.chat.create_staff_group()
    staff = staff_personas()
    owner, engineer = staff[0], staff[1]
    topic = await web.bot_api("createForumTopic", chat_id=group.id, name="SD-1 · Ann · printer")
    thread = topic["message_thread_id"]
    keyboard = {"inline_keyboard": [[{"text": "Acknowledge", "callback_data": "ack:1"}]]}
    await web.bot_api("sendMessage", chat_id=group.id, message_thread_id=thread,
                      text="SD-1 card", reply_markup=keyboard)
    other = await web.bot_api("createForumTopic", chat_id=group.id, name="SD-2 · Bo · NVR")

    _left, right = await open_page(page, web)
    await right.locator("select.persona").select_option(f"g:{group.id}")
    await expect(right).to_have_attribute("data-role", "group")
    topics = right.locator(".topics")
    await expect(topics.locator(".topic")).to_have_count(3)  # General and the two tickets
    first = topics.locator(f'.topic[data-thread="{thread}"]')
    await expect(first).to_contain_text("SD-1 · Ann · printer")
    await expect(first.locator(".topic-state")).to_have_text("open")

    # the topic shows its own messages only: the creation line and the card with its button
    await first.click()
    await expect(first).to_have_class(re.compile(r"\bcurrent\b"))
    card = right.locator(".msg.bot", has_text="SD-1 card")
    await expect(card).to_be_visible()
    await expect(card.locator(".sender")).to_have_text("ServiceDesk Sandbox")
    await expect(right.locator(".msg.service", has_text="SD-1 · Ann · printer")).to_be_visible()
    await expect(right.locator(".msg.service", has_text="SD-2")).to_be_hidden()

    # writing in the topic as the first staff member: the bot gets a topic message
    await type_and_send(right, "on my way")
    await expect(right.locator(".msg.user", has_text="on my way")).to_be_visible()
    [posted] = [m for m in group.messages.values() if m.data.get("text") == "on my way"]
    assert posted.data["message_thread_id"] == thread and posted.data["is_topic_message"]
    assert posted.data["from"]["id"] == owner["user_id"]
    mine = right.locator(f'.msg[data-id="{posted.message_id}"]')
    await card.locator("button.ikb-btn", has_text="Acknowledge").click()
    for _ in range(TIMEOUT_MS // 100):  # the press reaches the sandbox as the owner's query
        if any(q.user_id == owner["user_id"] for q in web.chat.world.callbacks.values()):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the press did not reach the sandbox")

    # the bot closes the topic: the list says so, a plain member may no longer write there
    await web.bot_api("closeForumTopic", chat_id=group.id, message_thread_id=thread)
    await expect(first.locator(".topic-state")).to_have_text("closed")
    await expect(right.locator(".msg.service", has_text="closed the topic")).to_be_visible()
    await right.locator("select.as-user").select_option(str(engineer["user_id"]))
    await expect(right.locator(".who-meta")).to_contain_text(f"writing as {engineer['first_name']}")
    await expect(mine).to_have_attribute("data-from", "member")  # now someone else's
    box = right.locator("textarea.input")
    await expect(box).to_be_disabled()  # Telegram's apps offer no composer there either
    await expect(box).to_have_attribute("placeholder", re.compile("topic is closed"))
    await right.locator("select.as-user").select_option(str(owner["user_id"]))
    await expect(box).to_be_enabled()  # the group's creator still may
    await right.locator("select.as-user").select_option(str(engineer["user_id"]))

    # the other topic and General: a command there gets the bot's group refusal in General
    await topics.locator(f'.topic[data-thread="{other["message_thread_id"]}"]').click()
    await expect(card).to_be_hidden()
    await expect(right.locator(".empty")).to_be_hidden()  # its creation line is there
    await topics.locator('.topic[data-thread="general"]').click()
    await expect(box).to_be_enabled()
    await box.fill("/start")
    await box.press("Enter")
    await expect(right.locator(".msg.bot", has_text="请私聊我")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "webchat-staff-group.png"))
