"""Security audit, output: logs never carry the bot token or full phone numbers, and HTML or
template syntax typed by customers (or in staff names) is shown literally in every message."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.logs import setup_logging
from storage.models import Staff
from tests.harness import TOKEN, Harness
from tests.support.securitykit import (
    ADMIN,
    ENGINEER,
    ENGINEER2,
    ENGINEER3,
    PHONE_A,
    SUPERVISOR,
    dispatch_card,
    make_ticket,
    press_answered,
    replies,
)

PHONES = (PHONE_A, PHONE_A.removeprefix("+86"), "13800000011", "+86 138 0000 0002", "138-0000-0003",
          "13800000021", "+8613800000031", "8613800000001", "008613800000001")


@pytest.fixture
def production_logs(caplog: pytest.LogCaptureFixture) -> Any:
    """The production logging set-up at DEBUG (every library too), captured by caplog behind it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "aiohttp.access", "telegram")}
    setup_logging("DEBUG", secrets=[TOKEN])
    stream = io.StringIO()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    root.addHandler(caplog.handler)  # after the production handler: it sees what was written
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, lvl in noisy.items():
            logging.getLogger(name).setLevel(lvl)


async def test_logs_never_carry_the_token_or_full_phone_numbers(
    bot: Harness, production_logs: io.StringIO, caplog: pytest.LogCaptureFixture, monkeypatch: Any
) -> None:
    customer = bot.chat(7040)
    await customer.ask("/start")
    for text in ("/report", "C1001"):
        await customer.send(text)
        await replies(customer)
    await customer.send(contact={"phone_number": PHONE_A})
    await replies(customer)
    await customer.send("王小明")
    await replies(customer)
    await customer.send("/cancel")
    await replies(customer)
    await customer.send(f"请回电 {PHONES[1]}，或者 {PHONES[3]}、{PHONES[4]}，备用 {PHONES[2]}")
    await replies(customer)
    await customer.send(f"电话{PHONES[5]}，手机{PHONES[6]}")  # written without spaces, as people do
    await replies(customer)
    await customer.send("/register ABCD-1234-EFGH")
    await replies(customer)
    for uid in (ENGINEER, ENGINEER2, ENGINEER3, SUPERVISOR):
        await bot.chat(uid).ask("/start")
    # an admin issues an invite code in chat; the new engineer registers with it
    invite = (await bot.chat(ADMIN).ask("/staff invite wang"))["text"]
    found = re.search(r"/register (\S+)", invite)
    assert found is not None, invite
    code = found.group(1)
    newcomer = bot.chat(7041)
    assert "王强" in (await newcomer.ask(f"/register {code}"))["text"]
    _, number = await make_ticket(bot, reporter=7040, symptom=f"监控黑屏，联系 {PHONES[1]}")
    await bot.chat(SUPERVISOR).ask(f"/ticket {number}")
    # a handler that fails with the token and a phone number in its error
    import handlers.base

    prompt = await customer.ask("/lang")  # a real button to press once the handler fails

    real = handlers.base.role_of

    def broken(user: Any) -> str:
        if user.id == 7040:
            raise RuntimeError(f"boom {bot.sandbox.bot_base_url}{TOKEN}/sendMessage for {PHONE_A}")
        return real(user)

    monkeypatch.setattr(handlers.base, "role_of", broken)
    await customer.ask("/help")
    await press_answered(bot, customer, prompt["id"], "lang:en")
    await customer.send("/help")
    await replies(customer)
    monkeypatch.setattr(handlers.base, "role_of", real)

    written = production_logs.getvalue()
    captured = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert len(caplog.records) > 50 and "DEBUG" in written and "boom" in written
    assert "<redacted>" in written  # the token was there (Bot API URLs) and was taken out
    secret = TOKEN.split(":", 1)[1]
    for text in (written, captured):
        assert TOKEN not in text and secret not in text
        leaked = [text[max(0, text.find(p) - 300):text.find(p) + 40] for p in PHONES if p in text]
        assert leaked == [], leaked
        assert "138****0001" in text  # phone numbers are logged masked, not dropped silently
        for typed in ("ABCD-1234-EFGH", code):  # invite codes: typed to /register, shown to the admin
            at = text.find(typed)
            assert at < 0, text[max(0, at - 300):at + 50]


async def test_html_and_template_syntax_is_shown_literally_to_staff_and_customers(bot: Harness) -> None:
    name = '<b>Bob</b> & "Co" <script>alert(1)</script>'
    symptom = "<i>fire</i> & smoke <a href='http://evil.example'>click</a> {{ 7*7 }} {% if 1 %}x{% endif %}"
    equipment = "<u>NVR</u> &amp; <tg-spoiler>cam</tg-spoiler>"
    resolution = "<code>replaced</code> the <pre>PSU</pre> & fixed"
    assert bot.app is not None
    async with bot.app.db.write() as s:
        for staff in (await s.scalars(select(Staff).where(Staff.role == "engineer"))).all():
            staff.name = f"<b>{staff.name}</b>&"
    engineers = {uid: bot.chat(uid) for uid in (ENGINEER, ENGINEER2, ENGINEER3)}
    customer, supervisor = bot.chat(7050), bot.chat(SUPERVISOR)
    for chat in (*engineers.values(), customer, supervisor):
        await chat.ask("/start")

    # the customer's own typing during a report: echoed literally
    seen: list[str] = []
    for text in ("/report", name, name[:50]):
        await customer.send(text)
        seen += [m.get("text") or "" for m in await replies(customer)]
    assert any(name[:50] in t for t in seen), seen

    ticket_id, number = await make_ticket(bot, reporter=7050, reporter_name=name, symptom=symptom,
                                          equipment_label=equipment)
    holder, card = await dispatch_card(bot, engineers.values(), number)
    engineer = engineers[holder]
    staff_view = [card.get("text") or ""]
    assert name in staff_view[0] and symptom in staff_view[0] and equipment in staff_view[0]
    shown = [m.get("text") or "" for m in await replies(customer, wait=1.0)]
    staff_view += texts_of(await press_answered(bot, engineer, card["id"], f"dp:ack:{ticket_id}"))
    staff_view += texts_of(await press_answered(bot, engineer, card["id"], f"dp:resolve:{ticket_id}"))
    await engineer.send(resolution)
    staff_view += texts_of(await replies(engineer))
    for text in (f"/ticket {number}", "/open", "/log"):
        await supervisor.send(text)
        staff_view += [m.get("text") or "" for m in await replies(supervisor, wait=8)]
    for text in (f"/ticket {number}", "/mytickets"):
        await customer.send(text)
        shown += [m.get("text") or "" for m in await replies(customer)]
    everything = "\n".join(staff_view + shown)
    assert symptom in "\n".join(shown) and symptom in "\n".join(staff_view)
    assert name in "\n".join(staff_view) and resolution in everything
    assert equipment in "\n".join(shown)
    assert "evil.example'>click" in everything
    assert any(f"<b>{n}</b>&" in everything for n in ("张伟", "李娜", "王强"))  # the engineer's name, literally


def texts_of(msgs: list[dict[str, Any]]) -> list[str]:
    return [m.get("text") or "" for m in msgs]
