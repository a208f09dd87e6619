"""End-to-end harness: the sandbox Bot API server, the real Application, a real database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import ServiceDeskApp
from bot.config import Settings
from bot.core.clock import Clock
from bot.demo import load_demo
from bot.sandbox import SandboxServer
from storage.db import Database

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"


class Chat:
    """One sandbox user's view: send, press, and read what the bot sent since last time."""

    def __init__(self, harness: Harness, user_id: int, language_code: str = "zh", **profile: Any):
        self.h = harness
        self.user_id = user_id
        self.language_code = language_code
        self.profile = {"first_name": f"User{user_id}", **profile}
        self.seen = 0

    async def send(self, text: str | None = None, **extra: Any) -> dict[str, Any]:
        """Send a message (text, photo, contact…) as this user."""
        body = {"user_id": self.user_id, "language_code": self.language_code, **self.profile, **extra}
        if text is not None:
            body["text"] = text
        return await self.h.post("/sandbox/send", body)

    async def press(
        self, message: dict[str, Any] | int, data: str | None = None, *,
        text: str | None = None, forge: bool = False,
    ) -> dict[str, Any]:
        """Press an inline button of ``message`` (a message this chat read, or its id), named by
        its callback ``data`` or its label ``text``.

        As on Telegram, the sandbox refuses a button that is not on the message's current
        keyboard; ``forge=True`` sends ``data`` anyway (a modified client: security tests only).
        """
        if text is not None:
            assert isinstance(message, dict), "pressing by label needs the message read"
            data = button_by_text(message, text)
        elif isinstance(message, dict) and not forge:
            shown = [b["data"] for row in message.get("buttons") or [] for b in row]
            assert data in shown, f"no {data!r} button on {message.get('text')!r}: {shown}"
        assert data is not None, "give the button's data or its text"
        message_id = message["id"] if isinstance(message, dict) else message
        body = {"user_id": self.user_id, "message_id": message_id, "data": data}
        if forge:
            body["forge"] = True
        return await self.h.post("/sandbox/press", body)

    async def read(self, wait: float = 5.0) -> list[dict[str, Any]]:
        """Messages (new or edited) since the last read; waits for at least one.

        First waits (within ``wait``) until the bot has settled for this chat, so a reply of
        several messages comes back whole even on a busy machine.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        await self.h.settle(self.user_id, wait)
        data = await self.h.get(
            "/sandbox/messages", user_id=self.user_id, since=self.seen,
            wait=max(0.0, deadline - loop.time()),
        )
        msgs = data["messages"]
        if msgs:
            self.seen = max(self.seen, data.get("last_id", max(m["id"] for m in msgs)))
        return msgs

    async def ask(self, text: str | None = None, wait: float = 5.0, **extra: Any) -> dict[str, Any]:
        """Send and return the first reply."""
        await self.send(text, **extra)
        msgs = await self.read(wait)
        assert msgs, f"no reply to {text!r}"
        return msgs[0]

    async def quiet(self, wait: float = 0.5) -> list[dict[str, Any]]:
        """What arrives within a short wait (expected to be nothing, usually)."""
        return await self.read(wait)


def button_by_text(message: dict[str, Any], text: str) -> str:
    """The callback data of the button labelled ``text`` (exactly, or else the only one
    containing it) on a message read from the sandbox."""
    buttons = [b for row in message.get("buttons") or [] for b in row if b.get("data")]
    exact = [b for b in buttons if b["text"] == text]
    found = exact or [b for b in buttons if text in b["text"]]
    labels = [b["text"] for b in buttons]
    assert len(found) == 1, f"{len(found)} buttons labelled {text!r} on {message.get('text')!r}: {labels}"
    return found[0]["data"]


class Harness:
    """Starts and restarts the bot against one sandbox and one database."""

    def __init__(self, sandbox: SandboxServer, db_url: str, clock: Clock) -> None:
        self.sandbox = sandbox
        self.db_url = db_url
        self.clock = clock
        self.app: ServiceDeskApp | None = None
        self.http = aiohttp.ClientSession()
        self._probe_db: Database | None = None
        self.timers_counted = 0

    def settings(self, **overrides: Any) -> Settings:
        overrides.setdefault("bot_api_chat_pacing", False)  # tests pace only where they test it
        return Settings(
            database_url=self.db_url,
            telegram_bot_token=None,
            **overrides,
        )

    async def start(self, **overrides: Any) -> ServiceDeskApp:
        """Start a fresh bot instance (the database may already hold state)."""
        app = ServiceDeskApp(
            self.settings(**overrides),
            token=TOKEN,
            base_url=self.sandbox.bot_base_url,
            base_file_url=self.sandbox.file_base_url,
            clock=self.clock,
            rate_limit=overrides.get("bot_api_max_rate", 1000),  # tests are not Telegram
            poll_timeout=1,
        )
        await app.start(migrate=False)
        self.app = app
        self.timers_counted = 0  # timers of this instance already counted by dispatchkit.fire_due
        return app

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def crash(self) -> None:
        """Stop without any grace: cancel everything, as if the process died."""
        app = self.app
        if app is None:
            return
        if app.runner is not None:  # updates still running die with it: nothing committed or sent
            app.runner.halt()
        if app.timers is not None:  # a dead process fires no more timers (no grace for deliveries)
            await app.timers.kill()
        if app.poller:
            await app.poller.stop()
        if app.sender:
            await app.sender.stop()
        assert app.application is not None
        app.application.bot_data.clear()
        await app.application.stop()
        await app.application.shutdown()
        await app.db.dispose()
        self.app = None

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process this test starts: its database and its clock (no token)."""
        env = {**os.environ, "DATABASE_URL": self.db_url,
               "CLOCK_OFFSET_SECONDS": repr(self.clock.offset.total_seconds()), **extra}
        if "TELEGRAM_BOT_TOKEN" not in extra:
            env.pop("TELEGRAM_BOT_TOKEN", None)
        return env

    async def settle(self, chat_id: int, budget: float) -> bool:
        """Wait up to ``budget`` seconds until the bot has taken every update from the sandbox,
        processed every one it took and sent every message it queued for ``chat_id``.

        Waiting for this state (not for a quiet moment) is what lets a test read a whole reply
        on a loaded machine. Returns False if the budget ran out first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        while True:
            if await self._settled(chat_id):
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)

    async def _settled(self, chat_id: int) -> bool:
        if self.sandbox.world.updates:
            return False
        from sqlalchemy import func, select

        from storage.models import InboxUpdate, OutboxMessage

        db = self.app.db if self.app is not None else self._probe()
        async with db.read() as s:
            busy = await s.scalar(select(func.count()).select_from(InboxUpdate).where(
                InboxUpdate.status == "pending"))
            if not busy:
                busy = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.chat_id == chat_id, OutboxMessage.status == "pending"))
        return not busy

    def _probe(self) -> Database:
        """A database handle of the test's own, for when the bot runs in another process."""
        if self._probe_db is None:
            self._probe_db = Database(self.db_url)
        return self._probe_db

    def chat(self, user_id: int, language_code: str = "zh", **profile: Any) -> Chat:
        return Chat(self, user_id, language_code, **profile)

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.sandbox.url + path, json=body) as resp:
            data = await resp.json()
            assert resp.status == 200, data
            return data

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        async with self.http.get(self.sandbox.url + path, params=params) as resp:
            data = await resp.json()
            assert resp.status == 200, data
            return data

    async def close(self) -> None:
        await self.stop()
        await self.http.close()
        if self._probe_db is not None:
            await self._probe_db.dispose()


def migrated_template(base: Path) -> Path:
    """A migrated SQLite file, made once per session and copied per test."""
    from storage.migrate import upgrade

    path = base / "template.db"
    if not path.exists():
        upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def fresh_sqlite(template: Path, tmp_path: Path) -> str:
    """Copy the migrated template into this test's directory."""
    target = tmp_path / "desk.db"
    shutil.copy(template, target)
    return f"sqlite+aiosqlite:///{target}"


def test_clock(when: dt.datetime | None = None) -> Clock:
    """A clock fixed relative to real time at ``when`` (default: a Monday 10:00 Shanghai)."""
    clock = Clock("Asia/Shanghai")
    clock.set(when or dt.datetime(2026, 11, 23, 10, 0))
    return clock


async def seeded(h: Harness) -> None:
    """Demo customers, staff and roster."""
    from storage.db import Database

    db = Database(h.db_url)
    try:
        await load_demo(db)
    finally:
        await db.dispose()


def postgres_url() -> str | None:
    """Tests also run against PostgreSQL when TEST_DATABASE_URL is set."""
    return os.environ.get("TEST_DATABASE_URL")


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)
