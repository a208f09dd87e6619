"""No personal data in logs at any level: a whole fault report logged at DEBUG (every library too)
carries neither the reporter's name nor phone nor address; masking covers the formats people type."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

from bot.core.logs import RedactFilter, mask_phones, setup_logging
from tests.harness import TOKEN, Harness
from tests.support.flows import report_verified
from tests.support.securitykit import ENGINEER, ENGINEER2, ENGINEER3, SUPERVISOR, dispatch_card

NAME, PHONE, ADDRESS = "王小明", "+8613800000001", "福田区深南大道 1001 号"  # demo customer C1001
LIBRARIES = ("telegram", "sqlalchemy", "sqlalchemy.engine", "aiosqlite", "asyncpg", "httpx", "httpcore",
             "aiohttp")


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """The production logging set-up at DEBUG, with every library's logger at DEBUG too."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    stream = io.StringIO()
    setup_logging("DEBUG", secrets=[TOKEN], stream=stream)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for name, lvl in levels.items():
            logging.getLogger(name).setLevel(lvl)


def leaks(text: str, needle: str) -> list[str]:
    """Where ``needle`` occurs in ``text`` (with some context)."""
    return [text[max(0, m.start() - 200):m.end() + 60] for m in re.finditer(re.escape(needle), text)]


async def test_debug_logs_of_a_whole_report_carry_no_personal_data(
    bot: Harness, debug_logs: io.StringIO
) -> None:
    engineers = [bot.chat(uid) for uid in (ENGINEER, ENGINEER2, ENGINEER3, SUPERVISOR)]
    for chat in engineers:
        await chat.ask("/start")
    reporter = bot.chat(7060, first_name=NAME, last_name="先生", username="xiaoming_wang")
    done = await report_verified(reporter, phone=PHONE)
    number = re.search(r"SD-\d{4}-\d+", " ".join(m["text"] for m in done))
    assert number is not None
    _, card = await dispatch_card(bot, engineers[:3], number.group(0))
    assert NAME in card["text"] or ADDRESS in card["text"]  # the data did flow through the bot
    written = debug_logs.getvalue()
    assert written.count("\n") > 100 and " DEBUG " in written  # DEBUG was really on
    for needle in (NAME, "xiaoming_wang", PHONE, PHONE[3:], "138 0000 0001", ADDRESS, "深南大道"):
        assert leaks(written, needle) == [], needle


@pytest.mark.parametrize("typed", [
    "tel:13812345676", "TEL:+8613812345676", "１３８１２３４５６７６", "１３８－１２３４－５６７６",
    "138.1234.5676", "138 1234 5676", "+86 138-1234-5676", "008613812345676",
    "0755-88776655", "(0755) 8877 6655", "010-12345678", "075588776655", "0755 8877 6655",
    "+86 755 8877 6655", "+86-10-1234-5678", "tel:0755-88776655", "电话0755-88776655",
])
def test_phone_formats_are_masked(typed: str) -> None:
    ascii_digits = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
    masked = mask_phones(f"请回电 {typed}，谢谢")
    before, after = (re.sub(r"\D", "", t.translate(ascii_digits)) for t in (typed, masked))
    assert "****" in masked, masked
    assert len(after) <= len(before) - 4, masked  # at least the four in the middle are gone


@pytest.mark.parametrize("kept", [
    "ticket SD-2026-000042", "update 123456789", "chat 5101", "outbox 17 to chat 1001", "at 2026-12-02 06:10",
    "price 1380.00", "version 1.38.1234", "user 13812345",
])
def test_ids_dates_and_amounts_are_not_masked(kept: str) -> None:
    assert mask_phones(kept) == kept


@pytest.mark.parametrize("code", ["K7M2P9X4QR", "k7m2p9x4qr", "K7m2P9x4Qr", "/register abcdefghjk"])
def test_invite_codes_are_redacted_in_any_case(code: str) -> None:
    out = RedactFilter().redact(f"your code: {code} (valid 24 h)")
    assert code.split()[-1] not in out and "<redacted>" in out


def test_sql_parameters_are_hidden_unless_asked_for() -> None:
    from storage.db import Database

    assert Database("sqlite+aiosqlite://").engine.sync_engine.hide_parameters  # type: ignore[attr-defined]
    assert not Database("sqlite+aiosqlite://", log_params=True).engine.sync_engine.hide_parameters
