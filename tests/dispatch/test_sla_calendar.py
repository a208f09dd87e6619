"""SLA clocks on the service calendar (issue 14): the business-time arithmetic, and end to end
through the sandbox — a 22:31 night report (no alert before 08:00, card at 08:00, on time) and a
19:03 report; the receipt, the card and /overdue agree on every due time."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.rules import calculators as calc
from bot.rules.policy import DEFAULT_POLICY, PolicyError, load_policy
from tests.harness import Chat, Harness
from tests.support.dispatchkit import (
    card_of,
    events,
    fire_due,
    greet,
    local,
    texts,
    ticket,
    wait_for,
)
from tests.support.flows import read_until_button, report_verified

TZ = ZoneInfo("Asia/Shanghai")
DUTY = calc.ServiceWindow(8 * 60, 22 * 60 + 30, TZ)
REPORTER = 5001  # reports as a contact of C1001 (city), phone +8613800000001


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)  # type: ignore[misc]


H = dt.timedelta(hours=1)


@pytest.mark.parametrize(("start", "hours", "due"), [
    (at(2026, 11, 24, 22, 31), 2, at(2026, 11, 25, 10, 0)),   # the clock starts at 08:00
    (at(2026, 11, 24, 22, 31), 4, at(2026, 11, 25, 12, 0)),
    (at(2026, 11, 24, 19, 3), 4, at(2026, 11, 25, 8, 33)),    # 3 h 27 m tonight, 33 m tomorrow
    (at(2026, 11, 24, 19, 3), 2, at(2026, 11, 24, 21, 3)),
    (at(2026, 11, 24, 3, 0), 2, at(2026, 11, 24, 10, 0)),     # small hours: today's 08:00
    (at(2026, 11, 24, 20, 30), 2, at(2026, 11, 24, 22, 30)),  # exactly to the close
    (at(2026, 11, 24, 10, 0), 24, at(2026, 11, 25, 19, 30)),  # 12.5 h + 11.5 h
])
def test_add_service_time_on_the_duty_window(start: dt.datetime, hours: int, due: dt.datetime) -> None:
    assert calc.add_service_time(start, hours * H, DUTY) == due
    assert calc.service_time_between(start, due, DUTY) == hours * H


def test_24x7_counts_every_hour_and_utc_input_keeps_its_zone() -> None:
    start = at(2026, 11, 24, 22, 31)
    assert calc.add_service_time(start, 2 * H, None) == at(2026, 11, 25, 0, 31)
    utc = start.astimezone(dt.UTC)
    out = calc.add_service_time(utc, 2 * H, DUTY)
    assert out == at(2026, 11, 25, 10, 0) and out.tzinfo == dt.UTC


def test_each_clause_names_its_calendar_in_the_policy_file(tmp_path: Path) -> None:
    policy = load_policy()
    due = calc.sla_due_times(policy, at(2026, 11, 24, 22, 31), "city", window=DUTY)
    assert (due.first_response, due.onsite) == (at(2026, 11, 25, 10, 0), at(2026, 11, 25, 12, 0))
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace('first_response = "duty"', 'first_response = "24x7"')
    edited = tmp_path / "policy.toml"
    edited.write_text(text, encoding="utf-8")
    due = calc.sla_due_times(load_policy(edited), at(2026, 11, 24, 22, 31), "city", window=DUTY)
    assert (due.first_response, due.onsite) == (at(2026, 11, 25, 0, 31), at(2026, 11, 25, 12, 0))
    edited.write_text(text.replace('onsite = "duty"', 'onsite = "nights"'), encoding="utf-8")
    with pytest.raises(PolicyError, match="onsite"):
        load_policy(edited)


async def _desk(h: Harness, *when: int) -> tuple[dict[str, Chat], Chat]:
    h.clock.set(local(h, *when))
    await h.start()
    staff = await greet(h, "zhang", "li", "wang", "zhao", "admin")
    return staff, h.chat(REPORTER)


def _number(text: str) -> str:
    found = re.search(r"SD-[0-9]{4}-[0-9]{6}", text)
    assert found, text
    return found.group(0)


def _receipt(msgs: list[dict]) -> str:
    return next(m["text"] for m in msgs if "SD-" in (m.get("text") or ""))


async def _quiet_supervisors(c: dict[str, Chat]) -> None:
    for key in ("zhao", "admin"):
        assert await texts(c[key], 0.3) == [], key


async def _overdue(c: dict[str, Chat]) -> str:
    return str((await c["zhao"].ask("/overdue"))["text"])


async def test_night_report_sleeps_until_eight_and_is_answered_on_time(harness: Harness) -> None:
    c, customer = await _desk(harness, 2026, 11, 24, 22, 31)  # Tuesday, a working day
    receipt = _receipt(await report_verified(customer, phone="+8613800000001"))
    number = _number(receipt)
    # one promise: the 08:00 dispatch, response by 10:00, on site by 12:00 the next morning
    for part in ("11-25 08:00", "11-25 10:00 前", "11-25 12:00 前"):
        assert part in receipt, (part, receipt)
    assert "00:31" not in receipt and "02:31" not in receipt
    assert "按值班时间 08:00–22:30 计" in receipt  # why 2 hours end at 10:00
    for hh, mm in ((0, 31), (0, 32), (2, 31), (2, 32), (7, 59)):  # nobody on duty: no alert
        harness.clock.set(local(harness, 2026, 11, 25, hh, mm, 30))
        await fire_due(harness)
        await _quiet_supervisors(c)
    assert "没有超时的工单" in await _overdue(c)
    harness.clock.set(local(harness, 2026, 11, 25, 8, 0, 1))
    assert await fire_due(harness) >= 1
    card = await card_of(c["wang"], number)  # November duty: wang
    for part in ("首次响应 11-25 10:00", "到场 11-25 12:00", "修复 11-26 17:30"):
        assert part in card["text"], (part, card["text"])
    assert "没有超时的工单" in await _overdue(c)  # the 08:00 card is not already overdue
    tid = int(card["buttons"][0][0]["data"].rsplit(":", 1)[1])
    await c["wang"].press(card, f"dp:ack:{tid}")
    await wait_for(c["wang"], "已接单")
    harness.clock.set(local(harness, 2026, 11, 25, 9, 20))
    await c["wang"].press(card, f"dp:contact:{tid}")
    kinds = await wait_for(c["wang"], "哪种方式")
    await c["wang"].press(kinds, "wk:kind:phone")
    await wait_for(c["wang"], "做了什么")
    await c["wang"].ask("电话指导客户重启录像机")
    await c["wang"].ask("画面恢复")
    await c["wang"].ask("10分钟")
    assert [e.kind for e in await events(harness, tid)][-1] == "contact"
    harness.clock.set(local(harness, 2026, 11, 25, 10, 0, 30))
    await fire_due(harness)
    await _quiet_supervisors(c)
    assert [e for e in await events(harness, tid) if e.kind == "sla_breach"] == []
    # on site by 12:00 was not kept: the breach comes at 12:00, naming the same due time
    harness.clock.set(local(harness, 2026, 11, 25, 12, 0, 30))
    await fire_due(harness)
    alert = await wait_for(c["zhao"], "超时")
    assert "11-25 12:00" in alert["text"]
    overdue = await _overdue(c)
    assert number in overdue and "到场超时" in overdue and "时限 11-25 12:00" in overdue
    breaches = [e.data["kind"] for e in await events(harness, tid) if e.kind == "sla_breach"]
    assert breaches == ["onsite"]
    stats = (await c["zhao"].ask("/stats"))["text"]
    assert "首次响应" in stats


async def test_evening_report_is_promised_on_site_next_morning(harness: Harness) -> None:
    c, customer = await _desk(harness, 2026, 11, 24, 19, 3)
    receipt = _receipt(await report_verified(customer, phone="+8613800000001"))
    for part in ("11-24 21:03 前", "11-25 08:33 前"):
        assert part in receipt, (part, receipt)
    assert "23:03" not in receipt
    assert receipt.count("按值班时间 08:00–22:30 计") == 1  # only the on-site time runs past 22:30
    card = await read_until_button(c["wang"], "dp:ack:")
    assert "首次响应 11-24 21:03" in card["text"] and "到场 11-25 08:33" in card["text"], card["text"]
    tid = int(card["buttons"][0][0]["data"].rsplit(":", 1)[1])
    stored = await ticket(harness, tid)
    assert stored.onsite_due is not None  # the clock ran on a few seconds since 19:03:00
    assert stored.onsite_due.astimezone(harness.clock.tz).replace(second=0, microsecond=0) == local(
        harness, 2026, 11, 25, 8, 33)
    harness.clock.set(local(harness, 2026, 11, 24, 23, 3, 30))  # the old wall-clock promise: silence
    await fire_due(harness)
    assert [e.data["kind"] for e in await events(harness, tid) if e.kind == "sla_breach"] == ["first_response"]
    await wait_for(c["zhao"], "11-24 21:03")
    harness.clock.set(local(harness, 2026, 11, 25, 8, 0))
    assert [e.data["kind"] for e in await events(harness, tid) if e.kind == "sla_breach"] == ["first_response"]
    harness.clock.set(local(harness, 2026, 11, 25, 8, 34))
    await fire_due(harness)
    await wait_for(c["zhao"], "11-25 08:33")
    overdue = await _overdue(c)  # listed once, by its longest delay: the 21:03 response
    assert "首次响应超时" in overdue and "时限 11-24 21:03" in overdue, overdue
