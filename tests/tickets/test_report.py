"""End-to-end: the fault report conversation through the sandbox with the real Application and DB.

Happy paths in Chinese and English, identification by number / name / phone, the unverified
customer, photos, a question in mid-flow, the confirmation's promise (from the shipped policy),
the complaint rule, /mytickets, /ticket, /whoami, /unlink and cancelling one's own ticket.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from bot.core.i18n import render
from bot.demo import DEMO_CUSTOMERS
from bot.rules import calculators as calc
from storage.models import (
    Conversation,
    Customer,
    Equipment,
    TelegramUser,
    Ticket,
    TicketEvent,
    Timer,
)
from tests.harness import Harness
from tests.support.flows import collect, datas, joined, report_verified, say, tap, to_summary, until

PHONE_A = "+8613800000001"  # 王小明 of C1001 (annual contract, paid up)


async def _tickets(h: Harness, user_id: int) -> list[Ticket]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(Ticket).where(Ticket.reporter_user_id == user_id)
                                     .order_by(Ticket.id))).all())


async def _events(h: Harness, ticket_id: int) -> list[str]:
    assert h.app is not None
    async with h.app.db.read() as s:
        return list((await s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id)
                                     .order_by(TicketEvent.id))).all())


async def _conversation(h: Harness, chat_id: int) -> Conversation | None:
    assert h.app is not None
    async with h.app.db.read() as s:
        return await s.get(Conversation, chat_id)


def _plain(template: str, locale: str = "zh", **ctx: Any) -> str:
    import re

    return re.sub(r"<[^>]+>", "", render(locale, template, **ctx))


def _secrets(number: str, *, with_name: bool = True) -> list[str]:
    """What an unverified reporter must not be shown about demo customer ``number``."""
    c = next(c for c in DEMO_CUSTOMERS if c["number"] == number)
    found = [c["address"], *(n for n, _ in c["contacts"]), *(p for _, p in c["contacts"])]
    found += [x for serial, model, *_ in c["equipment"] for x in (serial, model)]
    return found + ([c["name"]] if with_name else [])


async def test_happy_path_zh_verified_by_phone(bot: Harness) -> None:
    chat = bot.chat(5101)
    done = joined(await report_verified(chat, phone=PHONE_A))
    [ticket] = await _tickets(bot, 5101)
    assert ticket.number.startswith("SD-2026-") and ticket.number in done
    assert ticket.verified and ticket.customer_label == "深圳市华南物流有限公司" and ticket.equipment_id
    assert ticket.severity == "down" and ticket.symptom == "录像机没有画面，所有摄像头黑屏"
    policy = bot.app.desk.policy  # type: ignore[union-attr]
    assert f"{policy.sla.first_response_hours} 小时内响应" in done
    assert f"{policy.sla.onsite_city_hours} 小时内到场" in done  # C1001 is in the city
    # first registered equipment: NVR accepted 2025-03-15, a project → still in warranty → free
    stage = calc.warranty_stage(policy, "project", "acceptance", dt.date(2025, 3, 15), dt.date(2026, 11, 23))
    assert stage.stage == "repair" and stage.warranty_end.isoformat() in done
    assert "上门服务免费" in done
    assert ticket.first_response_due == ticket.created_at + dt.timedelta(hours=policy.sla.first_response_hours)
    events = await _events(bot, ticket.id)
    assert events[0] == "created" and "dispatched" in events  # handed to dispatch in the same unit
    assert ticket.status == "dispatched"
    assert await _conversation(bot, 5101) is None
    user = await _user(bot, 5101)
    assert user.verified and user.customer_id == ticket.customer_id  # the link is remembered


async def _user(h: Harness, user_id: int) -> TelegramUser:
    assert h.app is not None
    async with h.app.db.read() as s:
        row = await s.get(TelegramUser, user_id)
        assert row is not None
        return row


async def test_happy_path_en_by_company_name(bot: Harness) -> None:
    chat = bot.chat(5102, "en")
    intro = joined(await say(chat, "/report"))
    assert "customer number" in intro
    got = await say(chat, "nanshan  bistro")  # kept as typed: no registered name is offered
    assert not datas(got, "rp:cust:") and "Noted: nanshan  bistro (to be verified)" in joined(got)
    assert "full name" in joined(got)
    got = await say(chat, contact={"phone_number": "+86 138 0000 0003"})  # 陈店长, spelled differently
    assert "Verified" in joined(got)
    pos = [d for d in datas(got, "rp:eq:") if d != "rp:eq:none"]
    assert len(pos) == 2
    got = await tap(chat, got, pos[0])
    got = await say(chat, "The POS terminal does not turn on any more")
    got = await tap(chat, got, "rp:sev:partial")
    summary = joined(got)
    assert "Please check your report" in summary and "Partly working" in summary
    done = joined(await tap(chat, got, "rp:submit"))
    [ticket] = await _tickets(bot, 5102)
    assert f"Ticket number {ticket.number}" in done
    assert "respond within 2 hour(s)" in done or "respond within" in done
    assert ticket.verified and ticket.customer_label.startswith("Nanshan Bistro")


async def test_identification_by_number_full_width_and_name_typed(bot: Harness) -> None:
    chat = bot.chat(5103)
    await say(chat, "/report")
    got = joined(await say(chat, "Ｃ１００２"))  # full-width customer number
    assert "报修人姓名" in got
    assert [s for s in _secrets("C1002") if s in got] == []
    got = await say(chat, "李明华")
    assert "rp:eq:" not in str(datas(got)) and datas(got, "rp:cat:")  # unverified: categories only
    got = await tap(chat, got, "rp:cat:telephone")
    got = await say(chat, "前台的电话交换机")
    got = await say(chat, "所有分机都打不出去，外线也进不来")
    got = await tap(chat, got, "rp:sev:down")
    summary = joined(got)
    assert "（待核实）" in summary
    done = joined(await tap(chat, got, "rp:submit"))
    [ticket] = await _tickets(bot, 5103)
    assert not ticket.verified and ticket.customer_label == "Ｃ１００２"
    assert ticket.customer_id is not None  # the desk sees which customer was named
    assert "客户身份尚未验证" in done
    policy = bot.app.desk.policy  # type: ignore[union-attr]
    # only the general promise: both zones, no warranty, no contract — nothing registered
    assert f"市区 {policy.sla.onsite_city_hours} 小时内、郊区 {policy.sla.onsite_suburb_hours} 小时内" in done
    assert "保修状态" not in done and "是否收费由客服核实" in done
    assert [s for s in _secrets("C1002") if s in done + summary] == []


async def test_identification_by_name_several_matches_offers_nothing(bot: Harness) -> None:
    from bot.customers import registry_io

    assert bot.app is not None
    async with bot.app.db.write() as s:
        await registry_io.import_rows(s, [
            {"customer_number": "C3001", "company_name": "华南物流仓储有限公司", "zone": "suburb",
             "contact_name": "周一", "contact_phone": "13900003001"},
        ])
    chat = bot.chat(5104)
    await say(chat, "/report")
    got = await say(chat, "华南 物流 有限公司")
    labels = joined(got)
    assert not datas(got, "rp:cust:")  # nothing registered before verification, not even names
    assert "深圳市华南物流有限公司" not in labels and "华南物流仓储有限公司" not in labels
    assert "报修人姓名" in labels
    # the phone of C3001's contact verifies and shows C3001's (empty) equipment list
    got = await say(chat, contact={"phone_number": "+8613900003001"})
    assert "验证成功：华南物流仓储有限公司，周一" in joined(got)
    assert datas(got, "rp:eq:") == ["rp:eq:none"]


async def test_unknown_and_partial_names_are_kept_as_typed(bot: Harness) -> None:
    chat = bot.chat(5105)
    await say(chat, "/report")
    got = joined(await say(chat, "火星科技有限公司"))
    assert "已记下：火星科技有限公司（待核实）" in got and "报修人姓名" in got
    got = await say(chat, "赵六")
    assert datas(got, "rp:cat:") and not datas(got, "rp:eq:")
    await say(chat, "/cancel")
    await say(chat, "/report")
    got = await say(chat, "华南物流")  # a partial name: kept as typed, nothing offered
    assert not datas(got, "rp:cust:") and "报修人姓名" in joined(got)
    conv = await _conversation(bot, 5105)
    assert conv is not None and conv.data["customer_id"] is None and conv.data["customer_label"] == "华南物流"


async def test_phone_first_verifies_then_linked_account_is_remembered(bot: Harness) -> None:
    chat = bot.chat(5106)
    await say(chat, "/report")
    got = await say(chat, contact={"phone_number": PHONE_A})  # at the very first step
    assert "验证成功：深圳市华南物流有限公司，王小明" in joined(got)
    assert len([d for d in datas(got, "rp:eq:") if d != "rp:eq:none"]) == 3
    await say(chat, "/cancel")
    assert "深圳市华南物流有限公司" in joined(await say(chat, "/whoami"))
    got = await say(chat, "/report")  # linked: straight to the equipment
    assert len(datas(got, "rp:eq:")) == 4
    await say(chat, "/cancel")
    assert "已解除" in joined(await say(chat, "/unlink")) or await _user(bot, 5106)
    user = await _user(bot, 5106)
    assert not user.verified and user.customer_id is None
    got = joined(await say(chat, "/report"))
    assert "客户编号" in got and "rp:eq:" not in got


async def test_someone_elses_contact_does_not_verify(bot: Harness) -> None:
    chat = bot.chat(5107)
    await say(chat, "/report")
    await say(chat, "C1001")
    got = joined(await say(chat, contact={"phone_number": PHONE_A, "user_id": 4242}))
    assert "验证成功" not in got and "王小明" not in got
    assert not (await _user(bot, 5107)).verified


async def test_photos_with_and_without_caption_are_stored(bot: Harness) -> None:
    chat = bot.chat(5108)
    await say(chat, "/report")
    got = await say(chat, contact={"phone_number": PHONE_A})
    got = await tap(chat, got, "rp:eq:none")
    got = await tap(chat, got, "rp:cat:cctv")
    await say(chat, "仓库门口摄像头")
    got = joined(await say(chat, photo=True))  # no caption: stored, still asking for the text
    assert "已把照片加入报修（目前：照片 1 张）" in got
    got = await say(chat, photo=True, caption="画面全是雪花点，看不清")
    assert "影响有多严重" in joined(got)
    got = await tap(chat, got, "rp:sev:partial")
    assert "附件：照片 2 张" in joined(got)
    got = await say(chat, photo=True, caption="这是录像机背面")  # at the summary: added, summary again
    assert "附件：照片 3 张" in joined(got) and "📷 这是录像机背面" in joined(got)
    await tap(chat, got, "rp:submit")
    [ticket] = await _tickets(bot, 5108)
    assert len(ticket.photos) == 3 and [a["kind"] for a in ticket.attachments] == ["photo"] * 3
    assert ticket.symptom == "画面全是雪花点，看不清\n📷 这是录像机背面"
    assert ticket.equipment_label == "仓库门口摄像头" and ticket.category == "cctv"


async def test_question_mid_flow_is_answered_and_the_step_repeats(bot: Harness) -> None:
    chat = bot.chat(5109)
    got = await to_summary(chat, phone=PHONE_A)
    assert "请确认报修信息" in joined(got)
    got = await tap(chat, got, "rp:edit")
    got = await tap(chat, got, "rp:field:symptom")
    assert "故障现象" in joined(got)
    got = joined(await say(chat, "保修期多久？"))
    assert "保修期限" in got and "我们继续刚才的报修" in got and "故障现象" in got
    conv = await _conversation(bot, 5109)
    assert conv is not None and conv.step == "symptom"
    got = await say(chat, "硬盘灯一直闪，录像回放不了")
    assert "请确认报修信息" in joined(got) and "硬盘灯一直闪" in joined(got)  # back to the summary
    for en in ("How long is the warranty?",):
        eng = bot.chat(5110, "en")
        await say(eng, "/report")
        got = joined(await say(eng, en))
        assert "Warranty" in got and "continue with your report" in got and "customer number" in got


async def test_complaint_rule_flags_a_repeat_fault(bot: Harness) -> None:
    chat = bot.chat(5111)
    await report_verified(chat, phone=PHONE_A, symptom="录像机没有画面，所有摄像头黑屏")
    [first] = await _tickets(bot, 5111)
    assert not first.complaint
    assert bot.app is not None
    async with bot.app.db.write() as s:
        row = await s.get(Ticket, first.id)
        assert row is not None
        row.status = "closed"  # repaired once
    done = joined(await report_verified(chat, phone=PHONE_A, symptom="录像机又没有画面了，摄像头全部黑屏"))
    second = (await _tickets(bot, 5111))[-1]
    assert second.complaint and second.equipment_id == first.equipment_id
    assert "投诉" in done
    assert "complaint" in await _events(bot, second.id)


async def test_night_report_says_when_it_is_picked_up(bot: Harness) -> None:
    bot.clock.set(dt.datetime(2026, 11, 23, 23, 30))  # Monday 23:30 Shanghai: nobody on duty
    chat = bot.chat(5112, "en")
    await say(chat, "/report")
    await say(chat, contact={"phone_number": PHONE_A})
    got = await say(chat, "/report")
    got = await tap(chat, got, datas(got, "rp:eq:")[0])
    got = await say(chat, "All cameras are black since tonight")
    got = await tap(chat, got, "rp:sev:down")
    done = joined(await tap(chat, got, "rp:submit"))
    assert "outside duty hours" in done and "11-24 08:00" in done
    assert await collect(chat, wait=0.5) == []  # dispatch's own queued notice is not sent twice
    [ticket] = await _tickets(bot, 5112)
    assert ticket.status == "new" and "queued" in await _events(bot, ticket.id)


async def test_mytickets_ticket_and_cancel_own_ticket(bot: Harness) -> None:
    chat, other = bot.chat(5113), bot.chat(5114)
    engineers = await _engineer_chats(bot)
    await report_verified(chat, phone=PHONE_A)
    [ticket] = await _tickets(bot, 5113)
    listing = joined(await say(chat, "/mytickets"))
    assert ticket.number in listing
    detail = await say(chat, f"/ticket {ticket.number.lower()}")
    assert ticket.number in joined(detail) and f"tk:cancel:{ticket.number}" in datas(detail)
    stranger = joined(await say(other, f"/ticket {ticket.number}"))
    assert ticket.number in stranger and "黑屏" not in stranger  # "not found", never its content
    assert ticket.number not in joined(await say(other, "/mytickets"))
    got = joined(await tap(other, await say(other, "/help"), f"tk:cancel:{ticket.number}", forge=True))
    assert (await _tickets(bot, 5113))[0].status == "dispatched", got
    got = joined(await tap(chat, detail, f"tk:cancel:{ticket.number}"))
    assert "已取消" in got
    [ticket] = await _tickets(bot, 5113)
    assert ticket.status == "cancelled" and "cancelled" in await _events(bot, ticket.id)
    # the engineer holding the card is told, and the ack timer no longer runs
    holder = engineers[ticket.assignee_id]
    assert f"客户已取消工单 {ticket.number}" in joined(await until(holder, "客户已取消工单"))
    assert bot.app is not None
    async with bot.app.db.read() as s:
        pending = (await s.scalars(select(Timer.key).where(Timer.status == "pending",
                                                           Timer.key.startswith(f"ack:{ticket.id}:")))).all()
    assert pending == []


async def _engineer_chats(h: Harness) -> dict[int, Any]:
    """Staff id → sandbox chat of every demo staff member (each has written /start)."""
    from storage.models import Staff

    assert h.app is not None
    async with h.app.db.read() as s:
        rows = (await s.execute(select(Staff.id, Staff.telegram_user_id))).all()
    chats = {sid: h.chat(uid) for sid, uid in rows if uid}
    for c in chats.values():
        await say(c, "/start")
    return chats


async def test_cannot_cancel_after_acknowledgement(bot: Harness) -> None:
    chat = bot.chat(5115, "en")
    await report_verified(chat, phone=PHONE_A)
    [ticket] = await _tickets(bot, 5115)
    detail = await say(chat, f"/ticket {ticket.number}")  # offers Cancel while not yet taken
    assert bot.app is not None
    async with bot.app.db.write() as s:
        row = await s.get(Ticket, ticket.id)
        assert row is not None
        row.status = "acknowledged"
    got = joined(await tap(chat, detail, f"tk:cancel:{ticket.number}"))
    assert "can no longer be cancelled" in got
    assert (await _tickets(bot, 5115))[0].status == "acknowledged"


async def test_reply_to_the_confirmation_adds_information(bot: Harness) -> None:
    chat = bot.chat(5116)
    msgs = await report_verified(chat, phone=PHONE_A)
    confirmation = next(m for m in msgs if "SD-" in (m.get("text") or ""))
    [ticket] = await _tickets(bot, 5116)
    await chat.send("补充：3 号摄像头也不亮了", reply_to_message_id=confirmation["id"])
    got = joined(await collect(chat))
    assert ticket.number in got
    assert "customer_info" in await _events(bot, ticket.id)


async def test_equipment_of_another_customer_cannot_be_forged(bot: Harness) -> None:
    chat = bot.chat(5117)
    await say(chat, "/report")
    got = await say(chat, contact={"phone_number": PHONE_A})
    assert bot.app is not None
    async with bot.app.db.read() as s:
        foreign = await s.scalar(select(Equipment.id).join(Customer).where(Customer.number == "C1002"))
    got = joined(await tap(chat, got, f"rp:eq:{foreign}", forge=True))
    assert "已失效" in got
    conv = await _conversation(bot, 5117)
    assert conv is not None and conv.step == "equipment" and "equipment_id" not in conv.data


async def test_desk_confirmation_verifies_the_reporter(bot: Harness) -> None:
    from bot.tickets import intake

    chat = bot.chat(5118)
    summary = await to_summary(chat, ident="C1003", phone=None, name="陈小姐")
    await tap(chat, summary, "rp:submit")
    [ticket] = await _tickets(bot, 5118)
    assert not ticket.verified
    assert "Nanshan" not in joined(await say(chat, "/whoami"))
    assert bot.app is not None
    async with bot.app.db.write() as s:
        await intake.confirm_reporter(s, ticket.number, bot.clock.now())
    [ticket] = await _tickets(bot, 5118)
    assert ticket.verified and ticket.customer_label == "Nanshan Bistro 南山一号餐厅"
    assert "verified" in await _events(bot, ticket.id)
    assert "Nanshan Bistro" in joined(await say(chat, "/whoami"))
    got = await say(chat, "/report")  # linked now: straight to the registered equipment
    assert len([d for d in datas(got, "rp:eq:") if d != "rp:eq:none"]) == 2
