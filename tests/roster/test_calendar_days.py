"""Make-up working days and days off entered by admins (/calendar in chat, ``sdbot calendar``):
stored in the database, in force at the next decision of the running bot, refused clearly on bad
input; admins reminded daily from 1 December while next year's make-up days are missing."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bot.core.i18n import render
from storage.models import CalendarDay, OutboxMessage, Timer
from tests.harness import Chat, Harness
from tests.support.dispatchkit import TG, advance_to, greet, local, open_ticket, wait_for

ROOT = Path(__file__).resolve().parents[2]


async def sdbot(h: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``sdbot`` on the test database, on the test's clock (CLOCK_OFFSET_SECONDS)."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", *args], cwd=ROOT, env=h.env(),
        capture_output=True, text=True, timeout=120,
    )


async def _rows(h: Harness) -> list[tuple[str, str, str, str]]:
    assert h.app is not None
    async with h.app.db.read() as s:
        rows = (await s.scalars(select(CalendarDay).order_by(CalendarDay.id))).all()
    return [(r.day.isoformat(), r.kind, r.name, r.created_by) for r in rows]


async def _office_engineer(h: Harness) -> str:
    _, _, outcome, _ = await open_ticket(h, sla=False)
    assert outcome.engineer is not None
    return outcome.engineer.key


async def _start(h: Harness, *when: int, lang: str = "zh") -> dict[str, Chat]:
    h.clock.set(local(h, *when))
    await h.start()
    return await greet(h, "customer", "zhang", "wang", "zhao", "admin", lang=lang)


async def test_admin_enters_a_day_off_in_chat_and_dispatch_follows_at_once(harness: Harness) -> None:
    # Wednesday 2026-12-02 10:00: office week of 11-30 is wang's, December's after-hours duty zhang's
    c = await _start(harness, 2026, 12, 2, 10, 0)
    admin = c["admin"]
    assert "没有使用此功能的权限" in (await c["zhao"].ask("/calendar"))["text"]
    assert "没有使用此功能的权限" in (await c["wang"].ask("/calendar add 2026-12-02 off"))["text"]
    listed = (await admin.ask("/calendar"))["text"]
    assert "尚无登记" in listed and "2027 年尚无官方节假日安排" in listed
    assert await _office_engineer(harness) == "wang"

    saved = (await admin.ask("/calendar add 2026-12-02 off 公司活动"))["text"]
    assert "已登记放假（公司活动）：2026-12-02（三）" in saved and "立即生效" in saved
    assert await _office_engineer(harness) == "zhang"  # a day off: the duty engineer, no restart
    roster = (await c["zhao"].ask("/roster 1"))["text"]
    assert "12-02 三 节假日（公司活动）" in roster and "办公" not in roster

    removed = (await admin.ask("/calendar remove 2026-12-02"))["text"]
    assert "已撤销 2026-12-02（三） 的登记" in removed
    assert await _office_engineer(harness) == "wang"

    made_up = (await admin.ask("/calendar add 2027-02-20 workday 春节"))["text"]
    assert "已登记调休上班（春节）：2027-02-20（六）" in made_up
    listed = (await admin.ask("/calendar list"))["text"]
    assert "2027-02-20（六） 调休上班（春节）" in listed and "尚无官方" not in listed
    assert await _rows(harness) == [
        ("2026-12-02", "holiday", "公司活动", "admin"), ("2026-12-02", "removed", "", "admin"),
        ("2027-02-20", "workday", "春节", "admin"),
    ]


async def test_bad_calendar_input_gets_one_clear_line_and_changes_nothing(harness: Harness) -> None:
    c = await _start(harness, 2026, 12, 2, 10, 0)
    admin = c["admin"]
    await admin.ask("/calendar add 2027-02-20 workday")
    before = await _rows(harness)
    cases = {
        "/calendar add 2026-12-01 off": "2026-12-01（二） 已经过去",
        "/calendar add 2027-02-30 workday": "无法识别日期“2027-02-30”",
        "/calendar add tomorrow off": "无法识别日期“tomorrow”",
        "/calendar add 2027-02-20 sometimes": "“sometimes”不是 workday",
        "/calendar add 2027-03-10..2027-03-01 off": "结束日早于开始日",
        "/calendar add 2027-03-01..2027-05-01 off": "超过 31 天",
        "/calendar add 2029-01-02 off": "最多登记到 2027 年底",
        "/calendar add 2027-02-17 workday": "2027-02-17（三）本来就是工作日",
        "/calendar add 2027-02-06 off": "2027-02-06（六）本来就不上班",  # Spring Festival (rule)
        "/calendar remove 2027-03-03": "2027-03-03（三）没有登记过",
        "/calendar remove 2026-11-30": "已经过去",
        "/calendar frobnicate": "用法：",
    }
    for command, expected in cases.items():
        reply = await admin.ask(command)
        assert expected in reply["text"], (command, reply["text"])
        if not expected.startswith("用法"):
            assert "\n" not in reply["text"] and "未作任何改动" in reply["text"], reply["text"]
    assert await _rows(harness) == before


async def test_english_admin_gets_english_lines(harness: Harness) -> None:
    c = await _start(harness, 2026, 12, 2, 10, 0, lang="en")
    admin = c["admin"]
    assert "is in the past" in (await admin.ask("/calendar add 2026-11-02 off"))["text"]
    assert '"2027-13-01" is not a date' in (await admin.ask("/calendar add 2027-13-01 off"))["text"]
    saved = (await admin.ask("/calendar add 2027-02-09..2027-02-11 off"))["text"]
    assert "Saved as day off: 2027-02-09 (Tue) to 2027-02-11 (Thu)" in saved
    assert "make-up working days entered" in (await admin.ask("/calendar"))["text"]  # still none for 2027


async def test_cli_add_list_remove_while_the_bot_runs(harness: Harness) -> None:
    c = await _start(harness, 2026, 12, 2, 10, 0)
    assert await _office_engineer(harness) == "wang"
    out = await sdbot(harness, "calendar", "add", "2026-12-02", "off", "--name", "Company day")
    assert out.returncode == 0, out.stderr
    assert "day off: 2026-12-02 Wed" in out.stdout
    assert await _office_engineer(harness) == "zhang"  # the running bot reads it at its next decision
    assert "12-02 三 节假日（Company day）" in (await c["zhao"].ask("/roster 1"))["text"]

    past = await sdbot(harness, "calendar", "add", "2026-12-01", "off")
    assert past.returncode == 2 and past.stdout == ""
    assert past.stderr.strip() == ("calendar: 2026-12-01 (Tue) is in the past; only today (2026-12-02) "
                                   "or later can be entered. Nothing was changed.")
    bad = await sdbot(harness, "calendar", "add", "2027-02-29", "workday")
    assert bad.returncode == 2 and '"2027-02-29" is not a date' in bad.stderr

    assert (await sdbot(harness, "calendar", "add", "2027-02-20", "workday")).returncode == 0
    listed = await sdbot(harness, "calendar", "list")
    assert listed.stdout.splitlines() == ["2026-12-02 Wed holiday  Company day", "2027-02-20 Sat workday"]
    shown = await sdbot(harness, "roster", "show", "--db", "--from", "2027-02-20", "--to", "2027-02-20")
    assert "workday (make-up) [entered]" in shown.stdout and "office: " in shown.stdout, shown.stdout
    assert "warning" not in shown.stderr
    plain = await sdbot(harness, "roster", "show", "--from", "2027-02-20", "--to", "2027-02-20")
    assert "rest" in plain.stdout and "--db" in plain.stderr

    removed = await sdbot(harness, "calendar", "remove", "2026-12-02")
    assert removed.returncode == 0 and "withdrawn: 2026-12-02 Wed" in removed.stdout
    assert await _office_engineer(harness) == "wang"
    again = await sdbot(harness, "calendar", "remove", "2026-12-02")
    assert again.returncode == 2 and "has no entry to withdraw" in again.stderr
    assert [r[:2] for r in await _rows(harness)] == [
        ("2026-12-02", "holiday"), ("2027-02-20", "workday"), ("2026-12-02", "removed")]
    assert [r[3] for r in await _rows(harness)] == ["cli"] * 3


async def _reminders(h: Harness) -> int:
    assert h.app is not None
    needle = render("zh", "calendar/text#reminder", years=[2027])[:20]
    async with h.app.db.read() as s:
        rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == TG["admin"]))).all()
    return sum(needle in (r.payload.get("text") or "") for r in rows)


async def _checks(h: Harness) -> list[tuple[str, str]]:
    assert h.app is not None
    async with h.app.db.read() as s:
        rows = (await s.scalars(select(Timer).where(Timer.kind == "calendar_check").order_by(Timer.id))).all()
    return [(r.key.removeprefix("calendar:check:"), r.status) for r in rows]


async def _seeded_checks(h: Harness, wait: float = 15.0) -> list[tuple[str, str]]:
    """The check timers, once the worker's start-up hooks (run in its own task) have seeded one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        found = await _checks(h)
        if found or loop.time() >= deadline:
            return found
        await asyncio.sleep(0.05)


async def test_admins_are_reminded_once_a_day_from_1_december(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 30, 10, 0))
    await harness.start()
    admin = (await greet(harness, "admin"))["admin"]
    assert await _seeded_checks(harness) == [("2026-12-01", "pending")]  # nothing to say in November
    await harness.stop()

    harness.clock.set(local(harness, 2026, 12, 1, 10, 0))
    await harness.start()
    await wait_for(admin, "2027 年的调休上班日还没有登记")
    await harness.stop()
    await harness.start()  # a restart the same day says nothing again
    await advance_to(harness, local(harness, 2026, 12, 1, 23, 0))
    assert await _reminders(harness) == 1
    assert await _checks(harness) == [("2026-12-01", "done"), ("2026-12-02", "pending")]

    await advance_to(harness, local(harness, 2026, 12, 2, 9, 0))
    await wait_for(admin, "2027 年的调休上班日还没有登记")
    assert await _reminders(harness) == 2
    await admin.ask("/calendar add 2027-02-20 workday")
    await advance_to(harness, local(harness, 2026, 12, 3, 9, 0))
    assert ("2026-12-03", "done") in await _checks(harness)
    assert await _reminders(harness) == 2  # entered: no reminder

    # withdrawn while the bot is down for days: one reminder when it is back, none for the days missed
    await harness.stop()
    harness.clock.set(local(harness, 2026, 12, 9, 12, 0))
    assert (await sdbot(harness, "calendar", "remove", "2027-02-20")).returncode == 0
    await harness.start()
    await wait_for(admin, "2027 年的调休上班日还没有登记")
    await advance_to(harness, local(harness, 2026, 12, 9, 12, 5))
    assert await _reminders(harness) == 3
    assert [day for day, status in await _checks(harness) if status == "pending"] == ["2026-12-10"]


async def test_doctor_warns_until_next_years_makeup_days_are_entered(harness: Harness) -> None:
    from bot.cli.doctor import OK, WARN, run_checks
    from tests.harness import TOKEN

    settings = {"database_url": harness.db_url, "bot_api_base_url": harness.sandbox.bot_base_url,
                "bot_api_file_url": harness.sandbox.file_base_url}
    calendar = {c.name: c for c in await run_checks(settings, token=TOKEN, today=dt.date(2026, 12, 2))}["calendar"]
    assert calendar.status == WARN and "2027" in calendar.detail and "sdbot calendar add" in calendar.detail
    harness.clock.set(local(harness, 2026, 12, 2, 10, 0))
    assert (await sdbot(harness, "calendar", "add", "2027-02-20", "workday")).returncode == 0
    calendar = {c.name: c for c in await run_checks(settings, token=TOKEN, today=dt.date(2026, 12, 2))}["calendar"]
    assert calendar.status == OK, calendar.detail


def test_check_days() -> None:
    from bot.roster.calendar_reminder import check_day
    from bot.roster.model import CalendarOverrides, Holiday

    none = CalendarOverrides()
    assert check_day(dt.date(2026, 6, 1), none) == dt.date(2026, 12, 1)  # 2026 official: wait for December
    assert check_day(dt.date(2026, 12, 5), none) == dt.date(2026, 12, 5)
    assert check_day(dt.date(2027, 1, 1), none) == dt.date(2027, 1, 1)  # 2027 itself still missing: daily
    entered = CalendarOverrides(workdays=(Holiday(dt.date(2027, 2, 20), source="stored"),))
    assert check_day(dt.date(2027, 1, 1), entered) == dt.date(2027, 12, 1)
