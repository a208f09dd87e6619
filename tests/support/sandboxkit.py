"""A small client of the sandbox's /sandbox/ control API, for sandbox tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from telegram import Bot

from bot.sandbox import SandboxServer

TOKEN = "123:ABC"  # the sandbox tests' bot
USER = 7001  # the sandbox tests' default private-chat user


@contextlib.asynccontextmanager
async def flood_limited(now: list[float]) -> AsyncIterator[tuple[Bot, Control]]:
    """A sandbox with Telegram's flood limits on a clock the test moves (``now[0]``): the real PTB
    ``Bot`` against it and its control client."""
    server = SandboxServer(port=0, flood_limits=True, clock=lambda: now[0])
    await server.start()
    try:
        async with Bot(TOKEN, base_url=server.bot_base_url) as bot, aiohttp.ClientSession() as http:
            yield bot, Control(server, http)
    finally:
        await server.stop()


class Control:
    """POST/GET the control API; each call asserts the expected HTTP status."""

    def __init__(self, server: SandboxServer, http: aiohttp.ClientSession) -> None:
        self.server, self.http = server, http

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        async with self.http.post(self.server.url + path, json=body) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == status, data
            return data

    async def get(self, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
        query = {k: str(v) for k, v in params.items()}
        async with self.http.get(self.server.url + path, params=query) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == status, data
            return data

    async def send(self, text: str | None = None, user_id: int = USER, **extra: Any) -> dict[str, Any]:
        """A private message from ``user_id`` to the bot (photo=, contact=… in ``extra``)."""
        body: dict[str, Any] = {"user_id": user_id, **extra}
        if text is not None:
            body["text"] = text
        return await self.post("/sandbox/send", body)

    async def group(self, title: str, creator_id: int, *, is_forum: bool = True) -> int:
        """A new supergroup (a forum unless ``is_forum=False``); its chat id."""
        made = await self.post(
            "/sandbox/groups", {"title": title, "is_forum": is_forum, "creator_id": creator_id}
        )
        return int(made["chat_id"])

    async def member(
        self, chat_id: int, user_id: int, status: str, status_code: int = 200, **extra: Any
    ) -> dict[str, Any]:
        body = {"chat_id": chat_id, "user_id": user_id, "status": status, **extra}
        return await self.post("/sandbox/groups/member", body, status_code)

    async def bot(
        self, chat_id: int, status: str, by: int, status_code: int = 200, **rights: bool
    ) -> dict[str, Any]:
        body = {"chat_id": chat_id, "status": status, "by": by, "rights": rights}
        return await self.post("/sandbox/groups/bot", body, status_code)

    async def say(
        self, chat_id: int, user_id: int, text: str, status: int = 200, **extra: Any
    ) -> dict[str, Any]:
        """A member writes into the group (``message_thread_id=`` for a topic)."""
        body = {"chat_id": chat_id, "user_id": user_id, "text": text, **extra}
        return await self.post("/sandbox/send", body, status)
