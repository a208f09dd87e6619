"""Operations: doctor, backup and restore, SQLite → PostgreSQL copy, safe structured logs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.cli.dbtools import OpsError, backup, copy_database, prune, restore
from bot.cli.doctor import FAIL, OK, WARN, check_calendar, run_checks
from bot.core import uow as uow_mod
from bot.core.logs import JsonFormatter, RedactFilter
from bot.roster import DEFAULT_ROSTER, load_roster
from bot.webchat import create_staff_group
from storage.db import Database
from storage.models import AuditEntry, Contact, OutboxMessage
from tests.harness import TOKEN, Harness
from tests.pgdb import PgTemplate

NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)


async def _count(url: str, model: type) -> int:
    db = Database(url)
    try:
        async with db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await db.dispose()


async def _wipe_customers(url: str) -> None:
    db = Database(url)
    try:
        async with db.write() as s:
            await s.execute(delete(Contact))
            await s.execute(delete(AuditEntry))
            s.add(AuditEntry(at=NOW, actor="test", action="after-backup", data={}))
    finally:
        await db.dispose()


# --- doctor ------------------------------------------------------------------------------


async def test_doctor_passes_on_a_ready_installation(harness: Harness) -> None:
    checks = await run_checks(
        {"database_url": harness.db_url, "bot_api_base_url": harness.sandbox.bot_base_url,
         "bot_api_file_url": harness.sandbox.file_base_url},
        token=TOKEN, today=dt.date(2025, 6, 1),
    )
    by_name = {c.name: c for c in checks}
    assert [c.name for c in checks] == [
        "configuration", "policy", "roster", "database", "migrations", "bot_api", "calendar"]
    assert all(c.status == OK for c in checks), [(c.name, c.detail) for c in checks]
    assert by_name["bot_api"].detail.startswith("@")


async def test_doctor_checks_the_staff_group(harness: Harness) -> None:
    groups = harness.sandbox.world.groups
    forum = create_staff_group(harness.sandbox.world)
    plain = groups.create("No topics", False, 1001)
    groups.set_bot(plain, "administrator", 1001)
    no_rights = groups.create("Bot without rights", True, 1001)
    groups.set_bot(no_rights, "member", 1001)

    async def staff_group(group_id: int) -> tuple[str, str]:
        checks = await run_checks(
            {"database_url": harness.db_url, "bot_api_base_url": harness.sandbox.bot_base_url,
             "bot_api_file_url": harness.sandbox.file_base_url, "staff_group_id": group_id},
            token=TOKEN, today=dt.date(2025, 6, 1),
        )
        return next((c.status, c.detail) for c in checks if c.name == "staff_group")

    assert await staff_group(forum.id) == (OK, f"{forum.id}: topics on, the bot may manage them")
    assert await staff_group(plain.id) == (FAIL, f"{plain.id} is no supergroup with topics: turn Topics on")
    status, detail = await staff_group(no_rights.id)
    assert status == FAIL and "may not manage topics" in detail
    status, detail = await staff_group(-1009999)
    assert status == FAIL and detail.startswith("STAFF_GROUP_ID -1009999 cannot be read: ")


async def test_doctor_names_what_is_wrong(tmp_path: Path) -> None:
    checks = await run_checks(
        {"database_url": f"sqlite+aiosqlite:///{tmp_path}/empty.db",
         "bot_api_base_url": "http://127.0.0.1:9/bot"},  # nothing listens on port 9
        token=TOKEN, today=dt.date(2026, 11, 24),
    )
    status = {c.name: (c.status, c.detail) for c in checks}
    assert status["migrations"][0] == FAIL and "sdbot db upgrade" in status["migrations"][1]
    assert status["bot_api"] == (FAIL, "unreachable: NetworkError")
    assert status["calendar"][0] == WARN and "2027" in status["calendar"][1]
    bad = await run_checks({"database_url": "mysql://nope"})
    assert [(c.name, c.status) for c in bad] == [("configuration", FAIL)]
    assert "DATABASE_URL" in bad[0].detail


def test_calendar_coverage_counts_the_local_table() -> None:
    roster = load_roster(DEFAULT_ROSTER)
    assert check_calendar(roster, dt.date(2025, 6, 1)).status == OK
    far = check_calendar(roster, dt.date(2030, 6, 1))
    assert far.status == WARN and "2030" in far.detail


def test_doctor_command_exit_code(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/d.db", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "bot", "doctor"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "[FAIL] migrations" in done.stdout


# --- backup and restore ------------------------------------------------------------------


async def test_sqlite_online_backup_and_restore(harness: Harness, tmp_path: Path) -> None:
    if not harness.db_url.startswith("sqlite"):
        harness_url = f"sqlite+aiosqlite:///{tmp_path}/live.db"
        await copy_database(harness.db_url, harness_url)
    else:
        harness_url = harness.db_url
    contacts = await _count(harness_url, Contact)
    assert contacts > 0
    live = Database(harness_url)  # a writer is connected while the backup runs
    try:
        async with live.write() as s:
            s.add(AuditEntry(at=NOW, actor="test", action="before-backup", data={}))
            target = backup(harness_url, tmp_path / "backups" / "desk.sqlite")
    finally:
        await live.dispose()
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    await _wipe_customers(harness_url)
    assert await _count(harness_url, Contact) == 0
    restore(harness_url, target)
    assert await _count(harness_url, Contact) == contacts
    with pytest.raises(OpsError, match="not found"):
        restore(harness_url, tmp_path / "missing.sqlite")


@pytest.mark.postgres
async def test_postgres_backup_restore_and_copy_from_sqlite(
    harness: Harness, pg_template: PgTemplate, template_db: Path, tmp_path: Path
) -> None:
    # the operator's path: a SQLite desk copied into an empty PostgreSQL database
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await copy_database(harness.db_url, sqlite_url)
    old = Database(sqlite_url)
    async with old.write() as s:
        s.add(AuditEntry(at=NOW, actor="admin", action="old", data={"x": 1}))
    await old.dispose()
    target = await pg_template.fresh()
    try:
        counts = await copy_database(sqlite_url, target)
        assert counts["contacts"] == await _count(sqlite_url, Contact) > 0
        with pytest.raises(OpsError, match="not empty"):
            await copy_database(sqlite_url, target)
        db = Database(target)
        try:  # ids continue after the copied rows
            async with db.write() as s:
                s.add(AuditEntry(at=NOW, actor="admin", action="new", data={}))
            async with db.read() as s:
                ids = (await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id))).all()
            assert len(ids) == len(set(ids)) == counts["audit_log"] + 1
        finally:
            await db.dispose()
        # pg_dump while connected, damage, pg_restore
        archive = backup(target, tmp_path / "desk.pgdump")
        assert archive.stat().st_size > 0
        await _wipe_customers(target)
        assert await _count(target, Contact) == 0
        restore(target, archive)
        assert await _count(target, Contact) == counts["contacts"]
        assert await _count(target, AuditEntry) == counts["audit_log"] + 1
    finally:
        await pg_template.drop(target)


async def test_prune_keeps_recent_and_pending_rows(bot: Harness) -> None:
    await bot.chat(5701, "en").ask("/start")
    await bot.stop()
    db = Database(bot.db_url)
    try:
        async with db.write() as s:
            s.add(OutboxMessage(chat_id=1, method="sendMessage", payload={}, status="pending",
                                attempts=0, next_attempt_at=NOW, created_at=NOW - dt.timedelta(days=90)))
        assert await prune(bot.db_url, NOW + dt.timedelta(days=1), 30) == {
            "inbox": 0, "outbox": 0, "timers": 0}  # everything is recent
        counts = await prune(bot.db_url, NOW + dt.timedelta(days=400), 30)
        assert counts["inbox"] == 1 and counts["outbox"] == 1
        async with db.read() as s:
            left = (await s.scalars(select(OutboxMessage.status))).all()
        assert left == ["pending"]  # never deletes what is still to be sent
    finally:
        await db.dispose()


# --- logs --------------------------------------------------------------------------------


def test_json_logs_carry_ids_and_never_tokens_or_full_phones() -> None:
    record = logging.LogRecord(
        "bot.x", logging.INFO, __file__, 1,
        "ticket SD-2026-000042 for +8613800000001 via %s", (f"https://api/bot{TOKEN}/sendMessage",),
        None,
    )
    uow = uow_mod.UnitOfWork(session=None, now=NOW, update_id=4242)  # type: ignore[arg-type]
    token = uow_mod.bind(uow)
    try:
        assert RedactFilter(["s3cret"]).filter(record)
    finally:
        uow_mod.unbind(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["update_id"] == 4242 and line["ticket"] == "SD-2026-000042"
    assert TOKEN not in line["message"] and "<redacted>" in line["message"]
    assert "13800000001" not in line["message"] and "+86138****0001" in line["message"]
