"""The web chat's HTTP side without a browser: clock control, guards, sending, events, files."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.config import Settings
from bot.core.clock import Clock
from bot.runtime.runner import run
from bot.sandbox import SandboxServer
from bot.sandbox.state import TINY_PNG
from bot.webchat import STAFF_GROUP_TITLE, WebChat
from bot.webchat.clockctl import target_for
from bot.webchat.personas import NEW_USER_ID_BASE, customer_personas, staff_personas

SH = ZoneInfo("Asia/Shanghai")
TOKEN = "123456:TEST-TOKEN-webchat"


class Page:
    """A client of one running web chat (plus its sandbox)."""

    def __init__(self, chat: WebChat, http: aiohttp.ClientSession, woken: list[int]) -> None:
        self.chat, self.http, self.woken = chat, http, woken
        self.world = chat.world

    async def post(self, path: str, body: Any, **kw: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.chat.url + path, json=body, **kw) as resp:
            return resp.status, await resp.json()

    async def get(self, path: str, **kw: Any) -> aiohttp.ClientResponse:
        resp = await self.http.get(self.chat.url + path, **kw)
        await resp.read()
        return resp

    async def get_json(self, path: str) -> dict[str, Any]:
        async with self.http.get(self.chat.url + path) as resp:
            assert resp.status == 200
            data: dict[str, Any] = await resp.json()
            return data

    async def bot(self, method: str, **params: Any) -> dict[str, Any]:
        """Call the sandbox Bot API as the bot would."""
        url = f"{self.chat.sandbox.bot_base_url}{TOKEN}/{method}"
        async with self.http.post(url, json=params) as resp:
            data = await resp.json()
        assert data["ok"], data
        return data["result"]


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    clock = Clock("Asia/Shanghai")
    clock.set(dt.datetime(2026, 11, 23, 10, 0))
    sandbox = SandboxServer(port=0, clock=lambda: clock.now().timestamp())
    await sandbox.start()
    woken: list[int] = []
    chat = WebChat(sandbox, clock, port=0, wake=lambda: woken.append(1))
    await chat.start()
    async with aiohttp.ClientSession() as http:
        yield Page(chat, http, woken)
    await chat.stop()
    await sandbox.stop()


# ------------------------------------------------------------------ clock actions (pure)
@pytest.mark.parametrize(
    ("now", "action", "expected"),
    [
        (dt.datetime(2026, 11, 23, 10, 0), "advance15", dt.datetime(2026, 11, 23, 10, 15)),
        (dt.datetime(2026, 11, 23, 23, 50), "advance15", dt.datetime(2026, 11, 24, 0, 5)),
        (dt.datetime(2026, 11, 23, 10, 0), "jump2231", dt.datetime(2026, 11, 23, 22, 31)),
        (dt.datetime(2026, 11, 23, 22, 31), "jump2231", dt.datetime(2026, 11, 24, 22, 31)),
        (dt.datetime(2026, 11, 23, 23, 5), "jump2231", dt.datetime(2026, 11, 24, 22, 31)),
        (dt.datetime(2026, 11, 23, 10, 0), "nextday", dt.datetime(2026, 11, 24, 9, 0)),
        (dt.datetime(2026, 11, 23, 0, 30), "nextday", dt.datetime(2026, 11, 24, 9, 0)),
        (dt.datetime(2026, 12, 31, 22, 0), "nextday", dt.datetime(2027, 1, 1, 9, 0)),
    ],
)
def test_clock_actions_always_move_forward(
    now: dt.datetime, action: str, expected: dt.datetime
) -> None:
    got = target_for(action, now.replace(tzinfo=SH))
    assert got == expected.replace(tzinfo=SH)
    assert got > now.replace(tzinfo=SH)


def test_unknown_clock_action_is_refused() -> None:
    with pytest.raises(ValueError, match="advance15"):
        target_for("back-to-the-past", dt.datetime(2026, 11, 23, tzinfo=SH))


# ------------------------------------------------------------------ personas
def test_personas_are_the_demo_contacts_and_staff() -> None:
    customers = customer_personas()
    assert customers[0]["user_id"] == 5001 and customers[0]["customer"] == "C1001"
    assert all(p["phone"].startswith("+86") for p in customers)
    assert len({p["user_id"] for p in customers}) == len(customers)
    staff = {p["user_id"]: p["role"] for p in staff_personas()}
    assert staff[1001] == staff[1002] == staff[1003] == "engineer"
    assert staff[2001] == "supervisor" and staff[9001] == "admin"


async def test_new_user_ids_skip_users_the_sandbox_knows(page: Page) -> None:
    page.world.touch_user(NEW_USER_ID_BASE, {"first_name": "Taken"})
    _, first = await page.post("/api/users/new", {})
    _, second = await page.post("/api/users/new", {})
    assert first["user_id"] == NEW_USER_ID_BASE + 1
    assert second["user_id"] == NEW_USER_ID_BASE + 2


async def test_demo_staff_can_receive_messages_before_their_pane_opens(page: Page) -> None:
    sent = await page.bot("sendMessage", chat_id=1002, text="dispatch")
    assert sent["chat"]["id"] == 1002


def test_binds_to_loopback_only() -> None:
    sandbox = SandboxServer(port=0)
    with pytest.raises(ValueError, match="loopback"):
        WebChat(sandbox, Clock(), host="0.0.0.0")


# ------------------------------------------------------------------ guards
async def test_foreign_host_cross_origin_and_form_posts_are_refused(page: Page) -> None:
    host = f"evil.example:{page.chat.port}"
    assert (await page.get("/api/clock", headers={"Host": host})).status == 421
    status, _ = await page.post(
        "/api/clock", {"action": "advance15"}, headers={"Origin": "http://evil.example"}
    )
    assert status == 403
    async with page.http.post(
        page.chat.url + "/api/send", data={"user_id": "5001", "text": "hi"}
    ) as resp:
        assert resp.status == 415
    assert page.world.chats.get(5001) is None
    assert page.woken == []


async def test_page_has_a_strict_content_security_policy(page: Page) -> None:
    resp = await page.get("/")
    assert resp.status == 200
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    js = await page.get("/static/app.js")
    code = await js.text()
    assert js.status == 200 and "function renderText" in code
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code, f"the page must not build HTML from strings: {sink}"


# ------------------------------------------------------------------ acting
async def test_clock_post_moves_the_shared_clock_and_wakes_the_timers(page: Page) -> None:
    status, view = await page.post("/api/clock", {"action": "jump2231"})
    assert status == 200
    now = page.chat.clock.now()
    assert (now.hour, now.minute) == (22, 31)
    assert view["iso"].startswith(now.strftime("%Y-%m-%dT22:31"))
    assert page.woken == [1]
    status, _ = await page.post("/api/clock", {"action": "rewind"})
    assert status == 400


async def test_send_text_photo_document_and_contact(page: Page) -> None:
    me = {"user_id": 5001, "first_name": "王小明", "language_code": "en"}
    assert (await page.post("/api/open", me))[0] == 200
    assert page.world.users[5001].language_code == "en"
    await page.post("/api/send", {**me, "text": "/start"})
    photo = base64.b64encode(TINY_PNG).decode()
    await page.post("/api/send", {**me, "text": "the NVR", "photo_base64": photo})
    doc = base64.b64encode(b"<script>alert(1)</script>").decode()
    await page.post(
        "/api/send",
        {**me, "document_base64": doc, "file_name": "x.html", "mime_type": "text/html"},
    )
    await page.post("/api/send", {**me, "phone": "+8613800000001"})
    await page.post("/api/send", {**me, "text": "more info", "reply_to_message_id": 1})
    msgs = [m.data for m in page.world.chats[5001].messages.values()]
    assert msgs[0]["text"] == "/start"
    assert msgs[1]["photo"] and msgs[1]["caption"] == "the NVR"
    assert msgs[2]["document"]["file_name"] == "x.html"
    assert msgs[3]["contact"] == {
        "phone_number": "+8613800000001",
        "first_name": "王小明",
        "user_id": 5001,
    }
    assert msgs[4]["reply_to_message"]["text"] == "/start"
    assert len(page.world.updates) == 5

    # files: an uploaded HTML document downloads (never renders on the page's origin)
    html_id = msgs[2]["document"]["file_id"]
    resp = await page.get(f"/sandbox/files/{html_id}")
    assert resp.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    img = await page.get(f"/sandbox/files/{msgs[1]['photo'][-1]['file_id']}")
    assert img.headers["Content-Disposition"].startswith("inline") and await img.read() == TINY_PNG
    assert (await page.get("/sandbox/files/nope")).status == 404


async def test_a_video_file_goes_as_a_video(page: Page) -> None:
    me = {"user_id": 5002, "first_name": "王小明", "language_code": "zh"}
    assert (await page.post("/api/open", me))[0] == 200
    clip = base64.b64encode(b"\x00\x00\x00\x18ftypmp42clip").decode()
    await page.post("/api/send", {**me, "text": "门口", "document_base64": clip, "file_name": "gate.mp4",
                                  "mime_type": "video/mp4"})
    [msg] = [m.data for m in page.world.chats[5002].messages.values()]
    assert msg["video"]["file_name"] == "gate.mp4" and msg["caption"] == "门口" and "document" not in msg


async def test_a_user_edits_their_own_text_message_only(page: Page) -> None:
    me = {"user_id": 5001, "first_name": "A"}
    _, sent = await page.post("/api/send", {**me, "text": "camra broken"})
    bot = await page.bot("sendMessage", chat_id=5001, text="ok")
    status, _ = await page.post("/api/edit", {**me, "message_id": sent["message_id"], "text": "camera broken"})
    assert status == 200
    msg = page.world.chats[5001].messages[sent["message_id"]]
    assert msg.edited and msg.data["text"] == "camera broken"
    assert page.world.updates[-1].payload["edited_message"]["text"] == "camera broken"
    status, _ = await page.post("/api/edit", {**me, "message_id": bot["message_id"], "text": "x"})
    assert status == 404  # not the user's message
    status, _ = await page.post("/api/edit", {**me, "message_id": sent["message_id"], "text": " "})
    assert status == 400


async def test_bad_sends_change_nothing(page: Page) -> None:
    me = {"user_id": 5001, "first_name": "A"}
    assert (await page.post("/api/send", {**me, "text": "   "}))[0] == 400
    assert (await page.post("/api/send", {**me, "photo_base64": "not base64!"}))[0] == 400
    assert (await page.post("/api/send", {"text": "who am I"}))[0] == 400
    assert (await page.post("/api/press", {**me, "message_id": 9, "data": "x"}))[0] == 404
    assert (await page.post("/api/send", {**me, "text": "re", "reply_to_message_id": 9}))[0] == 404
    assert (await page.post("/api/send", ["not", "an", "object"]))[0] == 400
    assert page.world.updates == []


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[tuple[str, Any]]:
    """The next ``count`` server-sent events (name, data)."""
    events: list[tuple[str, Any]] = []
    name = ""
    while len(events) < count:
        line = (await resp.content.readline()).decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:])))
    return events


async def test_events_stream_snapshot_new_messages_edits_and_answers(page: Page) -> None:
    me = {"user_id": 5001, "first_name": "A"}
    await page.post("/api/send", {**me, "text": "/start"})
    hello = await page.bot(
        "sendMessage",
        chat_id=5001,
        text="<b>Hi</b> there",
        parse_mode="HTML",
        reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
    )
    async with page.http.get(page.chat.url + "/api/events?user_id=5001") as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        snapshot = await read_events(resp, 2)
        assert [e[1]["text"] for e in snapshot] == ["/start", "Hi there"]
        assert snapshot[1][1]["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
        assert snapshot[1][1]["buttons"] == [[{"text": "OK", "data": "ok"}]]

        await page.bot(
            "editMessageText", chat_id=5001, message_id=hello["message_id"], text="Edited"
        )
        [(kind, edited)] = await read_events(resp, 1)
        assert kind == "message" and edited["id"] == hello["message_id"]
        assert edited["edited"] and edited["text"] == "Edited" and edited["buttons"] == []
        status, refused = await page.post("/api/press", {**me, "message_id": hello["message_id"], "data": "ok"})
        assert status == 400 and "no button" in refused["description"], refused  # it is gone
        await page.bot(  # the button back: only a button on the message can be pressed
            "editMessageReplyMarkup", chat_id=5001, message_id=hello["message_id"],
            reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
        )
        [(_, restored)] = await read_events(resp, 1)
        assert restored["buttons"] == [[{"text": "OK", "data": "ok"}]]

        _, pressed = await page.post(
            "/api/press", {**me, "message_id": hello["message_id"], "data": "ok"}
        )
        await page.bot("answerCallbackQuery", callback_query_id=pressed["callback_query_id"],
                       text="Not yours")
        [(kind, answer)] = await read_events(resp, 1)
        assert kind == "answer" and answer["text"] == "Not yours"


async def test_staff_group_topics_posts_presses_and_answers(page: Page) -> None:
    group = page.chat.create_staff_group()
    await page.bot("getMe")
    [listed] = (await page.get_json("/api/groups"))["groups"]
    assert listed["id"] == group.id and listed["is_forum"] and listed["topics"] == []
    assert listed["members"]["1001"] == "creator" and listed["members"]["1002"] == "member"
    assert listed["bot"]["status"] == "administrator" and listed["bot"]["can_manage_topics"]
    topic = await page.bot("createForumTopic", chat_id=group.id, name="SD-1 · printer")
    thread = topic["message_thread_id"]
    card = await page.bot(
        "sendMessage", chat_id=group.id, message_thread_id=thread, text="SD-1 card",
        reply_markup={"inline_keyboard": [[{"text": "Take", "callback_data": "take:1"}]]},
    )
    engineer = {"chat_id": group.id, "user_id": 1002, "first_name": "Eve"}
    status, sent = await page.post(
        "/api/groups/send", {**engineer, "message_thread_id": thread, "text": "on my way"}
    )
    assert status == 200, sent
    posted = group.messages[sent["message_id"]].data
    assert posted["message_thread_id"] == thread and posted["from"]["id"] == 1002
    status, _ = await page.post(
        "/api/groups/send", {**engineer, "user_id": 5001, "text": "a customer", "message_thread_id": thread}
    )
    assert status == 403  # not a member of the staff group
    status, _ = await page.post(
        "/api/groups/send", {**engineer, "message_thread_id": thread + 99, "text": "lost"}
    )
    assert status == 404
    async with page.http.get(page.chat.url + f"/api/groups/events?chat_id={group.id}") as resp:
        [(kind, topics)] = await read_events(resp, 1)
        assert kind == "topics" and topics["topics"][0]["name"] == "SD-1 · printer"
        assert topics["members"]["1002"] == "member"
        events = await read_events(resp, len(group.messages))
        shown = [e for e in events if e[1]["thread_id"] == thread]
        assert [e[1]["service"]["kind"] if e[1]["service"] else e[1]["text"] for e in shown] == [
            "forum_topic_created", "SD-1 card", "on my way"
        ]
        assert shown[2][1]["from"] == {"id": 1002, "first_name": "Eve"}
        _, pressed = await page.post(
            "/api/press", {**engineer, "message_id": card["message_id"], "data": "take:1"}
        )
        await page.bot("answerCallbackQuery", callback_query_id=pressed["callback_query_id"],
                       text="Taken")
        [(kind, answer)] = await read_events(resp, 1)
        assert kind == "answer" and answer["text"] == "Taken" and answer["user_id"] == 1002
        await page.bot("closeForumTopic", chat_id=group.id, message_thread_id=thread)
        got = dict(await read_events(resp, 2))
        assert got["topics"]["topics"][0]["closed"]
        assert got["message"]["service"]["kind"] == "forum_topic_closed"
    status, refused = await page.post(
        "/api/groups/send", {**engineer, "message_thread_id": thread, "text": "late"}
    )
    assert status == 403 and "closed" in refused["description"]


async def test_duty_hint_comes_from_the_callback_and_never_breaks_the_page() -> None:
    sandbox = SandboxServer(port=0)
    await sandbox.start()
    calls: list[str] = []

    async def on_duty() -> list[int]:
        calls.append("asked")
        if len(calls) > 1:
            raise RuntimeError("database gone")
        return [1002]

    chat = WebChat(sandbox, Clock(), port=0, on_duty=on_duty)
    await chat.start()
    try:
        async with aiohttp.ClientSession() as http:
            for expected in ([1002], []):
                async with http.get(chat.url + "/api/duty") as resp:
                    assert resp.status == 200
                    assert (await resp.json())["user_ids"] == expected
    finally:
        await chat.stop()
        await sandbox.stop()
    assert calls == ["asked", "asked"]


async def test_sdbot_run_without_token_serves_the_page_and_says_where(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(
        database_url=db_url, telegram_bot_token=None, sandbox_port=0, web_port=0
    )
    task = asyncio.create_task(run(settings))
    out = ""
    for _ in range(200):
        out += capsys.readouterr().out
        if "in your browser" in out or task.done():
            break
        await asyncio.sleep(0.05)
    try:
        last = out.strip().splitlines()[-1]
        match = re.fullmatch(r"Open (http://127\.0\.0\.1:\d+) in your browser .*", last)
        assert match, out
        async with aiohttp.ClientSession() as http:
            async with http.get(match[1] + "/") as resp:
                assert resp.status == 200 and "web chat" in await resp.text()
            async with http.get(match[1] + "/api/personas") as resp:
                assert (await resp.json())["customers"][0]["user_id"] == 5001
            async with http.get(match[1] + "/api/groups") as resp:  # the demo's staff group
                [group] = (await resp.json())["groups"]
        assert group["title"] == STAFF_GROUP_TITLE and group["is_forum"]
        assert group["bot"]["status"] == "administrator" and group["bot"]["can_manage_topics"]
        assert f'"{STAFF_GROUP_TITLE}"' in out
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
