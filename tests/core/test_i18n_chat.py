"""End-to-end: each user is answered in their language — English presses, Traditional Chinese
(Telegram's zh-TW, or written in Traditional), /lang's 繁體中文, roster errors in Chinese."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.core.i18n import convert, render
from storage.db import Database
from storage.models import TelegramUser, Ticket
from tests.core.test_i18n_coverage import english_words
from tests.harness import Harness
from tests.support.dispatchkit import greet, local
from tests.support.flows import button

_CJK = re.compile(r"[\u3400-\u9fff]")


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


async def _symptoms(bot: Harness, user_id: int) -> list[str]:
    db = Database(bot.db_url)
    try:
        async with db.read() as s:
            return list((await s.scalars(select(Ticket.symptom).where(Ticket.reporter_user_id == user_id))).all())
    finally:
        await db.dispose()


async def _locale_of(bot: Harness, user_id: int) -> str:
    db = Database(bot.db_url)
    try:
        async with db.read() as s:
            return (await s.scalar(select(TelegramUser.locale).where(TelegramUser.id == user_id))) or ""
    finally:
        await db.dispose()


async def test_an_english_writer_pressing_talk_to_a_person_is_answered_in_english(bot: Harness) -> None:
    chat = bot.chat(5301, language_code="")  # Telegram sent no language: the desk default is zh
    reply = await chat.ask("tell me a joke")
    assert "did not understand" in reply["text"]
    await chat.press(reply["id"], button(reply, "qa:human"))
    (done,) = await chat.read()
    assert "A person will contact you" in done["text"] and not _CJK.search(done["text"])
    (symptom,) = await _symptoms(bot, 5301)  # the staff read the hand-over note in the desk's language
    assert symptom == f"{render('zh', 'answers/labels#human_note')}: tell me a joke"
    await chat.press(reply["id"], "qa:human")  # pressed again: the expired button, in English too
    again = (await chat.read())[0]["text"]
    assert again == render("en", "common/stale_button")
    await chat.press(reply["id"], "qa:report")  # the other button starts the report in English
    started = "\n".join(m["text"] for m in await chat.read())
    assert _plain(render("en", "report/text#ask_ident")) in started and not _CJK.search(started)
    assert await _locale_of(bot, 5301) == "en"


async def test_a_zh_tw_user_is_answered_in_traditional(bot: Harness) -> None:
    chat = bot.chat(5302, "zh-TW")
    reply = (await chat.ask("/start"))["text"]
    assert "這裡是售後服務" in reply and "这里" not in reply
    hk = (await bot.chat(5303, "zh-HK").ask("/start"))["text"]
    assert "售後服務" in hk
    answer = await chat.ask("上门维修怎么收费")  # typed in Simplified: the script now says zh
    assert "门" in answer["text"] or "区" in answer["text"] or "元" in answer["text"]
    assert await _locale_of(bot, 5302) == "zh"
    other = bot.chat(5306, "zh-hant")
    text = (await other.ask("你好"))["text"]  # neither script's own characters: zh-hant stays
    assert _CJK.search(text) and convert("zh-hant", text) == text
    assert await _locale_of(bot, 5306) == "zh-hant"


async def test_a_user_writing_traditional_gets_traditional_replies(bot: Harness) -> None:
    chat = bot.chat(5304, "zh")
    reply = await chat.ask("今天天氣怎麼樣？請問誰能幫我")
    assert "這個問題" in reply["text"] and "这个" not in reply["text"]
    assert "轉人工" in "".join(b["text"] for row in reply["buttons"] for b in row)
    await chat.press(reply["id"], button(reply, "qa:human"))  # the press follows the written script
    done = (await chat.read())[0]["text"]
    assert "已為您轉人工" in done
    assert await _locale_of(bot, 5304) == "zh-hant"
    back = await chat.ask("今天天气怎么样")  # writing Simplified again switches back
    assert "这个问题" in back["text"]


async def test_lang_offers_and_applies_traditional(bot: Harness) -> None:
    chat = bot.chat(5305, "zh")
    prompt = await chat.ask("/lang")
    labels = {b["data"]: b["text"] for row in prompt["buttons"] for b in row}
    assert labels["lang:zh-hant"] == "繁體中文" and "lang:zh" in labels and "lang:en" in labels
    await chat.press(prompt["id"], "lang:zh-hant")
    assert (await chat.read())[0]["text"] == "語言已切換為繁體中文。"
    start = (await chat.ask("/start"))["text"]
    assert "這裡是售後服務" in start
    answer = (await chat.ask("今天天气怎么样"))["text"]  # a chosen language stays, whatever is written
    assert "這個問題" in answer
    typed = (await chat.ask("/lang english"))["text"]
    assert typed == "Language set to English."
    assert (await chat.ask("/lang 简体中文"))["text"] == "语言已切换为简体中文。"


async def test_cover_with_an_unknown_engineer_is_refused_in_chinese(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))
    await harness.start()
    c = await greet(harness, "zhao")  # the demo supervisor
    bad = (await c["zhao"].ask("/cover nobody li 2026-11-23"))["text"]
    assert "无法操作" in bad and "排班表里没有成员“nobody”" in bad
    assert english_words(bad.replace("nobody", "")) == []
    swap = await greet(harness, "li")
    refused = (await swap["li"].ask("/swap nobody 2026-11-24 2026-11-25"))["text"]
    assert "排班表里没有成员“nobody”" in refused
    late = (await c["zhao"].ask("/cover li wang 2026-13-45"))["text"]
    assert "不是有效日期" in late and "ISO" not in late
