"""Webhook mode: an aiohttp app receives Telegram's updates (PTB's custom-webhook pattern).

``POST <WEBHOOK_PATH>``  checks ``X-Telegram-Bot-Api-Secret-Token``, stores the update in the
                        inbox and answers at once; the update is processed in the background by
                        whichever instance claims it (``bot.runtime.inbox.InboxClaimer``).
``GET /healthz``        the process is up (503 while shutting down).
``GET /readyz``         the database and the Bot API answer.
``GET /metrics``        Prometheus text format (loopback clients only unless METRICS_PUBLIC).
``GET /ical/<token>.ics`` an engineer's private shift calendar (``bot.runtime.ical_feed``).

Shutdown is graceful: stop accepting (503), finish the updates in flight, flush the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import time
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import text
from telegram import Bot, Update

from bot.app import ServiceDeskApp
from bot.runtime.ical_feed import CalendarFeed
from bot.runtime.inbox import ALLOWED_UPDATES, InboxClaimer, store_updates
from bot.runtime.metrics import CONTENT_TYPE, CountingRateLimiter, Metrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
READY_CACHE_SECONDS = 5.0


class _Strict(BaseModel):
    """Types as the Bot API documents them (no "1" for 1); fields not listed pass as they are."""

    model_config = ConfigDict(strict=True, extra="allow", populate_by_name=True)


class _User(_Strict):
    id: int
    is_bot: bool
    first_name: str


class _Chat(_Strict):
    id: int
    type: str


class _Message(_Strict):
    message_id: int
    date: int
    chat: _Chat
    sender: _User | None = Field(None, alias="from")
    text: str | None = None


class _CallbackQuery(_Strict):
    id: str
    sender: _User = Field(alias="from")
    message: _Message | None = None
    data: str | None = None


class UpdateSchema(_Strict):
    """The parts of an update the bot relies on (the kinds it asks for, checked in depth)."""

    update_id: int = Field(ge=0, lt=2**63)
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _CallbackQuery | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> UpdateSchema:
        kinds = {k for k in self.model_fields_set | set(self.model_extra or {}) if k in Update.ALL_TYPES}
        if len(kinds) != 1:
            raise ValueError(f"an update carries exactly one kind, not {sorted(kinds)}")
        return self


def parse_update(data: object, bot: Bot) -> Update | None:
    """The update in a webhook body, or None when it is not a well-formed Telegram update."""
    try:
        UpdateSchema.model_validate(data)
        return Update.de_json(data, bot)  # type: ignore[arg-type]  # a dict: validated above
    except (ValidationError, ValueError, KeyError, TypeError, AttributeError):
        return None


def derive_secret(token: str) -> str:
    """A webhook secret every instance derives alike from the bot token (when none is set)."""
    return hashlib.sha256(f"sdbot-webhook:{token}".encode()).hexdigest()[:48]


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


class WebhookServer:
    """One instance in webhook mode: the HTTP front, the inbox claimer and the metrics."""

    def __init__(
        self,
        desk_app: ServiceDeskApp,
        *,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 8080,
        path: str = "/telegram",
        public_url: str | None = None,
        metrics_public: bool = False,
        claim_seconds: float = 60.0,
    ) -> None:
        self.desk_app = desk_app
        self.secret = secret
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else f"/{path}"
        self.public_url = public_url
        self.metrics_public = metrics_public
        self.claim_seconds = claim_seconds
        self.metrics = Metrics()
        self.claimer: InboxClaimer | None = None
        self.accepting = False
        self.received = 0
        self._runner: web.AppRunner | None = None
        self._ready: tuple[float, bool, dict[str, Any]] | None = None

    @property
    def url(self) -> str:
        """Where this instance listens (the real port once started)."""
        return f"http://{self.host}:{self.port}"

    @property
    def webhook_url(self) -> str:
        """The URL this instance receives updates on."""
        return f"{self.url}{self.path}"

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, migrate: bool = True) -> None:
        """Start the bot (without polling), the claimer, the HTTP server; register the webhook."""
        app = self.desk_app
        await app.start(migrate=migrate, poll=False)
        assert app.application is not None and app.runner is not None and app.sender is not None
        self.claimer = InboxClaimer(
            app.db, app.application.bot, app.application.update_queue, app.clock.now,
            app.sender.instance, claim_seconds=self.claim_seconds,
        )
        self._hook_runner()
        limiter = app.application.bot.rate_limiter
        if isinstance(limiter, CountingRateLimiter):
            limiter.on_error = self.metrics.api_error
        app.desk.metrics = self.metrics
        self.claimer.start()
        web_app = web.Application(client_max_size=MAX_UPDATE_BYTES)
        web_app.router.add_post(self.path, self._receive)
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/readyz", self._readyz)
        web_app.router.add_get("/metrics", self._metrics)
        CalendarFeed(app.desk).add_routes(web_app)
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        for addr in self._runner.addresses:
            if isinstance(addr, tuple):
                self.port = int(addr[1])
                break
        self.accepting = True
        if self.public_url:
            await app.application.bot.set_webhook(
                self.public_url.rstrip("/") + self.path,
                secret_token=self.secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=40,
            )
        log.info("webhook server listening on %s", self.webhook_url)

    def _hook_runner(self) -> None:
        """Time every update, and let the claimer take a chat's next update once one is done."""
        runner = self.desk_app.runner
        assert runner is not None and self.claimer is not None
        timed = self.metrics.timed(runner.run)
        claimer = self.claimer

        async def run(update: object, coroutine: Any) -> None:
            try:
                await timed(update, coroutine)
            finally:
                if isinstance(update, Update):
                    claimer.done(update.update_id)

        runner.run = run  # type: ignore[method-assign]

    async def stop(self, drain_seconds: float = 20.0) -> None:
        """Stop accepting, finish the updates taken in (and what they unblock), flush, close."""
        self.accepting = False  # new webhook requests get 503: Telegram or the proxy retry
        if self.claimer is not None:
            await self.claimer.stop()
            if not await self.claimer.drain(drain_seconds):
                log.warning("shutdown: updates still pending after %.0fs", drain_seconds)
        await self.desk_app.stop()  # waits for what is queued, then flushes the outbox
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def kill(self) -> None:
        """Die without grace (tests): nothing is finished, released or flushed."""
        self.accepting = False
        app = self.desk_app
        if app.runner is not None:
            app.runner.halt()
        if self.claimer is not None:
            await self.claimer.stop(abrupt=True)
        for worker in (app.timers, app.sender):
            if worker is not None:
                await worker.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if app.application is not None:
            app.application.bot_data.clear()
            if app.application.running:
                await app.application.stop()
            await app.application.shutdown()
        await app.db.dispose()

    # ------------------------------------------------------------------ endpoints
    async def _receive(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return web.Response(status=503, text="shutting down")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.metrics.rejected.labels(reason="secret").inc()
            log.warning("webhook request with a wrong secret from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        app = self.desk_app.application
        assert app is not None
        try:
            update = parse_update(await request.json(), app.bot)
        except ValueError:  # not JSON
            update = None
        if update is None:  # nothing stored: a malformed update would never be processed
            self.metrics.rejected.labels(reason="malformed").inc()
            log.warning("webhook request with a malformed update from %s", request.remote)
            return web.Response(status=400, text="malformed update")
        try:
            stored = await store_updates(self.desk_app.db, [update], self.desk_app.clock.now())
        except Exception:  # Telegram re-sends what we fail to store
            log.exception("could not store update %s", update.update_id)
            return web.Response(status=500, text="not stored")
        if stored.held:  # its id is still taken by a pending update: Telegram retries later
            return web.Response(status=503, text="held", headers={"Retry-After": "1"})
        self.received += 1
        self.metrics.count_update(update)
        assert self.claimer is not None
        self.claimer.wake.set()
        return web.Response(text="ok")

    async def _healthz(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return web.json_response({"ok": False, "status": "stopping"}, status=503)
        return web.json_response({"ok": True})

    async def check_ready(self) -> dict[str, Any]:
        """Whether the database and the Bot API answer (cached for a few seconds)."""
        loop_now = time.monotonic()
        if self._ready and loop_now - self._ready[0] < READY_CACHE_SECONDS:
            return self._ready[2]
        checks: dict[str, Any] = {}
        try:
            async with self.desk_app.db.read() as s:
                await asyncio.wait_for(s.execute(text("SELECT 1")), 3)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            app = self.desk_app.application
            assert app is not None
            await asyncio.wait_for(app.bot.get_me(), 5)
            checks["bot_api"] = "ok"
        except Exception as exc:
            checks["bot_api"] = f"error: {type(exc).__name__}"
        checks["ok"] = self.accepting and all(
            v == "ok" for k, v in checks.items() if k != "ok"
        )
        self._ready = (loop_now, bool(checks["ok"]), checks)
        return checks

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = await self.check_ready()
        return web.json_response(checks, status=200 if checks["ok"] else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self.metrics_public and not _is_loopback(request.remote):
            return web.Response(status=403, text="metrics are served to loopback clients only")
        try:
            await self.metrics.refresh(self.desk_app.db, self.desk_app.clock.now())
        except Exception:  # still serve the in-memory figures
            log.exception("metrics refresh failed")
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

