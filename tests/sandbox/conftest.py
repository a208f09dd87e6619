"""Fixtures of the sandbox tests: a sandbox server, the real PTB ``Bot`` against it, its control API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot

from bot.sandbox import SandboxServer
from tests.support.sandboxkit import TOKEN, Control


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    s = SandboxServer(port=0)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def tg(server: SandboxServer) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, base_url=server.bot_base_url, base_file_url=server.file_base_url)
    async with bot:  # getMe: the sandbox knows the bot's id from here on
        yield bot


@pytest.fixture
async def ctl(server: SandboxServer) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as http:
        yield Control(server, http)
