"""Assembly of one bot instance: database, python-telegram-bot Application, sender, poller, timers.

The only module of ``bot/`` that imports ``handlers``; the timer handlers are the explicit table
``TIMER_HANDLERS`` (nothing registers itself on import).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import update as sql_update
from telegram.ext import Application

from bot.config import Settings
from bot.core import uow as uow_mod
from bot.core.clock import Clock
from bot.core.timers import StartupHook, TimerHandler
from bot.desk import Desk, load_desk_policy, load_desk_roster
from bot.dispatch import promise_watch, routing, sla_watch, topics
from bot.roster import calendar_reminder
from bot.runtime.aiohttp_request import AiohttpRequest
from bot.runtime.apprise_sender import AppriseSender
from bot.runtime.inbox import Poller
from bot.runtime.metrics import CountingRateLimiter
from bot.runtime.outbox import OutboxSender
from bot.runtime.pacing import PacedRateLimiter, ScopedRetryLimiter
from bot.runtime.processing import ChatOrderedProcessor, UpdateRunner
from bot.runtime.timer_worker import TimerWorker
from bot.tickets import intake, work
from handlers import register_all
from handlers.base import CONTEXT_TYPES, DESK_KEY, DeskContext, apologise
from handlers.guard import install as install_guard
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import ChannelDelivery, InboxUpdate, OutboxMessage, Timer

log = logging.getLogger(__name__)


# What happens when a timer of each kind comes due (``bot/core/timers.py`` schedules them).
TIMER_HANDLERS: dict[str, TimerHandler] = {
    "dispatch": routing.queued_dispatch_due,
    "ack": routing.ack_timer_due,
    "sla": sla_watch.sla_check_due,
    "promise": promise_watch.promise_due,
    "autoclose": work.autoclose_due,
    "handoff": work.handoff_due,
    intake.ASK_TIMER: intake.ask_timeout_due,
    calendar_reminder.KIND: calendar_reminder.check_due,
}
# Run once, each in its own transaction, when the timer worker starts.
TIMER_STARTUP: tuple[StartupHook, ...] = (
    work.schedule_handoffs,
    work.warn_roster_staff,
    calendar_reminder.start_checks,
)


async def _on_error(update: object, context: DeskContext) -> None:
    """A handler raised: mark the unit of work failed so its transaction is rolled back."""
    try:
        uow_mod.current().failed = context.error
    except RuntimeError:
        log.error("error outside an update: %r", context.error, exc_info=context.error)


async def release_claims(db: Database) -> None:
    """Forget every claim on inbox, outbox and timer rows.

    Only for SQLite, where one bot process owns the file: claims still held at start belong to a
    process that died, and waiting them out would stall those chats for up to a minute.
    """
    async with db.write() as session:
        for model in (InboxUpdate, OutboxMessage, Timer, ChannelDelivery):
            await session.execute(
                sql_update(model)
                .where(model.claimed_by.is_not(None))
                .values(claimed_by=None, claimed_until=None)
            )


class ServiceDeskApp:
    """One running bot: ``await start()``, ``await stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        token: str,
        base_url: str,
        base_file_url: str,
        clock: Clock | None = None,
        rate_limit: float = 30.0,
        poll_timeout: int = 10,
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock(settings.timezone)
        self.db = Database(settings.database_url, log_params=settings.log_sql)
        policy = load_desk_policy(settings)
        self.desk = Desk(
            settings=settings,
            db=self.db,
            clock=self.clock,
            policy=policy,
            roster=load_desk_roster(settings, policy),
        )
        builder = (
            Application.builder()
            .token(token)
            .base_url(base_url)
            .base_file_url(base_file_url)
            .updater(None)
            .context_types(CONTEXT_TYPES)
            .job_queue(None)
            .rate_limiter(self._limiter(rate_limit))
            .request(AiohttpRequest(64, pool_timeout=10))
            .get_updates_request(AiohttpRequest(1))
        )
        self._builder = builder
        self.application: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.sender: OutboxSender | None = None
        self.runner: UpdateRunner | None = None
        self.poller: Poller | None = None
        self.timers: TimerWorker | None = None
        self.apprise: AppriseSender | None = None  # escalation channels beyond Telegram (issue 18)
        self.poll_timeout = poll_timeout

    def _finish(self) -> uow_mod.FinishHook | None:
        """The end of every update's and timer's transaction: its ticket events into the staff
        group's topics (bot/dispatch/topics.py); none (not even a savepoint) without STAFF_GROUP_ID."""
        if self.settings.staff_group_id is None:
            return None
        desk = self.desk

        async def mirror(uow: uow_mod.UnitOfWork) -> None:
            await topics.mirror(uow, desk)

        return mirror

    def _limiter(self, rate_limit: float) -> CountingRateLimiter:
        """Outbound pacing: per chat and by priority (bot/runtime/pacing.py) unless switched off."""
        if self.settings.bot_api_chat_pacing:
            return PacedRateLimiter(rate_limit, max_retries=2)
        return ScopedRetryLimiter(rate_limit, max_retries=2)

    def build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        """Create the Application with our processor and handlers."""
        self.sender = OutboxSender(self.db, None, self.clock.now)
        self.runner = UpdateRunner(
            self.db, self.sender, self.clock.now, on_failure=apologise, finish=self._finish()
        )
        processor = ChatOrderedProcessor(self.runner, self.settings.max_concurrent_updates)
        bot_app = self._builder.concurrent_updates(processor).build()
        self.sender.bot = bot_app.bot
        bot_app.bot_data[DESK_KEY] = self.desk
        bot_app.add_error_handler(_on_error)
        register_all(bot_app)
        install_guard(bot_app)  # flood limit, admin audit
        self.application = bot_app
        return bot_app

    async def start(self, *, migrate: bool = True, poll: bool = True) -> None:
        """Migrate, initialise, start processing, the sender and (optionally) polling."""
        if migrate:
            await upgrade_async(self.settings.database_url)
        if self.db.is_sqlite:
            await release_claims(self.db)
        app = self.application or self.build()
        await app.initialize()
        await app.start()
        assert self.sender is not None
        self.sender.start()
        self.timers = TimerWorker(
            self.db, self.sender, self.clock.now, self.desk, TIMER_HANDLERS, TIMER_STARTUP,
            finish=self._finish(),
        )
        self.timers.start()
        self.apprise = AppriseSender(self.db, self.clock.now)
        self.apprise.start()
        if poll:
            self.poller = Poller(
                self.db, app.bot, app.update_queue, self.clock.now, timeout=self.poll_timeout
            )
            self.poller.start()

    async def stop(self) -> None:
        """Stop polling, finish in-flight updates, stop the sender, close everything."""
        if self.poller is not None:
            await self.poller.stop()
        if self.timers is not None:
            await self.timers.stop()
        if self.apprise is not None:
            await self.apprise.stop()
        app = self.application
        if app is not None and app.running:
            await app.stop()
        if self.sender is not None:
            await self.sender.flush(limit_seconds=5)
            await self.sender.stop()
        if app is not None:
            await app.shutdown()
        await self.db.dispose()
