"""End-to-end: customer questions in chat through the sandbox — answers, follow-ups, hand-overs."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Customer, TelegramUser, Ticket
from tests.harness import Harness
from tests.support.flows import button, read_until


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
    await chat.press(reply, text="转人工")
    (done,) = await chat.read()
    (ticket,) = await tickets_of(bot, 5103)
    assert ticket.number in done["text"] and ticket.severity == "question"
    assert "今天天气怎么样" in ticket.symptom and not ticket.complaint
    await chat.press(reply, "qa:human")  # a second press does not open a second ticket
    assert "失效" in (await chat.read())[0]["text"]
    assert len(await tickets_of(bot, 5103)) == 1


async def test_typed_human_and_complaint_open_tickets(bot: Harness) -> None:
    chat = bot.chat(5104, "en")
    reply = await chat.ask("Let me talk to a human")
    (ticket,) = await tickets_of(bot, 5104)
    assert ticket.number in reply["text"] and not ticket.complaint
    again = await chat.ask("human please, real person")  # asking again does not open another
    assert ticket.number in again["text"] and "already" in again["text"]
    assert len(await tickets_of(bot, 5104)) == 1
    supervisor = bot.chat(2001, "zh")  # the demo supervisor has talked to the bot before
    await supervisor.ask("/start")
    chat2 = bot.chat(5105, "zh")
    reply = await chat2.ask("我要投诉你们的工程师")
    (ticket,) = await tickets_of(bot, 5105)
    assert ticket.number in reply["text"] and ticket.complaint and "投诉" in reply["text"]
    alerts = await read_until(supervisor, ticket.number)
    assert any("投诉" in m["text"] or "complaint" in m["text"] for m in alerts)


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
    await chat.press(reply, "qa:v:suburb", forge=True)  # no follow-up pending
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


def shipped_policy() -> dict:
    """The shipped policy file as plain TOML (expected numbers come from it, not from the code)."""
    import tomllib

    from bot.rules.policy import DEFAULT_POLICY

    return tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))


def annual_price(policy: dict, item: str, count: int) -> int:
    for row in policy["fees"]["annual"]:
        if row["item"] == item and row.get("min", 1) <= count <= row.get("max", 10**9):
            return row["price"]
    raise AssertionError(item)


async def test_question_in_chinese_gets_amounts_clauses_and_buttons(bot: Harness) -> None:
    reply = await bot.chat(5110, "zh").ask("12台交换机一年维护费多少")
    price = annual_price(shipped_policy(), "switch", 12)
    assert f"12 × {price} 元 = {12 * price} 元" in reply["text"]
    assert "依据条款" in reply["text"] and "fee.annual.switch_11_plus" in reply["text"]
    assert {"qa:report", "qa:human"} <= set(datas(reply))


async def test_traditional_question_is_answered_in_traditional(bot: Harness) -> None:
    reply = await bot.chat(5111, "zh-hant").ask("南山上門一次多少錢")
    first = shipped_policy()["fees"]["onsite"]["city"]["first_visit"]
    assert f"{first} 元" in reply["text"] and "上門服務費" in reply["text"]


async def test_english_follow_up_with_buttons_then_answer(bot: Harness) -> None:
    chat = bot.chat(5112, "en")
    ask = await chat.ask("How much is an on-site visit?")
    assert {"qa:v:city", "qa:v:suburb", "qa:human"} <= set(datas(ask))
    await chat.press(ask, "qa:v:suburb")
    (answer,) = await chat.read()
    first = shipped_policy()["fees"]["onsite"]["suburb"]["first_visit"]
    assert f"CNY {first}" in answer["text"] and "fee.onsite.suburb" in answer["text"]
    assert "qa:human" in datas(answer)
    await chat.press(ask, "qa:v:city")  # the follow-up was answered: the old button is stale
    assert "expired" in (await chat.read())[0]["text"]


async def test_typed_reply_to_a_follow_up(bot: Harness) -> None:
    chat = bot.chat(5113, "zh")
    ask = await chat.ask("交换机年维护费多少")
    assert "qa:v:5" in datas(ask)
    reply = await chat.ask("１２台")
    price = annual_price(shipped_policy(), "switch", 12)
    assert f"{12 * price} 元" in reply["text"]


async def test_own_equipment_only_for_a_verified_customer(bot: Harness) -> None:
    chat = bot.chat(5114, "zh")
    unverified = await chat.ask("我的设备还在保修期内吗")
    assert "NVR-2025-0001" not in unverified["text"] and "日期" in unverified["text"]
    await chat.send("/cancel")
    await chat.read()
    await link_customer(bot, 5114, "C1001")
    reply = await chat.ask("我的设备还在保修期内吗")
    assert "NVR-2025-0001" in reply["text"] and "SW-2024-0033" in reply["text"]
    assert "warranty.repair" in reply["text"]


async def test_question_in_the_middle_of_a_report_is_answered_then_the_report_goes_on(bot: Harness) -> None:
    chat = bot.chat(5115, "zh")
    await chat.send("/report")
    await read_until(chat, "客户编号")
    await chat.send("南山上门一次多少钱")
    got = await read_until(chat, "客户编号")
    first = shipped_policy()["fees"]["onsite"]["city"]["first_visit"]
    answer = next(m["text"] for m in got if "上门服务费" in m["text"])
    assert f"{first} 元" in answer and "<b>" not in answer  # HTML rendered, not escaped


async def test_a_new_question_instead_of_the_follow_up_answer_is_answered(bot: Harness) -> None:
    chat = bot.chat(5116, "zh")
    ask = await chat.ask("上门维修怎么收费")
    assert "qa:v:city" in datas(ask)
    reply = await chat.ask("保修期多久？")
    assert "保修" in reply["text"] and "warranty.repair" in reply["text"]


async def test_why_button_shows_the_clauses_with_wording_and_source(bot: Harness) -> None:
    chat = bot.chat(5120, "zh")
    reply = await chat.ask("福田，三位工程师上门一天多少钱")
    first = shipped_policy()["fees"]["onsite"]["city"]["first_visit"]
    assert reply["text"].startswith("📋") and "3 位工程师" in reply["text"]  # what it read, first
    assert f"3 × {first} 元 = {3 * first} 元" in reply["text"]
    await chat.press(reply, button(reply, "qa:why:"))
    (why,) = await chat.read()
    assert "fee.onsite.city" in why["text"] and "S4" in why["text"]
    assert f"{first}元" in why["text"]  # the policy wording, with its number filled in
    later = await chat.ask("代购5万元的设备，服务费多少")  # another computed answer, other clauses
    assert button(later, "qa:why:") != button(reply, "qa:why:")
    await chat.press(reply, button(reply, "qa:why:"))  # the older answer's button: its own clauses
    (again,) = await chat.read()
    assert again["text"] == why["text"]


async def test_why_button_is_refused_without_an_answer_to_explain(bot: Harness) -> None:
    chat = bot.chat(5121, "en")
    reply = await chat.ask("tell me a joke")
    assert not [d for d in datas(reply) if d.startswith("qa:why")]  # nothing computed, nothing to explain
    await chat.press(reply["id"], "qa:why:00000000", forge=True)  # not on the keyboard: forged
    assert "expired" in (await chat.read())[0]["text"]


async def test_two_amounts_ask_which_one_with_buttons(bot: Harness) -> None:
    chat = bot.chat(5122, "zh")
    ask = await chat.ask("代购5万和8万两批设备，服务费多少")
    assert {"qa:v:50000", "qa:v:80000"} <= set(datas(ask)) and "元" in ask["text"]
    await chat.press(ask["id"], "qa:v:99999", forge=True)  # not one of the amounts offered
    assert "失效" in (await chat.read())[0]["text"]
    await chat.press(ask, "qa:v:80000")
    (answer,) = await chat.read()
    pct = shipped_policy()["fees"]["proxy_pct"]
    assert f"{80000 * pct // 100} 元" in answer["text"] and "80,000 元" in answer["text"]
