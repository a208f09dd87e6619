"""Fuzzing with Hypothesis: generated updates against every handler and conversation state.

Each example is a short sequence of generated updates from one user of a generated kind (a new
customer, a customer in the middle of a report, an engineer holding a ticket, the supervisor):
texts of any Unicode from 0 to 10,000 characters, photos without a caption, stickers, other
people's contacts, edits of earlier messages, unknown commands, and button presses with forged,
replayed or wrong-role callback data. After each example:

* no update failed (an unhandled exception marks the inbox row ``failed``);
* no reply was over Telegram's limits (the sandbox refuses those with a 400: no 400 answered, no
  outbox row given up as dead);
* no state corruption: conversation rows name a known flow with a dict of data, every ticket
  still has its number, reporter and status, and the user still gets an answer to /cancel.

Small by default; ``FUZZ_EXAMPLES=500 pytest tests/security/test_fuzz.py`` runs longer.
"""

from __future__ import annotations

import asyncio
import base64
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.sandbox.state import TINY_PNG
from storage.models import Conversation, InboxUpdate, OutboxMessage, Ticket
from tests.harness import Harness
from tests.support.flows import report_verified

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
PNG = base64.b64encode(TINY_PNG).decode()
PREFIXES = ["rp:eq:", "rp:sev:", "rp:submit", "rp:cust:", "rp:cat:", "rp:field:", "rp:edit", "rp:cancel",
            "rp:hint", "dp:ack:", "dp:contact:", "dp:resolve:", "wk:kind:", "sw:ok:", "sw:no:",
            "tk:cancel:", "lang:", "rl:msg:", "rl:note:", "rl:reply:", "rl:send:", ""]
ROLES = {"new": None, "reporting": None, "engineer": 1001, "supervisor": 2001}

texts = st.one_of(
    st.text(max_size=10_000),
    st.text(max_size=80),
    st.sampled_from(["C1001", "王小明", "录像机没有画面，所有摄像头黑屏", "/report", "/start", "/cancel",
                     "/help", "/lang", "/my", "保修多久？", "English", "中文"]),
)
commands = st.from_regex(r"\A/[a-zA-Z_]{1,30}(@sdbot)?( .{0,40})?\Z", fullmatch=True)
callback = st.one_of(
    st.builds(lambda p, s: (p + s)[:64], st.sampled_from(PREFIXES),
              st.one_of(st.integers(-10, 10**15).map(str), st.text(max_size=20))),
    st.text(max_size=80),
)
action = st.one_of(
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("text"), commands),
    st.tuples(st.just("photo"), st.text(max_size=0)),
    st.tuples(st.just("sticker"), st.just("")),
    st.tuples(st.just("contact"), st.sampled_from(["+8613800000001", "+8613900000101", "12345", "+1 555"])),
    st.tuples(st.just("edit"), st.text(min_size=1, max_size=5000)),
    st.tuples(st.just("press"), callback),
    st.tuples(st.just("replay"), st.just("")),
)


async def _perform(h: Harness, uid: int, kind: str, arg: str, mine: list[int]) -> None:
    """One generated update from ``uid`` (errors of the control API itself are not the bot's)."""
    base = {"user_id": uid, "language_code": "zh", "first_name": "Fuzz"}
    if kind == "text":
        body = {**base, "text": arg} if arg else {**base, "sticker": True}
        mine.append((await h.post("/sandbox/send", body))["message_id"])
    elif kind == "photo":
        mine.append((await h.post("/sandbox/send", {**base, "photo": PNG}))["message_id"])
    elif kind == "sticker":
        await h.post("/sandbox/send", {**base, "sticker": True})
    elif kind == "contact":  # someone else's card (another user id, or none at all)
        other = {"phone_number": arg, "first_name": "Other", "user_id": uid + 1 if len(arg) % 2 else None}
        await h.post("/sandbox/send", {**base, "contact": other})
    elif kind == "edit" and mine:
        await h.post("/sandbox/edit", {"user_id": uid, "message_id": mine[-1], "text": arg})
    elif kind in ("press", "replay"):
        msgs = (await h.get("/sandbox/messages", user_id=uid, since=0))["messages"]
        bot_msgs = [m for m in msgs if not m.get("from_user")]
        if not bot_msgs:  # nothing to press yet: Telegram has no button to send a query from
            return
        target = bot_msgs[len(arg) % len(bot_msgs)]
        data = arg
        if kind == "replay":  # a real button of an earlier message, pressed (again)
            real = [b["data"] for m in bot_msgs for row in m.get("buttons") or [] for b in row if b.get("data")]
            data = real[0] if real else "rp:submit"
        await h.post("/sandbox/press",  # fuzzed data is forged: no such button was shown
                     {"user_id": uid, "message_id": target["id"], "data": data, "forge": True})


async def _quiet(h: Harness, limit: float = 20.0) -> None:
    """Until every update is processed and every outbox row is finished."""
    assert h.app is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while loop.time() < deadline:
        stats = await h.get("/sandbox/stats")
        async with h.app.db.read() as s:
            inbox = await s.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending"))
            outbox = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.status == "pending"))
        if not stats["pending_updates"] and not inbox and not outbox:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not settle")


async def _check_invariants(h: Harness, uid: int) -> None:
    assert h.app is not None
    async with h.app.db.read() as s:
        failed = await s.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "failed"))
        dead = (await s.execute(select(OutboxMessage.method, OutboxMessage.last_error).where(
            OutboxMessage.status == "dead"))).all()
        convs = (await s.scalars(select(Conversation))).all()
        tickets = (await s.scalars(select(Ticket))).all()
    assert failed == 0, "an update raised (inbox row failed)"
    assert dead == [], f"replies refused by the Bot API: {dead}"
    stats = await h.get("/sandbox/stats")
    assert not stats["errors"].get("400"), f"a reply over Telegram's limits: {stats['errors']}"
    for c in convs:
        assert c.flow and c.step and isinstance(c.data, dict), (c.flow, c.step, c.data)
    for t in tickets:
        assert t.number.startswith("SD-") and t.reporter_user_id and t.status
    msgs = (await h.get("/sandbox/messages", user_id=uid, since=0))["messages"]
    seen = max((m["id"] for m in msgs), default=0)
    await h.post("/sandbox/send", {"user_id": uid, "language_code": "zh", "first_name": "Fuzz", "text": "/cancel"})
    await _quiet(h)
    after = (await h.get("/sandbox/messages", user_id=uid, since=seen))["messages"]
    assert any(not m.get("from_user") for m in after), "no answer to /cancel after the fuzzed updates"


_next_user = iter(range(800_000, 900_000))
_greeted: set[int] = set()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("FUZZ_EXAMPLES"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(role=st.sampled_from(sorted(ROLES)), actions=st.lists(action, min_size=1, max_size=6))
async def test_generated_updates_break_nothing(bot: Harness, role: str, actions: list[tuple[str, str]]) -> None:
    if id(bot) not in _greeted:  # the staff open their chats once (dispatch cards need them)
        _greeted.add(id(bot))
        for staff in (1001, 1002, 1003, 2001):
            await bot.chat(staff, "zh").ask("/start")
    uid = ROLES[role] or next(_next_user)
    if role == "reporting":  # a customer who is in the middle of a report (the severity step)
        await h_report_until_severity(bot, uid)
    mine: list[int] = []
    for kind, arg in actions:
        await _perform(bot, uid, kind, arg, mine)
    await _quiet(bot)
    await _check_invariants(bot, uid)


async def h_report_until_severity(h: Harness, uid: int) -> None:
    """A verified customer has reported once (so tickets exist) and started a second report."""
    chat = h.chat(uid, "zh")
    await report_verified(chat, phone="+8613800000001")
    await chat.send("/report")
    await chat.read()

