"""Bot instances in webhook mode for tests: one or several sharing the harness's database."""

from __future__ import annotations

from typing import Any

from bot.app import ServiceDeskApp
from bot.runtime.webhook import WebhookServer
from tests.harness import TOKEN, Harness

SECRET = "test-webhook-secret_0123"


async def start_instance(h: Harness, *, claim_seconds: float = 60.0, **overrides: Any) -> WebhookServer:
    """One more instance on the harness's database, listening on a free loopback port."""
    app = ServiceDeskApp(
        h.settings(**overrides),
        token=TOKEN,
        base_url=h.sandbox.bot_base_url,
        base_file_url=h.sandbox.file_base_url,
        clock=h.clock,
        rate_limit=1000,
    )
    server = WebhookServer(app, secret=SECRET, port=0, claim_seconds=claim_seconds)
    await server.start(migrate=False)
    return server


async def register(h: Harness, servers: list[WebhookServer]) -> None:
    """Point the sandbox's webhook at the instances (round-robin when there are several)."""
    first = servers[0]
    assert first.desk_app.application is not None
    h.sandbox.allow_insecure_webhook = True  # the instances listen on plain http, any port
    await first.desk_app.application.bot.set_webhook(first.webhook_url, secret_token=SECRET)
    h.sandbox.webhook_targets = [s.webhook_url for s in servers] if len(servers) > 1 else []
