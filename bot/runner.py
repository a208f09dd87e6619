"""``sdbot run``: the bot against Telegram, or — without a token — against the built-in sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.app import ServiceDeskApp
from bot.clock import Clock
from bot.config import Settings
from bot.demo import load_demo

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "100000:SANDBOX-LOCAL-TOKEN-NOT-SECRET"


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run(settings: Settings) -> None:
    """Run until Ctrl-C / SIGTERM, then shut down cleanly."""
    sandbox = None
    if settings.token:
        token = settings.token
        base_url, file_url = settings.bot_api_base_url, settings.bot_api_file_url
    else:
        from bot.sandbox import SandboxServer

        sandbox = SandboxServer(settings.sandbox_host, settings.sandbox_port)
        await sandbox.start()
        token, base_url, file_url = SANDBOX_TOKEN, sandbox.bot_base_url, sandbox.file_base_url
    desk = ServiceDeskApp(
        settings,
        token=token,
        base_url=base_url,
        base_file_url=file_url,
        clock=Clock(settings.timezone),
    )
    try:
        await desk.start()
        if sandbox is not None:
            await load_demo(desk.db)
            print(sandbox_banner(sandbox.url), flush=True)
        else:
            log.info("polling Telegram; press Ctrl-C to stop")
        await _wait_for_stop()
    finally:
        print("shutting down…", flush=True)
        await desk.stop()
        if sandbox is not None:
            await sandbox.stop()


def sandbox_banner(url: str) -> str:
    """How to talk to the sandboxed bot."""
    return f"""
ServiceDesk bot is running against the built-in Bot API sandbox (no Telegram token set).
Sandbox control API: {url}/sandbox/

Talk to it as a customer (user 5001):
  curl -s -XPOST {url}/sandbox/send -H 'content-type: application/json' \\
       -d '{{"user_id": 5001, "text": "/start", "language_code": "zh"}}'
  curl -s '{url}/sandbox/messages?user_id=5001&wait=2'
Demo staff user ids: engineers 1001 1002 1003, supervisor 2001, admin 9001.
Press Ctrl-C to stop.
"""
