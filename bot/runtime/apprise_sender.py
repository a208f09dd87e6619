"""The Apprise sender: delivers escalation messages to staff members' Apprise URLs (issue 18).

Rows of ``channel_deliveries`` (queued by ``bot.dispatch.channels`` in the escalation's own
transaction) are claimed like the outbox's (``claim_rows``), sent one by one through Apprise, and
retried with backoff; after ``max_attempts`` a row is given up (``dead``) with one log line naming
the row, the staff key and the masked URL — never the URL. This is a loop of its own, apart from
the Telegram outbox: a slow or dead channel never holds up a Telegram message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable

from sqlalchemy import func, or_, select, update

from bot.runtime.loops import cancel_task, start_task, wait_for_wake
from bot.staff.channels import fingerprint, mask, urls_of
from storage.db import Database
from storage.models import ChannelDelivery, Staff
from storage.repo import claim_rows

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120
MAX_ATTEMPTS = 4
BASE_BACKOFF = 30.0  # seconds after the first failure; doubled each time
MAX_BACKOFF = 1800.0
SEND_TIMEOUT = 30.0  # one Apprise call


def backoff(attempts: int, base: float = BASE_BACKOFF) -> float:
    """Seconds to wait after ``attempts`` failures: base, 2·base, 4·base … capped."""
    return min(MAX_BACKOFF, base * 2.0 ** max(0, attempts - 1))


class AppriseSender:
    """Background task sending ``channel_deliveries`` rows through Apprise."""

    def __init__(
        self, db: Database, now: Callable[[], dt.datetime], *, max_attempts: int = MAX_ATTEMPTS,
        base_backoff: float = BASE_BACKOFF,
    ) -> None:
        self.db = db
        self.now = now
        self.max_attempts = max_attempts
        self.base_backoff = base_backoff
        self.instance = f"apprise-{uuid.uuid4().hex[:8]}"
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0  # attempts that failed
        self.dead = 0

    def _eligible(self, now: dt.datetime):
        return (
            select(ChannelDelivery)
            .where(
                ChannelDelivery.status == "pending",
                ChannelDelivery.next_attempt_at <= now,
                or_(ChannelDelivery.claimed_until.is_(None), ChannelDelivery.claimed_until < now),
            )
            .order_by(ChannelDelivery.id)
        )

    async def claim(self, limit: int = 20) -> list[ChannelDelivery]:
        """Claim due rows for this sender."""
        now = self.now()
        async with self.db.read() as s:
            if await s.scalar(self._eligible(now).with_only_columns(ChannelDelivery.id).limit(1)) is None:
                return []
        async with self.db.write() as s:
            return await claim_rows(
                s, self._eligible(now).limit(limit), ChannelDelivery.id, self.instance,
                now + dt.timedelta(seconds=CLAIM_SECONDS),
            )

    async def _url_of(self, row: ChannelDelivery) -> tuple[str | None, str]:
        """The row's URL as stored on the staff row now (None: removed since) and the staff key."""
        async with self.db.read() as s:
            staff = await s.get(Staff, row.staff_id)
        if staff is None:
            return None, "?"
        for url in urls_of(staff):
            if fingerprint(url) == row.url_hash:
                return url, staff.key
        return None, staff.key

    async def deliver(self, row: ChannelDelivery) -> str:
        """Try one row once and record the outcome: ``sent``, ``retry``, ``dead`` or ``dropped``."""
        url, key = await self._url_of(row)
        values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
        if url is None:
            outcome = "dropped"
            values |= {"status": "dropped", "last_error": "the URL was removed"}
        else:
            error = await self._send(url, row)
            attempts = row.attempts + 1
            if error is None:
                outcome = "sent"
                self.sent += 1
                values |= {"status": "sent", "sent_at": self.now(), "attempts": attempts}
            elif attempts >= self.max_attempts:
                outcome = "dead"
                self.failed += 1
                self.dead += 1
                log.error("apprise delivery %s to staff %s (%s) given up after %d attempts: %s",
                          row.id, key, mask(url), attempts, error)
                values |= {"status": "dead", "attempts": attempts, "last_error": error}
            else:
                outcome = "retry"
                self.failed += 1
                wait = backoff(attempts, self.base_backoff)
                log.warning("apprise delivery %s to staff %s (%s) failed (attempt %d), retry in %.0f s: %s",
                            row.id, key, mask(url), attempts, wait, error)
                values |= {"attempts": attempts, "last_error": error,
                           "next_attempt_at": self.now() + dt.timedelta(seconds=wait)}
        async with self.db.write() as s:
            await s.execute(update(ChannelDelivery).where(ChannelDelivery.id == row.id).values(**values))
        return outcome

    async def _send(self, url: str, row: ChannelDelivery) -> str | None:
        """One Apprise call; None when it succeeded, else a short reason (no URL in it)."""
        import apprise  # noqa: PLC0415  (lazily: ~15 MB resident, most desks never send through it)

        notifier = apprise.Apprise()
        if not notifier.add(url):
            return "the URL is not one Apprise accepts"
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                result = await notifier.async_notify(body=row.body, title=row.title)
        except TimeoutError:
            return f"no answer within {SEND_TIMEOUT:.0f} s"
        except Exception as exc:  # a plugin's own failure: retried like any other
            return f"{type(exc).__name__}"
        return None if result else "the service did not accept the message"

    async def run_once(self) -> int:
        """Claim and deliver one batch; how many rows were tried."""
        rows = await self.claim()
        for row in rows:
            await self.deliver(row)
        return len(rows)

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Send forever: polls for due rows (woken early by ``wake``)."""
        while True:
            self.wake.clear()
            tried = 0
            try:
                tried = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the sender alive whatever happens
                log.exception("apprise sender loop error")
            if tried:
                continue
            await wait_for_wake(self.wake, idle_seconds)

    def start(self) -> None:
        """Start the background loop."""
        self._task = start_task(self._task, self.run, "apprise-sender")

    async def stop(self) -> None:
        """Stop the background loop (a claimed row is tried again once its claim runs out)."""
        await cancel_task(self._task)
        self._task = None

    async def pending(self) -> int:
        """Rows still waiting to be sent."""
        async with self.db.read() as s:
            return int(await s.scalar(
                select(func.count()).select_from(ChannelDelivery).where(ChannelDelivery.status == "pending")
            ) or 0)
