"""Security audit, customers: nobody sees another customer's tickets, and a typed customer number
proves nothing — until the account is verified the bot reveals nothing registered about the
customer (equipment, contract, contacts, tickets), and someone else's contact does not verify."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Customer, TelegramUser, Ticket, TicketEvent
from tests.harness import Chat, Harness
from tests.support.securitykit import (
    PHONE_A,
    PHONE_B,
    diff,
    make_ticket,
    plain,
    press_answered,
    registered_secrets,
    replies,
    set_status,
    snapshot,
    texts,
    ticket_numbers,
    verify,
)


async def _user(h: Harness, user_id: int) -> TelegramUser:
    assert h.app is not None
    async with h.app.db.read() as s:
        row = await s.get(TelegramUser, user_id)
        assert row is not None
        return row


async def _events(h: Harness, ticket_id: int) -> list[str]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id))).all())


async def test_customer_b_cannot_touch_customer_a_ticket(bot: Harness) -> None:
    a, b = bot.chat(5001), bot.chat(5002)
    await verify(bot, a, PHONE_A)
    await verify(bot, b, PHONE_B)
    assert (await _user(bot, 5002)).verified
    ticket_id, number = await make_ticket(bot, reporter=5001, symptom="门口摄像头夜里全黑，无法录像")
    await replies(a, wait=1.0)

    before = await snapshot(bot)
    shown = texts(await _say(b, f"/ticket {number}"))
    assert shown == plain("tickets/text#not_found", number=number)
    listing = texts(await _say(b, "/mytickets"))
    assert number not in listing and "门口摄像头" not in listing
    help_id = (await b.ask("/help"))["id"]
    forged = [f"tk:cancel:{number}", f"tk:cancel:{number.lower()}", f"rt:{ticket_id}:satisfied",
              f"sr:{ticket_id}", f"fu:reopen:{ticket_id}", f"fu:no:{ticket_id}"]
    for status in ("dispatched", "resolved"):
        await set_status(bot, ticket_id, status)
        before = await snapshot(bot)
        for data in forged:
            got = texts(await press_answered(bot, b, help_id, data, forge=True))
            assert number not in got or got == plain("tickets/text#not_found", number=number), (data, got)
            assert "门口摄像头" not in got
        assert diff(before, await snapshot(bot)) == [], status
    # replying to a bot message that carries A's number (the "not found" answer) adds nothing to A's ticket
    not_found = (await b.ask(f"/ticket {number}"))
    await replies(b, wait=0.3)
    events_before = await _events(bot, ticket_id)
    before = await snapshot(bot)
    await b.send("故障又出现了，请尽快来", reply_to_message_id=not_found["id"])
    got = texts(await replies(b))
    assert "门口摄像头" not in got
    assert await _events(bot, ticket_id) == events_before
    assert diff(before, await snapshot(bot)) in ([], ["conversations"])  # a question may open the answerer

    # replying to A's bot message forwarded into B's chat (and even to a forged "bot" message): nothing added
    a_msg = {"message_id": 9001, "date": 1_790_000_000, "chat": {"id": 5002, "type": "private"},
             "text": f"工单 {number} 已处理完毕。", "from": {"id": 5002, "is_bot": False, "first_name": "B"},
             "forward_origin": {"type": "user", "date": 1_790_000_000,
                                "sender_user": {"id": 42, "is_bot": True, "first_name": "Desk"}}}
    forged_bot = {**a_msg, "message_id": 9002, "from": {"id": 42, "is_bot": True, "first_name": "Desk"}}
    forged_bot.pop("forward_origin")
    for n, target in enumerate((a_msg, forged_bot)):
        await bot.post("/sandbox/update", {"update": {"message": {
            "message_id": 9100 + n, "date": 1_790_000_000, "chat": {"id": 5002, "type": "private"},
            "from": {"id": 5002, "is_bot": False, "first_name": "B", "language_code": "zh"},
            "text": "同样的故障又出现了", "reply_to_message": target}}})
        got = texts(await replies(b))
        assert got  # the message was taken (as a question), not added to A's ticket
        assert "门口摄像头" not in got and plain("work/text#ask_reopen", number=number) not in got, got
    assert await _events(bot, ticket_id) == events_before

    # positive control: the reporter may do exactly these things
    mine = await a.ask(f"/ticket {number}")
    assert number in mine["text"] and "门口摄像头" in mine["text"]
    await replies(a, wait=0.3)
    await a.send("故障又出现了", reply_to_message_id=mine["id"])
    assert plain("work/text#ask_reopen", number=number) in texts(await replies(a))
    # (the rating button's data, pressed on the ticket's message: ownership decides, not the message)
    got = texts(await press_answered(bot, a, mine["id"], f"rt:{ticket_id}:satisfied", forge=True))
    assert plain("work/text#thanks_rating", number=number) in got
    assert "rating" in " ".join(await _events(bot, ticket_id)) or (await _status(bot, ticket_id)) == "closed"


async def _status(h: Harness, ticket_id: int) -> str:
    assert h.app is not None
    async with h.app.db.read() as s:
        row = await s.get(Ticket, ticket_id)
        assert row is not None
        return row.status


async def _say(chat: Chat, text: str) -> list[dict]:
    await chat.send(text)
    return await replies(chat)


async def _walk_unverified(chat: Chat, ident: str) -> str:
    """Identify by typing ``ident``, give a name, pick a category (never registered equipment)."""
    seen = texts(await _say(chat, "/report")) + "\n"
    got = await _say(chat, ident)
    seen += texts(got) + "\n"
    pick = [b["data"] for m in got for row in m.get("buttons") or [] for b in row if b["data"].startswith("rp:cust:")]
    if pick:
        await chat.press(got[-1], pick[0])
        seen += texts(await replies(chat)) + "\n"
    got = await _say(chat, "张三")
    seen += texts(got) + "\n"
    cat = next((m for m in got if "rp:cat:" in str(m.get("buttons"))), None)
    assert cat is not None, seen  # unverified: categories, never the registered equipment
    assert "rp:eq:" not in str([m.get("buttons") for m in got])
    await chat.press(cat, "rp:cat:cctv")
    return seen


async def _finish_report(chat: Chat) -> str:
    """After the category: device, symptom, severity, submit; every reply."""
    seen = texts(await replies(chat)) + "\n"
    seen += texts(await _say(chat, "大门口的录像机")) + "\n"
    got = await _say(chat, "录像机没有画面，所有摄像头黑屏")
    seen += texts(got) + "\n"
    await chat.press(got[-1], "rp:sev:down")
    got = await replies(chat)
    seen += texts(got) + "\n"
    await chat.press(got[-1], "rp:submit")
    seen += texts(await replies(chat, wait=8)) + "\n"
    assert "SD-" in seen, seen
    return seen


async def test_typed_customer_number_or_name_reveals_nothing_registered(bot: Harness) -> None:
    owner = bot.chat(5001)
    await verify(bot, owner, PHONE_A)
    await make_ticket(bot, reporter=5001)
    numbers = await ticket_numbers(bot, "C1001")
    assert numbers
    cases = {7010: ("C1001", True), 7011: ("c1001", True), 7012: ("深圳市华南物流有限公司", False),
             7013: ("华南物流", False), 7014: ("C1002", True)}
    for user_id, (ident, hide_name) in cases.items():
        number = "C1002" if ident == "C1002" else "C1001"
        chat = bot.chat(user_id)
        seen = await _walk_unverified(chat, ident)
        assert plain("report/text#ident_kept", typed=ident) in seen  # the same answer, registered or not
        seen += await _finish_report(chat)
        secrets = registered_secrets(number, with_name=hide_name) + (numbers if number == "C1001" else [])
        leaked = [s for s in secrets if s in seen]
        assert leaked == [], f"{ident!r} revealed {leaked}"
        assert not (await _user(bot, user_id)).verified
        # a policy question, /whoami and /mytickets after typing the number: still nothing registered
        more = texts(await _say(chat, "我的录像机还在保修期吗？"))
        more += texts(await _say(chat, "/whoami"))
        more += texts(await _say(chat, "/mytickets"))
        leaked = [s for s in registered_secrets(number, with_name=hide_name) if s in more and "区" not in s]
        assert leaked == [] and not any(n in more for n in numbers), (ident, leaked)


async def test_someone_elses_contact_does_not_verify(bot: Harness) -> None:
    chat = bot.chat(7020)
    await _say(chat, "/report")
    await _say(chat, "C1001")
    secrets = registered_secrets("C1001")
    for contact in ({"phone_number": PHONE_A, "user_id": 5001},  # a Telegram user's card
                    {"phone_number": PHONE_A, "user_id": None},  # an address-book card: no user id
                    {"phone_number": PHONE_A.lstrip("+"), "user_id": 4242, "first_name": "王小明"}):
        got = texts(await _contact(chat, contact))
        assert [s for s in secrets if s in got] == [], (contact, got)
        assert plain("report/text#phone_verified", customer="@@", name="@@").split("@@")[0] not in got
        user = await _user(bot, 7020)
        assert not user.verified and user.customer_id is None and user.contact_id is None, contact
    # the report is still taken: the next step asks for the name
    assert plain("report/text#ask_name", verified=False).splitlines()[0] in texts(await _contact(
        chat, {"phone_number": "+8613811112222"}))
    # positive control: one's own matching phone does verify
    own = bot.chat(7021)
    await _say(own, "/report")
    await _say(own, "C1001")
    got = texts(await _contact(own, {"phone_number": PHONE_A}))
    assert plain("report/text#phone_verified", customer="深圳市华南物流有限公司", name="王小明") in got
    assert (await _user(bot, 7021)).verified


async def _contact(chat: Chat, contact: dict) -> list[dict]:
    await chat.send(contact=contact)
    return await replies(chat)


async def test_a_customer_button_that_was_not_offered_is_stale(bot: Harness) -> None:
    """``rp:cust:<id>`` with an id that was not offered is stale; it never links the account."""
    chat = bot.chat(7030)
    await _say(chat, "/report")
    got = await _say(chat, "华南物流")
    msg_id = got[-1]["id"]
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ids = list((await s.scalars(select(Customer.id))).all())
    offered = {b["data"] for m in got for row in m.get("buttons") or [] for b in row}
    before = await snapshot(bot)
    for cid in ids:
        if f"rp:cust:{cid}" in offered:
            continue
        reply = texts(await press_answered(bot, chat, msg_id, f"rp:cust:{cid}", forge=True))
        assert reply == plain("report/text#stale")
    assert diff(before, await snapshot(bot)) == []


def _group_update(user_id: int, text: str, chat_id: int = -100500, message_id: int = 1) -> dict:
    """A message in a group chat the bot was added to (Telegram allows that unless BotFather forbids it)."""
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    return {"message": {
        "message_id": message_id, "date": 1_790_000_000, "text": text, "entities": entities,
        "chat": {"id": chat_id, "type": "supergroup", "title": "Everyone"},
        "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "zh"},
    }}


async def _outbox_texts(h: Harness, chat_id: int) -> str:
    from storage.models import OutboxMessage

    assert h.app is not None
    async with h.app.db.read() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id))).all()
    return "\n".join(str(r.payload) for r in rows)


async def test_group_chats_are_not_served(bot: Harness) -> None:
    """In a group everybody reads the bot's replies and shares one conversation: nothing is served there."""
    import asyncio

    a = bot.chat(5001)
    await verify(bot, a, PHONE_A)
    _, number = await make_ticket(bot, reporter=5001, symptom="门口摄像头夜里全黑，无法录像")
    for uid in (1001, 1002, 1003):
        await bot.chat(uid).ask("/start")
    before = await snapshot(bot)
    for n, (uid, text) in enumerate([(5001, "/mytickets"), (5001, f"/ticket {number}"), (5001, "/whoami"),
                                     (5001, "/report"), (2001, "/open"), (2001, f"/ticket {number}")]):
        await bot.post("/sandbox/update", {"update": _group_update(uid, text, message_id=100 + n)})
    await asyncio.sleep(2.0)
    sent = await _outbox_texts(bot, -100500)
    assert number not in sent and "门口摄像头" not in sent and "华南物流" not in sent, sent
    assert [s for s in registered_secrets("C1001") if s in sent] == []
    assert diff(before, await snapshot(bot)) == []  # no conversation opened in the group either
    assert sent.count(plain("common/private_only")) == 6  # each command is told to go private
