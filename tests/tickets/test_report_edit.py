"""End-to-end: every Edit branch of the report summary and every way to cancel, at every step."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Conversation, Ticket
from tests.harness import Harness
from tests.support.flows import datas, joined, say, tap, to_summary

PHONE_A = "+8613800000001"


async def _ticket_count(h: Harness) -> int:
    assert h.app is not None
    async with h.app.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(Ticket)) or 0)


async def _conversation(h: Harness, chat_id: int) -> Conversation | None:
    assert h.app is not None
    async with h.app.db.read() as s:
        return await s.get(Conversation, chat_id)


async def _edit(chat, summary, field: str):  # noqa: ANN001, ANN202 - test helper
    got = await tap(chat, summary, "rp:edit")
    assert sorted(datas(got, "rp:field:")) == sorted(
        f"rp:field:{f}" for f in ("customer", "name", "equipment", "symptom", "severity"))
    return await tap(chat, got, f"rp:field:{field}")


async def test_edit_symptom_and_severity_return_to_the_summary(bot: Harness) -> None:
    chat = bot.chat(5201)
    summary = await to_summary(chat, phone=PHONE_A)
    got = await _edit(chat, summary, "symptom")
    got = await say(chat, "只有 2 号通道没有画面")
    assert "请确认报修信息" in joined(got) and "只有 2 号通道没有画面" in joined(got)
    got = await _edit(chat, got, "severity")
    got = await tap(chat, got, "rp:sev:question")
    assert "只是咨询" in joined(got) and datas(got, "rp:submit")
    await tap(chat, got, "rp:submit")
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket is not None and ticket.symptom == "只有 2 号通道没有画面" and ticket.severity == "question"


async def test_edit_name_and_equipment(bot: Harness) -> None:
    chat = bot.chat(5202, "en")
    summary = await to_summary(chat, phone=PHONE_A)
    got = await _edit(chat, summary, "name")
    assert "full name" in joined(got)
    got = await say(chat, "Liu Fang")
    assert "Reporter: Liu Fang" in joined(got)
    got = await _edit(chat, got, "equipment")
    registered = [d for d in datas(got, "rp:eq:") if d != "rp:eq:none"]
    assert len(registered) == 3
    got = await tap(chat, got, registered[2])
    assert "S5735" in joined(got) and "Please check your report" in joined(got)
    got = await _edit(chat, got, "equipment")
    got = await tap(chat, got, "rp:eq:none")
    got = await tap(chat, got, "rp:cat:network")
    got = await say(chat, "the switch in room 3")
    assert "Equipment: the switch in room 3" in joined(got)
    await tap(chat, got, "rp:submit")
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket is not None and ticket.reporter_name == "Liu Fang" and ticket.equipment_id is None
    assert ticket.equipment_label == "the switch in room 3" and ticket.category == "network"


async def test_edit_customer_drops_the_verified_customer(bot: Harness) -> None:
    chat = bot.chat(5203)
    summary = await to_summary(chat, phone=PHONE_A)
    got = await _edit(chat, summary, "customer")
    assert "客户编号" in joined(got)
    got = await say(chat, "C1003")
    text = joined(got)
    assert "请确认报修信息" in text and "客户：C1003（待核实）" in text
    assert "南山" not in text and "陈店长" not in text  # typed number: nothing registered shown
    await tap(chat, got, "rp:submit")
    assert bot.app is not None
    async with bot.app.db.read() as s:
        ticket = await s.scalar(select(Ticket))
    assert ticket is not None and not ticket.verified and ticket.equipment_id is None


STEPS = ["ident", "name", "equipment", "equipment_text", "symptom", "severity",
         "confirm", "edit_pick"]


async def _walk_to(chat, step: str):  # noqa: ANN001, ANN202 - test helper
    """Unverified walk up to ``step``; returns the last replies."""
    got = await say(chat, "/report")
    if step == "ident":
        return got
    got = await say(chat, "华南物流")  # kept as typed: nothing registered is offered
    if step == "name":
        return got
    got = await say(chat, "张三丰")
    if step == "equipment":
        return got
    got = await tap(chat, got, "rp:cat:cctv")
    if step == "equipment_text":
        return got
    got = await say(chat, "门口摄像头")
    if step == "symptom":
        return got
    got = await say(chat, "夜视模式下画面全黑")
    if step == "severity":
        return got
    got = await tap(chat, got, "rp:sev:partial")
    if step == "confirm":
        return got
    return await tap(chat, got, "rp:edit")


@pytest.mark.parametrize("step", STEPS)
async def test_slash_cancel_at_every_step(bot: Harness, step: str) -> None:
    chat = bot.chat(5210 + STEPS.index(step))
    before = await _walk_to(chat, step)
    conv = await _conversation(bot, chat.user_id)
    assert conv is not None and conv.step == step
    assert "已取消" in joined(await say(chat, "/cancel"))
    assert await _conversation(bot, chat.user_id) is None
    submit = datas(before, "rp:")
    if submit:  # a button of the cancelled report is stale now
        assert "已失效" in joined(await tap(chat, before, submit[0]))
    assert await _ticket_count(bot) == 0


@pytest.mark.parametrize("step", ["confirm", "edit_pick"])
async def test_cancel_button(bot: Harness, step: str) -> None:
    chat = bot.chat(5230 + (step == "edit_pick"), "en")
    got = await _walk_to(chat, step)
    assert "Nothing was submitted" in joined(await tap(chat, got, "rp:cancel"))
    assert await _conversation(bot, chat.user_id) is None
    assert "no longer valid" in joined(await tap(chat, got, "rp:cancel"))
    assert await _ticket_count(bot) == 0
