"""Prometheus metrics of one bot instance (served at ``/metrics`` by the webhook app).

Counters and the latency histogram are kept in memory per instance; the database-backed figures
(outbox depth and age, timers due, escalations, open SLA breaches) are read at scrape time, so
every instance reports the shared totals. Each instance has its own registry.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import and_, case, func, or_, select
from telegram import Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter

from storage.db import Database
from storage.models import ChannelDelivery, OutboxMessage, Ticket, TicketEvent, Timer

disable_created_metrics()  # no *_created series: they only double the scrape size

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def update_type(update: object) -> str:
    """The kind of an update for the ``type`` label (message, callback_query, …)."""
    if not isinstance(update, Update):
        return "other"
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


def error_code(exc: TelegramError) -> str:
    """The ``code`` label of a Bot API failure."""
    for kind, code in ((RetryAfter, "429"), (Forbidden, "403"), (BadRequest, "400"),
                       (InvalidToken, "401"), (Conflict, "409"), (TimedOut, "timeout"),
                       (NetworkError, "network")):
        if isinstance(exc, kind):
            return code
    return "other"


class CountingRateLimiter(AIORateLimiter):
    """python-telegram-bot's AIORateLimiter, reporting every failed request to ``on_error``.

    Retries the limiter makes itself (after a 429) are counted too, so ``429`` shows up in the
    metrics even when the message finally went out.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_error: Callable[[str], None] | None = None

    async def process_request(
        self, callback: Any, args: Any, kwargs: dict[str, Any], endpoint: str,
        data: dict[str, Any], rate_limit_args: int | None,
    ) -> Any:
        """Run the request through the limiter, counting each failure by code."""
        on_error = self.on_error

        async def counted(*cargs: Any, **ckwargs: Any) -> Any:
            try:
                return await callback(*cargs, **ckwargs)
            except TelegramError as exc:
                if on_error is not None:
                    on_error(error_code(exc))
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)


class Metrics:
    """The metric objects, plus the scrape-time database figures."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("sdbot_updates", "Updates received, by type", ["type"], registry=r)
        self.rejected = Counter(
            "sdbot_webhook_rejected", "Webhook requests refused, by reason", ["reason"], registry=r
        )
        self.latency = Histogram(
            "sdbot_handler_seconds", "Time to process one update (transaction included)",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.api_errors = Counter(
            "sdbot_bot_api_errors", "Bot API errors by code", ["code"], registry=r
        )
        self.rate_limited = Counter(
            "sdbot_rate_limited", "Messages dropped by the per-user flood limit", registry=r
        )
        self.outbox_depth = Gauge("sdbot_outbox_depth", "Outbox rows waiting", registry=r)
        self.outbox_age = Gauge(
            "sdbot_outbox_oldest_age_seconds", "Age of the oldest waiting outbox row", registry=r
        )
        self.outbox_dead = Gauge("sdbot_outbox_dead", "Outbox rows refused for good", registry=r)
        self.timers_due = Gauge("sdbot_timers_due", "Timers due and not yet fired", registry=r)
        self.escalations = Gauge(
            "sdbot_escalations_total", "Escalations recorded (all instances)", registry=r
        )
        self.channel_deliveries = Gauge(  # escalations beyond Telegram (issue 18)
            "sdbot_channel_deliveries", "Apprise deliveries by status (all instances)", ["status"],
            registry=r,
        )
        self.channel_failures = Gauge(
            "sdbot_channel_delivery_failures", "Failed Apprise attempts (all instances)", registry=r
        )
        self.sla_breaches = Gauge(
            "sdbot_sla_breaches_open", "Open, not paused tickets past an SLA deadline", ["deadline"],
            registry=r,
        )

    def count_update(self, update: object) -> None:
        """One update received."""
        self.updates.labels(type=update_type(update)).inc()

    def api_error(self, code: int | str) -> None:
        """One failed Bot API call."""
        self.api_errors.labels(code=str(code)).inc()

    def timed(
        self, run: Callable[[object, Awaitable[Any]], Awaitable[None]]
    ) -> Callable[[object, Awaitable[Any]], Awaitable[None]]:
        """Wrap an update runner's ``run`` so each call lands in the latency histogram."""

        async def timed_run(update: object, coroutine: Awaitable[Any]) -> None:
            start = time.perf_counter()
            try:
                await run(update, coroutine)
            finally:
                self.latency.observe(time.perf_counter() - start)

        return timed_run

    async def refresh(self, db: Database, now: dt.datetime) -> None:
        """Read the shared figures from the database."""
        async with db.read() as s:
            depth, oldest = (
                await s.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        OutboxMessage.status == "pending"
                    )
                )
            ).one()
            dead = await s.scalar(
                select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status == "dead"
                )
            )
            due = await s.scalar(
                select(func.count()).select_from(Timer).where(
                    Timer.status == "pending", Timer.due_at <= now
                )
            )
            escalations = await s.scalar(
                select(func.count()).select_from(TicketEvent).where(
                    TicketEvent.kind == "escalated"
                )
            )
            # a paused ticket's SLA clock is stopped (issue 14): not counted as breaching
            open_ = and_(Ticket.resolved_at.is_(None), Ticket.closed_at.is_(None), Ticket.paused_at.is_(None))
            first = await s.scalar(
                select(func.count()).select_from(Ticket).where(
                    open_, Ticket.acknowledged_at.is_(None), Ticket.first_response_due < now
                )
            )
            fix = await s.scalar(
                select(func.count()).select_from(Ticket).where(
                    open_, or_(Ticket.fix_due < now, Ticket.onsite_due < now)
                )
            )
            by_status = {status: n for status, n in (await s.execute(
                select(ChannelDelivery.status, func.count()).group_by(ChannelDelivery.status)
            )).all()}
            failures = await s.scalar(select(func.coalesce(func.sum(
                ChannelDelivery.attempts - case((ChannelDelivery.status == "sent", 1), else_=0)
            ), 0)))
        for status in ("pending", "sent", "dead", "dropped"):
            self.channel_deliveries.labels(status=status).set(by_status.get(status, 0))
        self.channel_failures.set(failures or 0)
        self.outbox_depth.set(depth or 0)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        self.outbox_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self.outbox_dead.set(dead or 0)
        self.timers_due.set(due or 0)
        self.escalations.set(escalations or 0)
        self.sla_breaches.labels(deadline="first_response").set(first or 0)
        self.sla_breaches.labels(deadline="fix").set(fix or 0)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
