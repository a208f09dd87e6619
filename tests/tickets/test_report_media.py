"""End-to-end: stickers and locations during the report conversation get an explanation AND the
current question again; the report so far is kept. Outside a report: the general "unsupported"
reply. (Photos, files, voice and video messages join the report: tests/tickets/test_report_attachments.py.)"""

from __future__ import annotations

import re
from typing import Any

from bot.core.i18n import render
from storage.models import Conversation
from tests.harness import Harness
from tests.support.flows import datas, joined, say, tap

PHONE_A = "+8613800000001"
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {"sticker": True},
    "location": {"location": {"latitude": 22.5, "longitude": 114.0}},
}


def _plain(template: str, locale: str = "zh", **ctx: Any) -> str:
    return re.sub(r"<[^>]+>", "", render(locale, template, **ctx))


async def _conv(h: Harness, chat_id: int) -> Conversation:
    assert h.app is not None
    async with h.app.db.read() as s:
        conv = await s.get(Conversation, chat_id)
    assert conv is not None
    return conv


async def _media_everywhere(h: Harness, chat: Any, locale: str, question: str, buttons: str | None = None) -> None:
    """Every kind of media at the current step: explained, question asked again, state unchanged."""
    before = await _conv(h, chat.user_id)
    for kind, content in MEDIA.items():
        got = await say(chat, **content)
        text = joined(got)
        assert _plain("report/text#unsupported_in_report", locale, kind=kind) in text, (kind, text)
        assert question in text, (kind, text)
        if buttons:
            assert datas(got, buttons), (kind, got)
        after = await _conv(h, chat.user_id)
        assert (after.step, after.data) == (before.step, before.data)


async def test_media_at_every_step_explains_and_asks_again(bot: Harness) -> None:
    await bot.stop()
    await bot.start(flood_max_messages=500)  # this test sends more than the per-minute flood limit
    chat = bot.chat(5401)
    await say(chat, "/report")
    await _media_everywhere(bot, chat, "zh", _plain("report/text#ask_ident"))
    await say(chat, "C1001")
    await _media_everywhere(bot, chat, "zh", _plain("report/text#ask_name", verified=False))
    got = await say(chat, contact={"phone_number": PHONE_A})
    await _media_everywhere(bot, chat, "zh", _plain("report/text#ask_equipment_registered"), "rp:eq:")
    got = await tap(chat, got, datas(got, "rp:eq:")[0])
    await _media_everywhere(bot, chat, "zh", _plain("report/text#ask_symptom", attached=[], hint=None, min=5, max=2000))
    got = await say(chat, "录像机没有画面，所有摄像头黑屏")
    await _media_everywhere(bot, chat, "zh", _plain("report/text#ask_severity"), "rp:sev:")
    got = await tap(chat, got, "rp:sev:down")
    got = await say(chat, sticker=True)
    assert "rp:submit" in datas(got, "rp:submit")  # the summary with its buttons comes again
    conv = await _conv(bot, 5401)
    assert conv.step == "confirm" and conv.data["symptom"] == "录像机没有画面，所有摄像头黑屏"
    done = joined(await tap(chat, got, "rp:submit"))
    assert "SD-" in done


async def test_media_in_english_and_outside_a_report(bot: Harness) -> None:
    chat = bot.chat(5402, "en")
    await say(chat, "/start")
    got = joined(await say(chat, sticker=True))  # no report running: the general reply only
    assert _plain("common/unsupported", "en") in got
    assert _plain("report/text#unsupported_in_report", "en", kind="sticker") not in got
    await say(chat, "/report")
    got = joined(await say(chat, location={"latitude": 22.5, "longitude": 114.0}))
    assert "A location can't be added to a report" in got
    assert _plain("report/text#ask_ident", "en") in got
    got = joined(await say(chat, voice=True))  # a voice message joins the report instead
    assert "Voice message added to your report (1 voice message so far)" in got
    assert "can't be added" not in got and _plain("report/text#ask_ident", "en") in got
