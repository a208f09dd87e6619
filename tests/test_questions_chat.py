"""End-to-end: customer questions in chat through the sandbox — answers, follow-ups, hand-overs."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Customer, TelegramUser, Ticket
from tests.flows import button, read_until
from tests.harness import Harness


def datas(msg: dict) -> list[str]:
    return [b["data"] for row in msg.get("buttons") or [] for b in row]


async def tickets_of(bot: Harness, user_id: int) -> list[Ticket]:
    db = Database(bot.db_url)
    try:
        async with db.read() as s:
            return list((await s.scalars(select(Ticket).where(Ticket.reporter_user_id == user_id))).all())
    finally:
        await db.dispose()


async def test_unclear_text_says_so_and_offers_a_person(bot: Harness) -> None:
    reply = await bot.chat(5101, "zh").ask("今天天气怎么样")
    assert "没能看懂" in reply["text"]
    assert "元" not in reply["text"]  # never a guessed amount
    assert {"qa:human", "qa:report"} <= set(datas(reply))
    en = await bot.chat(5102, "en").ask("tell me a joke")
    assert "did not understand" in en["text"] and "qa:human" in datas(en)


async def test_talk_to_a_person_button_creates_a_ticket(bot: Harness) -> None:
    chat = bot.chat(5103, "zh")
    reply = await chat.ask("今天天气怎么样")
    await chat.press(reply["id"], button(reply, "qa:human"))
    (done,) = await chat.read()
    (ticket,) = await tickets_of(bot, 5103)
    assert ticket.number in done["text"] and ticket.severity == "question"
    assert "今天天气怎么样" in ticket.symptom and not ticket.complaint
    await chat.press(reply["id"], "qa:human")  # a second press does not open a second ticket
    assert "失效" in (await chat.read())[0]["text"]
    assert len(await tickets_of(bot, 5103)) == 1


async def test_typed_human_and_complaint_open_tickets(bot: Harness) -> None:
    chat = bot.chat(5104, "en")
    reply = await chat.ask("Let me talk to a human")
    (ticket,) = await tickets_of(bot, 5104)
    assert ticket.number in reply["text"] and not ticket.complaint
    chat2 = bot.chat(5105, "zh")
    reply = await chat2.ask("我要投诉你们的工程师")
    (ticket,) = await tickets_of(bot, 5105)
    assert ticket.number in reply["text"] and ticket.complaint and "投诉" in reply["text"]


async def test_fault_description_starts_the_report(bot: Harness) -> None:
    chat = bot.chat(5106, "zh")
    await chat.send("录像机没画面了")
    got = await read_until(chat, "客户编号")
    assert "报修" in got[0]["text"]


async def test_staff_text_outside_flows_is_not_answered(bot: Harness) -> None:
    reply = await bot.chat(1001, "zh").ask("上门维修怎么收费")
    assert "qa:human" not in datas(reply)


async def test_forged_follow_up_button_is_refused(bot: Harness) -> None:
    chat = bot.chat(5107, "en")
    reply = await chat.ask("tell me a joke")
    await chat.press(reply["id"], "qa:v:suburb")  # no follow-up pending
    assert "expired" in (await chat.read())[0]["text"]


async def link_customer(bot: Harness, user_id: int, number: str) -> None:
    """Mark a sandbox user as a verified contact of customer ``number`` (as phone sharing does)."""
    db = Database(bot.db_url)
    try:
        async with db.write() as s:
            customer = await s.scalar(select(Customer).where(Customer.number == number))
            user = await s.get(TelegramUser, user_id)
            assert customer is not None and user is not None
            user.customer_id, user.verified = customer.id, True
    finally:
        await db.dispose()
