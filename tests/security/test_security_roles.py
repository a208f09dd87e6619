"""Security audit, roles: every registered command and every button prefix, for every kind of user.

Refused commands get the not-allowed reply and change nothing; forged button data (other people's
ids, malformed, over-long, injection-like, wrong role) gets a polite reply, changes nothing, and
every press is answered.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import CallbackQueryHandler, CommandHandler

from tests.harness import Chat, Harness
from tests.support.securitykit import (
    ADMIN,
    ENGINEER,
    ENGINEER2,
    ENGINEER3,
    PHONE_A,
    SUPERVISOR,
    answers,
    diff,
    dispatch_card,
    dispatched_to,
    make_ticket,
    plain,
    press_answered,
    replies,
    snapshot,
    texts,
    verify,
)

ALL = {"unknown", "unverified", "customer", "engineer", "supervisor", "admin"}
CUSTOMERS = {"unknown", "unverified", "customer"}
STAFF = {"engineer", "supervisor", "admin"}
MANAGERS = {"supervisor", "admin"}

# command -> (who may use it, arguments that would change something if it were allowed)
COMMANDS: dict[str, tuple[set[str], str]] = {
    "start": (ALL, ""),
    "help": (ALL, ""),
    "lang": (ALL, ""),
    "cancel": (ALL, ""),
    "register": (ALL, "WRONGCODE"),
    "ticket": (CUSTOMERS | MANAGERS, "SD-2026-000001"),
    "verify": (MANAGERS, "SD-2026-000001 C1001"),
    "report": (CUSTOMERS, ""),
    "mytickets": (CUSTOMERS, ""),
    "whoami": (CUSTOMERS, ""),
    "unlink": (CUSTOMERS, ""),
    "log": (STAFF, ""),
    "oncall": (STAFF, ""),
    "myshifts": (STAFF, ""),
    "roster": (STAFF, "3"),
    "open": (MANAGERS, ""),
    "overdue": (MANAGERS, ""),
    "complaints": (MANAGERS, ""),
    "stats": (MANAGERS, ""),
    "export": (MANAGERS, ""),
    "chart": (MANAGERS, ""),
    "assign": (MANAGERS, "SD-2026-000001 zhang"),
    "merge": (MANAGERS, "SD-2026-000001 SD-2026-000002"),
    "cover": (MANAGERS, "zhang li 2026-12-01"),
    "swap": ({"engineer"}, "li 2026-12-01 2026-12-02"),
    "staff": ({"admin"}, "role zhang admin"),
    "calendar": ({"admin"}, "add 2027-02-20 workday"),
    "note": (STAFF, "SD-2026-000001 an internal note"),
}
STATEFUL_WHEN_ALLOWED = {"report", "unlink", "cover", "swap", "lang", "register", "assign", "merge"}


def registered(h: Harness) -> tuple[set[str], list[str]]:
    """Command names and callback patterns the application really registered."""
    assert h.app is not None and h.app.application is not None
    commands: set[str] = set()
    patterns: list[str] = []
    for group in h.app.application.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler):
                commands |= set(handler.commands)
            elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                patterns.append(handler.pattern.pattern)  # type: ignore[union-attr]
    return commands, patterns


async def people(h: Harness) -> dict[str, Chat]:
    """One chat per kind of user; the customers say hello (or verify) first."""
    chats = {
        "unknown": h.chat(7001),
        "unverified": h.chat(7002),
        "customer": h.chat(5001),
        "engineer": h.chat(ENGINEER),
        "supervisor": h.chat(SUPERVISOR),
        "admin": h.chat(ADMIN),
    }
    unverified = chats["unverified"]
    await unverified.send("/report")
    await replies(unverified)
    await unverified.send("C1001")  # typed, never proved
    await replies(unverified)
    await unverified.send("/cancel")
    await replies(unverified)
    await verify(h, chats["customer"], PHONE_A)
    for who in ("engineer", "supervisor", "admin"):
        await chats[who].ask("/start")
    for uid in (ENGINEER2, ENGINEER3):  # the other engineers on the roster open their chat too
        await h.chat(uid).ask("/start")
    await bot_quiet(chats)
    return chats


def _without_first_contact(before: dict, after: dict) -> dict:
    """``after`` minus tg_users rows that first contact created, if they carry no link or role."""
    known = {row[0] for row in before["tg_users"]}
    new = [row for row in after["tg_users"] if row[0] not in known]
    assert all(row[1:5] == ("None", "None", "None", "False") for row in new), new
    return {**after, "tg_users": [row for row in after["tg_users"] if row[0] in known]}


async def bot_quiet(chats: dict[str, Chat]) -> None:
    """Drain whatever is still on its way to these chats."""
    for chat in chats.values():
        await replies(chat, wait=0.3)


async def test_every_command_is_enforced_for_every_role(bot: Harness) -> None:
    await bot.stop()
    await bot.start(flood_max_messages=1000)
    commands, _ = registered(bot)
    assert commands == set(COMMANDS), f"matrix out of date: {commands ^ set(COMMANDS)}"
    chats = await people(bot)
    not_allowed = plain("common/not_allowed")

    async def refusals(who: str, chat: Chat) -> int:
        count = 0
        for name, (roles, args) in COMMANDS.items():
            if who in roles:
                continue
            before = await snapshot(bot)
            await chat.send(f"/{name} {args}".strip())
            got = [m.get("text") for m in await replies(chat, quiet=0.2)]
            assert got == [not_allowed], f"/{name} as {who}: {got}"
            assert diff(before, _without_first_contact(before, await snapshot(bot))) == [], f"/{name} as {who}"
            count += 1
        return count

    async def uses(who: str, chat: Chat) -> int:
        count = 0
        for name, (roles, _args) in COMMANDS.items():
            if who not in roles or name in STATEFUL_WHEN_ALLOWED:
                continue
            await chat.send(f"/{name}")
            got = [m.get("text") for m in await replies(chat, wait=10)]
            assert got and not_allowed not in got, f"/{name} as {who}: {got}"
            assert plain("common/error") not in got, f"/{name} as {who} crashed"
            count += 1
        return count

    # users side by side (chats are processed concurrently); a refused command changes nothing at all,
    # so a snapshot taken around one user's command also sees any change another's refusal made
    refused = sum(await asyncio.gather(*(refusals(who, chat) for who, chat in chats.items())))
    allowed = sum(await asyncio.gather(*(uses(who, chat) for who, chat in chats.items())))
    assert refused >= 60 and allowed >= 50


async def test_every_button_prefix_refuses_forged_data(bot: Harness) -> None:
    await bot.stop()
    await bot.start(flood_max_messages=1000)
    _, patterns = registered(bot)
    prefixes = {p.lstrip("^") for p in patterns}
    assert prefixes == {"lang:", "rp:", "tk:cancel:", "rt:", "qa:", "sr:", "dp:", "wk:kind:", "sw:", "fu:", "sv:pg:", "as:", "dup:",
                        "rl:"}
    chats = await people(bot)
    # a ticket of the verified customer, dispatched (buttons carry its id and number)
    ticket_id, number = await make_ticket(bot, reporter=5001)
    holder = await dispatched_to(bot, [chats["engineer"], bot.chat(ENGINEER2), bot.chat(ENGINEER3)], number)
    await bot_quiet(chats)
    long_id = "9" * 60
    forged: dict[str, list[str]] = {
        "lang:": ["lang:", "lang:fr", "lang:zh:extra", "lang:" + "x" * 58, "lang:<b>zh</b>"],
        "rp:": ["rp:", "rp:submit", "rp:cust:1", "rp:eq:1", "rp:eq:-1", f"rp:eq:{long_id}", "rp:sev:down",
                "rp:field:customer", "rp:cat:cctv", "rp:cancel", "rp:hint", "rp:same", "rp:other", "rp:cust:1 OR 1=1", "rp:::::"],
        "tk:cancel:": [f"tk:cancel:{number}", "tk:cancel:", "tk:cancel:SD-2026-999999", "tk:cancel:' OR '1'='1",
                       f"tk:cancel:{'A' * 54}", "tk:cancel:%"],
        "rt:": [f"rt:{ticket_id}:satisfied", f"rt:{ticket_id}:", "rt:x:satisfied", f"rt:{long_id}:satisfied",
                f"rt:{ticket_id}:__class__", "rt:-1:satisfied", "rt:", "rt:\u00b2:satisfied", "rt:\u0661:satisfied"],
        "qa:": ["qa:v:city", "qa:human", "qa:v:", "qa:v:<script>", "qa:" + "v" * 61, "qa:nothing"],
        "sr:": [f"sr:{ticket_id}", "sr:", "sr:abc", f"sr:{long_id}", "sr:-5", "sr:1;DROP TABLE tickets", "sr:\u00b2", "sr:\u0661"],
        "dp:": [f"dp:ack:{ticket_id}", f"dp:resolve:{ticket_id}", f"dp:contact:{ticket_id}",
                f"dp:handover:{ticket_id}", "dp:ack:", "dp:ack:0", f"dp:ack:{long_id}", "dp:delete:1",
                "dp:ack:1 OR 1=1", f"dp:ack:{ticket_id}:x", "dp:ack:\u00b2", "dp:resolve:\u0661"],
        "wk:kind:": ["wk:kind:phone", "wk:kind:", "wk:kind:teleport", "wk:kind:" + "p" * 56],
        "sw:": ["sw:ok:1", "sw:no:1", "sw:ok:", f"sw:ok:{long_id}", "sw:maybe:1", "sw:ok:1;1", "sw:ok:\u00b2"],
        "fu:": [f"fu:reopen:{ticket_id}", f"fu:no:{ticket_id}", "fu:reopen:", f"fu:reopen:{long_id}", "fu:x:1", "fu:reopen:\u00b2"],
        "as:": [f"as:menu:{ticket_id}", f"as:to:{ticket_id}:1", "as:menu:", f"as:menu:{long_id}", "as:to:1",
                f"as:to:{ticket_id}:x", "as:menu:\u00b2", "as:delete:1", f"as:to:{ticket_id}:{long_id}"],
        "rl:": [f"rl:msg:{ticket_id}", f"rl:canned:{ticket_id}", f"rl:note:{ticket_id}", f"rl:reply:{ticket_id}",
                f"rl:send:{ticket_id}:restart", "rl:msg:", f"rl:msg:{long_id}", "rl:delete:1", f"rl:send:{ticket_id}:Restart",
                f"rl:send:{ticket_id}:../x", "rl:reply:\u00b2", f"rl:note:{ticket_id}:x"],
        "sv:pg:": ["sv:pg:1:0", "sv:pg:1:-1", "sv:pg:x:y", f"sv:pg:{long_id}:0", "sv:pg:", "sv:pg:\u00b2:0"],
        "dup:": [f"dup:diff:{ticket_id}", "dup:diff:", "dup:diff:0", f"dup:diff:{long_id}", "dup:diff:\u00b2",
                 "dup:same:1", f"dup:diff:{ticket_id}:x"],
        "": ["", "zz:1", "x" * 64, "<b>hi</b>", "\u202e\u0000", "{{7*7}}"],
    }
    assert set(forged) - {""} == prefixes
    stale_like = {
        plain(n) for n in ("common/stale_button", "common/not_allowed", "report/text#stale",
                           "dispatch/text#not_found")
    }
    stale_like.add(plain("tickets/text#not_found", number="SD-2026-999999"))
    error = plain("common/error")
    async def forge(who: str, chat: Chat, msg_id: int) -> int:
        """Every forged press of one user on one of the bot's messages; returns how many were checked."""
        checked = 0
        for datas in forged.values():
            for data in datas:
                mine = data in (f"dp:ack:{ticket_id}", f"dp:handover:{ticket_id}")
                if holder == ENGINEER and who == "engineer" and mine:
                    continue  # the ticket was dispatched to this engineer: a legitimate press
                if who in MANAGERS and data == f"dp:ack:{ticket_id}":
                    continue  # supervisors and admins may take any ticket (bot/dispatch/routing.py acknowledge)
                if who == "customer" and data.startswith("tk:cancel:" + number):
                    continue  # the reporter may cancel their own ticket
                own = who == "customer" and data in (f"fu:no:{ticket_id}", f"fu:reopen:{ticket_id}",
                                                     f"rt:{ticket_id}:satisfied", f"sr:{ticket_id}",
                                                     "rp:submit")  # "already submitted: <own ticket>"
                msgs = await press_answered(bot, chat, msg_id, data, forge=True)
                got = [m.get("text") or "" for m in msgs]
                assert error not in got, f"{data!r} by {who} crashed the handler"
                assert got, f"{data!r} by {who}: no reply at all"
                # customers get a refusal; staff may get a domain answer (e.g. "swap already answered")
                polite = own or who in STAFF or all(
                    t in stale_like or t.startswith(_first_line_of_not_yours()) or _is_not_found(t) for t in got
                )
                assert polite, f"{data!r} by {who}: {got}"
                checked += 1
        return checked

    msg_ids = {who: (await chat.ask("/help"))["id"] for who, chat in chats.items()}
    await bot_quiet(chats)
    before = await snapshot(bot)
    # the users press side by side (different chats are processed concurrently, as in production)
    checked = sum(await asyncio.gather(*(forge(who, chat, msg_ids[who]) for who, chat in chats.items())))
    assert diff(before, await snapshot(bot)) == [], "a forged press changed state (run users one by one to see who)"
    assert checked > 300
    for chat in chats.values():
        assert len(await answers(bot, chat.user_id)) > 50


def _first_line_of_not_yours() -> str:
    return plain("work/text#not_yours", number="@@").split("@@")[0]


def _is_not_found(text: str) -> bool:
    head = plain("tickets/text#not_found", number="@@").split("@@")[0]
    return text.startswith(head)


async def test_wrong_role_presses_with_valid_data(bot: Harness) -> None:
    """Valid button data pressed by the wrong kind of user: refused, nothing changes."""
    engineers = {uid: bot.chat(uid) for uid in (ENGINEER, ENGINEER2, ENGINEER3)}
    for chat in engineers.values():
        await chat.ask("/start")
    ticket_id, number = await make_ticket(bot, reporter=5001)
    holder, card = await dispatch_card(bot, engineers.values(), number)
    engineer = engineers[holder]
    other = next(c for uid, c in engineers.items() if uid != holder)
    customer = bot.chat(5001)
    await replies(customer, wait=1.0)
    msg, cmsg, emsg = (await other.ask("/help")), (await customer.ask("/help")), (await engineer.ask("/help"))
    before = await snapshot(bot)
    got = texts(await press_answered(bot, other, msg["id"], f"dp:resolve:{ticket_id}", forge=True))
    assert plain("work/text#not_yours", number=number) in got
    got = texts(await press_answered(bot, customer, cmsg["id"], f"dp:ack:{ticket_id}", forge=True))
    assert got == plain("common/not_allowed")
    got = texts(await press_answered(bot, engineer, emsg["id"], f"tk:cancel:{number}", forge=True))
    assert got == plain("common/not_allowed")
    assert diff(before, await snapshot(bot)) == []
    # the same data pressed on a message that is not that ticket's card: refused too
    got = texts(await press_answered(bot, engineer, emsg["id"], f"dp:ack:{ticket_id}", forge=True))
    assert plain("dispatch/text#ack_won", number=number) not in got
    assert diff(before, await snapshot(bot)) == []
    # the positive control: the engineer the ticket was dispatched to acknowledges it on its card
    got = texts(await press_answered(bot, engineer, card["id"], f"dp:ack:{ticket_id}"))
    assert plain("dispatch/text#ack_won", number=number) in got
    # once it is the holder's, another engineer still cannot work it, whatever they press
    before = await snapshot(bot)
    for action in ("contact", "resolve", "handover", "ack"):
        got = texts(await press_answered(bot, other, msg["id"], f"dp:{action}:{ticket_id}", forge=True))
        assert got.startswith(_first_line_of_not_yours()), (action, got)
    for data in (f"rl:msg:{ticket_id}", f"rl:canned:{ticket_id}", f"rl:note:{ticket_id}", f"rl:send:{ticket_id}:restart"):
        got = texts(await press_answered(bot, other, msg["id"], data, forge=True))  # nor write to its customer
        assert got == plain("relay/text#refused", reason="not_yours", number=number), (data, got)
    await replies(customer, wait=1.0)  # "taken by …"
    got = texts(await press_answered(bot, customer, cmsg["id"], f"rl:reply:{ticket_id}", forge=True))
    assert got.endswith(plain("common/stale_button"))  # the reporter, but not under a relayed message
    assert diff(before, await snapshot(bot)) == []



async def test_untrusted_numbers_in_command_arguments(bot: Harness) -> None:
    """Huge, negative and non-ASCII "digits" in arguments: a usage or refusal reply, never a crash."""
    await bot.stop()
    await bot.start(flood_max_messages=1000)
    supervisor, engineer, customer = bot.chat(SUPERVISOR), bot.chat(ENGINEER), bot.chat(5001)
    error = plain("common/error")
    cases = {
        supervisor: ["/roster \u00b2", "/roster 99999999999999999999999", "/cover cancel \u00b2",
                     "/cover cancel 99999999999999999999999", "/cover cancel -1", "/ticket " + "9" * 300,
                     "/log \u00b2", "/stats 9999-99", "/export \u00b2\u00b2", "/chart 0000-00"],
        engineer: ["/roster \u00b2", "/log 99999999999999999999999", "/swap li \u00b2 \u00b2"],
        customer: ["/ticket \u00b2", "/ticket " + "x" * 3000, "/lang \u00b2"],
    }
    for chat in cases:
        await chat.ask("/start")
    before = await snapshot(bot)
    for chat, commands in cases.items():
        for text in commands:
            await chat.send(text)
            got = [m.get("text") or "" for m in await replies(chat, wait=10)]
            assert got and error not in got, f"{text!r}: {got}"
    assert diff(before, await snapshot(bot)) in ([], ["conversations"])


async def test_oversized_equipment_id_in_a_running_report(bot: Harness) -> None:
    """At the equipment step of a verified customer: forged equipment ids are stale, not a crash."""
    await bot.stop()
    await bot.start(flood_max_messages=1000)
    chat = bot.chat(5001)
    await verify(bot, chat, PHONE_A)
    await chat.send("/report")
    got = await replies(chat)
    eq = next((m for m in got if "rp:eq:" in str(m.get("buttons"))), None)
    assert eq is not None, got
    before = await snapshot(bot)
    others = await _equipment_not_of(bot, "C1001")
    assert others
    for data in ("rp:eq:" + "9" * 58, "rp:eq:\u00b2", "rp:eq:-1", "rp:eq:0", "rp:eq:1e3", *(f"rp:eq:{i}" for i in others)):
        got = [m.get("text") for m in await press_answered(bot, chat, eq["id"], data, forge=True)]
        assert got == [plain("report/text#stale")], (data, got)
    assert diff(before, await snapshot(bot)) == []


async def test_a_press_whose_handler_fails_is_still_answered(bot: Harness, monkeypatch: Any) -> None:
    """A crash rolls back and apologises — and the button press is answered (no endless spinner)."""
    import handlers.base

    chat = bot.chat(7777)
    msg = await chat.ask("/lang")
    real = handlers.base.role_of

    def broken(user: Any) -> str:
        if user.id == 7777:
            raise RuntimeError("simulated failure")
        return real(user)

    monkeypatch.setattr(handlers.base, "role_of", broken)
    got = [m.get("text") for m in await press_answered(bot, chat, msg["id"], "lang:en")]
    assert got == [plain("common/error")]


async def _equipment_not_of(h: Harness, number: str) -> list[int]:
    """Ids of equipment registered to other customers than ``number``."""
    from sqlalchemy import select

    from storage.models import Customer, Equipment

    assert h.app is not None
    async with h.app.db.read() as s:
        cid = await s.scalar(select(Customer.id).where(Customer.number == number))
        return list((await s.scalars(select(Equipment.id).where(Equipment.customer_id != cid))).all())


async def test_button_presses_and_edits_count_against_the_flood_limit(harness: Harness) -> None:
    """Forged presses (and edits) are as easy to script as messages: the per-customer limit covers them."""
    await harness.start(flood_max_messages=5, flood_window_seconds=60)
    chat = harness.chat(5602)
    msg = await chat.ask("/start")
    for n in range(20):  # a burst of forged presses
        await chat.press(msg, f"zz:{n}", forge=True)
    mine = await chat.send("你好")
    for n in range(10):  # and edits of one's own message
        await harness.post("/sandbox/edit", {"user_id": chat.user_id, "message_id": mine["message_id"], "text": f"e{n}"})
    slow_down = plain("common/slow_down")
    got: list[str] = []
    for _ in range(20):
        got += [m.get("text") or "" for m in await chat.read(1.0)]
        if slow_down in got:
            break
    got += [m.get("text") or "" for m in await chat.quiet(1.0)]
    assert got.count(slow_down) == 1
    assert len(got) <= 5, got  # the limit (5, the /start included) minus one served, then one "slow down"


async def test_only_the_owner_turns_the_pages_of_a_report(bot: Harness) -> None:
    """``sv:pg:<set>:<n>`` of the supervisor's paged answer, pressed by anyone else: stale, no page shown."""
    from bot.reports import paging

    assert bot.app is not None
    secret_page = "第二页：只给主管看的内容 SECRET-PAGE"
    async with bot.app.db.write() as s:
        set_id = await paging.store(s, SUPERVISOR, ["第一页", secret_page], bot.clock.now())
    owner = bot.chat(SUPERVISOR)
    others = [bot.chat(uid) for uid in (ADMIN, ENGINEER, 5001, 7001)]
    for chat in (owner, *others):
        await chat.ask("/start")
    for chat in others:
        msg = await chat.ask("/help")
        got = await press_answered(bot, chat, msg["id"], f"sv:pg:{set_id}:1", forge=True)
        assert secret_page not in texts(got) and "SECRET-PAGE" not in str(got)
    msg = await owner.ask("/help")
    # positive control: the owner's page is shown (the same forged press, by the owner)
    await owner.press(msg, f"sv:pg:{set_id}:1", forge=True)
    got = await replies(owner)
    assert any("SECRET-PAGE" in (m.get("text") or "") for m in got), got
