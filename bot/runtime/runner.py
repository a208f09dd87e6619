"""``sdbot run``: the bot against Telegram, or — without a token — against the built-in sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from bot.app import ServiceDeskApp
from bot.config import Settings
from bot.core.clock import Clock
from bot.demo import load_demo
from bot.runtime.heap import settle_heap
from bot.runtime.ical_feed import FeedServer
from bot.runtime.inbox import seen_ids
from bot.runtime.webhook import WebhookServer, derive_secret
from bot.sandbox import SandboxServer
from bot.webchat import STAFF_GROUP_TITLE, WebChat, create_staff_group
from bot.webchat.duty import on_duty_user_ids
from storage.db import Database

log = logging.getLogger(__name__)

SANDBOX_TOKEN = "100000:SANDBOX-LOCAL-TOKEN-NOT-SECRET"


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run(settings: Settings, *, webhook: bool = False, settle: bool = False) -> None:
    """Run until Ctrl-C / SIGTERM, then shut down cleanly (polling, or ``webhook`` mode).

    ``settle``: freeze the start-up heap once up (``bot.runtime.heap``; the command's own process
    only: a test running this in its process keeps its collector as it is)."""
    sandbox = webchat = None
    clock = settings.clock()  # one clock: bot, timers, sandbox and the web page's controls
    if settings.token:
        token = settings.token
        base_url, file_url = settings.bot_api_base_url, settings.bot_api_file_url
    else:
        sandbox = await start_sandbox(settings, clock)
        token, base_url, file_url = SANDBOX_TOKEN, sandbox.bot_base_url, sandbox.file_base_url
        if settings.staff_group_id is None:  # the demo desk works its tickets in a staff group too
            settings = settings.model_copy(
                update={"staff_group_id": create_staff_group(sandbox.world).id}
            )
    desk = ServiceDeskApp(
        settings,
        token=token,
        base_url=base_url,
        base_file_url=file_url,
        clock=clock,
        rate_limit=settings.bot_api_max_rate,
    )
    if webhook:
        await run_webhook(settings, desk, sandbox, token, settle=settle)
        return
    feed = None
    try:
        await desk.start()
        feed = await start_feed(settings, desk)
        if sandbox is not None:
            await load_demo(desk.db)
            webchat = await start_webchat(settings, sandbox, desk)
            print(sandbox_banner(sandbox.url, webchat.url), flush=True)
        else:
            log.info("polling Telegram; press Ctrl-C to stop")
        if settle:
            log.debug("start-up heap frozen: %d objects", settle_heap())
        await _wait_for_stop()
    finally:
        print("shutting down…", flush=True)
        if webchat is not None:
            await webchat.stop()
        if feed is not None:
            await feed.stop()
        await desk.stop()
        if sandbox is not None:
            await sandbox.stop()


async def start_feed(settings: Settings, desk: ServiceDeskApp) -> FeedServer | None:
    """Polling mode has no webhook server: the calendar links of /myshifts get their own listener
    on WEBHOOK_HOST:WEBHOOK_PORT. A taken port costs only the links (a warning), not the bot."""
    feed = FeedServer(desk.desk, settings.webhook_host, settings.webhook_port)
    try:
        await feed.start()
    except OSError as exc:
        log.warning("calendar feed cannot listen on %s:%s (%s); /myshifts links will not work",
                    settings.webhook_host, settings.webhook_port, exc.strerror or exc)
        return None
    log.info("calendar feed listening on %s", feed.url)
    return feed


async def start_sandbox(settings: Settings, clock: Clock) -> SandboxServer:
    """The built-in Bot API sandbox, numbering updates and messages above what the database has
    seen (a second ``make run`` on the same data would otherwise hand out ids already processed)."""
    db = Database(settings.database_url)
    try:
        top_update, top_message = await seen_ids(db)
    finally:
        await db.dispose()
    sandbox = SandboxServer(  # its webhook is this process's own plain-http listener
        settings.sandbox_host, settings.sandbox_port, allow_insecure_webhook=True,
        clock=lambda: clock.now().timestamp(), start_ids=(top_update + 1, top_message + 1),
    )
    await sandbox.start()
    return sandbox


async def run_webhook(
    settings: Settings, desk: ServiceDeskApp, sandbox: Any, token: str, *, settle: bool = False
) -> None:
    """Webhook mode: serve until SIGTERM, then stop accepting, finish, flush and exit."""

    secret = (
        settings.webhook_secret.get_secret_value() if settings.webhook_secret else derive_secret(token)
    )
    server = WebhookServer(
        desk,
        secret=secret,
        host=settings.webhook_host,
        port=settings.webhook_port,
        path=settings.webhook_path,
        public_url=settings.webhook_url,
        metrics_public=settings.metrics_public,
        claim_seconds=settings.inbox_claim_seconds,
    )
    try:
        await server.start()
        if sandbox is not None:
            await load_demo(desk.db)
            if not settings.webhook_url:  # the sandbox posts straight to this listener
                assert desk.application is not None
                await desk.application.bot.set_webhook(server.webhook_url, secret_token=secret)
            print(f"Bot API sandbox (no token set): {sandbox.url}/sandbox/", flush=True)
        print(f"webhook: {server.webhook_url}  health: {server.url}/healthz  "
              f"metrics: {server.url}/metrics", flush=True)
        if settle:
            log.debug("start-up heap frozen: %d objects", settle_heap())
        await _wait_for_stop()
    finally:
        print("shutting down: finishing updates in flight, flushing the outbox…", flush=True)
        await server.stop()
        if sandbox is not None:
            await sandbox.stop()


async def start_webchat(settings: Settings, sandbox: Any, desk: ServiceDeskApp) -> Any:
    """The browser chat on loopback, sharing the desk's clock; wakes the timers when it moves."""

    def wake() -> None:
        if desk.timers is not None:
            desk.timers.wake.set()

    webchat = WebChat(
        sandbox, desk.clock, port=settings.web_port, wake=wake,
        on_duty=lambda: on_duty_user_ids(desk.desk),
    )
    try:
        await webchat.start()
    except OSError as exc:
        raise SystemExit(f"sdbot: web chat cannot listen on 127.0.0.1:{settings.web_port} "
                         f"({exc.strerror or exc}); set WEB_PORT to a free port") from None
    return webchat


def sandbox_banner(url: str, web_url: str) -> str:
    """How to talk to the sandboxed bot."""
    return f"""
ServiceDesk bot is running against the built-in Bot API sandbox (no Telegram token set).
Sandbox control API: {url}/sandbox/

Talk to it as a customer (user 5001):
  curl -s -XPOST {url}/sandbox/send -H 'content-type: application/json' \\
       -d '{{"user_id": 5001, "text": "/start", "language_code": "zh"}}'
  curl -s '{url}/sandbox/messages?user_id=5001&wait=2'
Demo staff user ids: engineers 1001 1002 1003, supervisor 2001, admin 9001.
Every ticket also gets a topic in the staff group "{STAFF_GROUP_TITLE}" (👥 in the web chat's menu).
Press Ctrl-C to stop.

Open {web_url} in your browser to chat as a customer, an engineer or a supervisor.
"""
