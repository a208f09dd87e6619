"""Staff: `sdbot staff` CLI, one-time invite codes with /register (expiry, single use, lock-out),
and admins managing staff in chat; roles take effect on the next command or button press."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from storage.models import AuditEntry, Staff
from tests.harness import Harness
from tests.support.dispatchkit import card_of, greet, local, open_ticket, ticket, wait_for

ROOT = Path(__file__).resolve().parents[2]


async def sdbot(h: Harness, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``sdbot`` command line against the test database."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", *args], cwd=ROOT, env=h.env(),
        capture_output=True, text=True, timeout=60,
    )


async def test_cli_invite_code_registers_once(harness: Harness) -> None:
    out = await sdbot(harness, "staff", "add", "--name", "陈工", "--role", "engineer",
                      "--phone", "+8613900000109", "--key", "chen", "--json")
    assert out.returncode == 0, out.stderr
    code = json.loads(out.stdout)["code"]
    assert len(code) == 10
    text = await sdbot(harness, "staff", "add", "--name", "周主管", "--role", "supervisor")
    assert text.returncode == 0 and "invite code:" in text.stdout and "/register" in text.stdout
    dup = await sdbot(harness, "staff", "add", "--name", "x", "--role", "engineer", "--key", "chen")
    assert dup.returncode == 2 and "already exists" in dup.stderr

    await harness.start()
    chen = harness.chat(7001)
    assert "没有使用此功能的权限" in (await chen.ask("/oncall"))["text"]
    assert "登记成功：陈工（工程师）" in (await chen.ask(f"/register {code.lower()}"))["text"]
    assert "当前值班" in (await chen.ask("/oncall"))["text"]
    other = harness.chat(7002)
    assert "已被使用" in (await other.ask(f"/register {code}"))["text"]
    assert "没有使用此功能的权限" in (await other.ask("/oncall"))["text"]
    async with harness.app.db.read() as s:
        row = await s.scalar(select(Staff).where(Staff.key == "chen"))
        actions = (await s.scalars(select(AuditEntry.action))).all()
    assert row.telegram_user_id == 7001 and row.phone == "+8613900000109"
    assert "staff.add" in actions and "staff.register" in actions
    listed = await sdbot(harness, "staff", "list", "--json")
    keys = {d["key"]: d for d in json.loads(listed.stdout)}
    assert keys["chen"]["linked"] and keys["chen"]["role"] == "engineer"


async def test_codes_expire_and_guessing_locks_the_account(harness: Harness) -> None:
    out = await sdbot(harness, "staff", "add", "--name", "Gao", "--role", "engineer", "--key", "gao", "--json")
    code = json.loads(out.stdout)["code"]
    await harness.start()
    guesser = harness.chat(7003, "en")
    for _ in range(5):
        assert "not valid" in (await guesser.ask("/register ABCDEFGHJK"))["text"]
    assert "Too many attempts" in (await guesser.ask(f"/register {code}"))["text"]  # even the right one
    assert "Usage" in (await guesser.ask("/register"))["text"]
    harness.clock.advance(dt.timedelta(hours=1, minutes=1))
    assert "Registered: Gao" in (await guesser.ask(f"/register {code}"))["text"]

    late = await sdbot(harness, "staff", "add", "--name", "Late", "--role", "engineer", "--key", "late", "--json")
    late_code = json.loads(late.stdout)["code"]
    harness.clock.advance(dt.timedelta(hours=73))  # past the invite's 72 hours
    assert "expired" in (await harness.chat(7004, "en").ask(f"/register {late_code}"))["text"]


async def test_admin_manages_staff_in_chat_and_roles_apply_at_once(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))  # office layer: li
    await harness.start()
    c = await greet(harness, "customer", "li", "zhang", "zhao", "admin")
    assert "没有使用此功能的权限" in (await c["zhao"].ask("/staff"))["text"]  # supervisors cannot
    listing = (await c["admin"].ask("/staff"))["text"]
    assert "zhang" in listing and "li" in listing and "admin" in listing
    assert "操作失败" in (await c["admin"].ask("/staff role li boss"))["text"]
    assert "操作失败" in (await c["admin"].ask("/staff deactivate nobody"))["text"]
    assert "用法" in (await c["admin"].ask("/staff frobnicate"))["text"]

    tid0, number0, _, _ = await open_ticket(harness, sla=False)  # li takes one and starts a contact
    card0 = await card_of(c["li"], number0)
    await c["li"].press(card0, f"dp:ack:{tid0}")
    await wait_for(c["li"], "已接单")
    await c["li"].press(card0, f"dp:resolve:{tid0}")
    await wait_for(c["li"], "解决说明")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await card_of(c["li"], number)
    assert "已停用" in (await c["admin"].ask("/staff deactivate li"))["text"]
    # mid-flow: the typed resolution is refused, nothing changes
    assert "没有使用此功能的权限" in (await c["li"].ask("已修好"))["text"]
    assert (await ticket(harness, tid0)).status == "acknowledged"
    # a deactivated engineer's buttons and commands stop working at once
    await c["li"].press(card, f"dp:ack:{tid}")
    assert "没有使用此功能的权限" in (await c["li"].read())[0]["text"]
    assert "没有使用此功能的权限" in (await c["li"].ask("/myshifts"))["text"]
    # and nobody active on duty → the next ticket goes straight to the supervisors
    _, number2, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is None and not outcome.queued and outcome.supervisors == 2
    alert = await wait_for(c["zhao"], "没有可派单的值班工程师")
    assert number2 in alert["text"]
    await wait_for(c["admin"], "没有可派单的值班工程师")

    assert "在职" in (await c["admin"].ask("/staff activate li"))["text"]
    assert "主管" in (await c["admin"].ask("/staff role zhang supervisor"))["text"]
    assert "/cover" in (await c["zhang"].ask("/cover"))["text"]  # now a supervisor's command works
    cli = await sdbot(harness, "staff", "role", "zhang", "engineer")
    assert cli.returncode == 0
    assert "没有使用此功能的权限" in (await c["zhang"].ask("/cover"))["text"]
    cli = await sdbot(harness, "staff", "deactivate", "nobody")
    assert cli.returncode == 2 and "nobody" in cli.stderr


async def test_admin_issues_a_new_invite_in_chat(harness: Harness) -> None:
    import re

    await harness.start()
    c = await greet(harness, "admin", "zhao", "wang")
    assert "当前值班" in (await c["wang"].ask("/oncall"))["text"]  # wang's old phone is linked
    assert "没有使用此功能的权限" in (await c["zhao"].ask("/staff invite wang"))["text"]
    reply = (await c["admin"].ask("/staff invite wang"))["text"]
    code = re.search(r"/register ([A-Z0-9]{10})", reply).group(1)
    newphone = harness.chat(7010)
    assert "登记成功：王强" in (await newphone.ask(f"/register {code}"))["text"]
    async with harness.app.db.read() as s:
        assert (await s.scalar(select(Staff.telegram_user_id).where(Staff.key == "wang"))) == 7010
    # the old account is no longer staff
    assert "没有使用此功能的权限" in (await c["wang"].ask("/oncall"))["text"]
