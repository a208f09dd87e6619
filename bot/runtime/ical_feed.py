"""``GET /ical/<token>.ics``: an engineer's private calendar subscription (their shifts, holidays).

Served by the webhook server (``bot.runtime.webhook``) and, in polling mode — where no webhook
server runs — by ``FeedServer``, a small listener on WEBHOOK_HOST:WEBHOOK_PORT, so the link
``/myshifts`` shows (WEBHOOK_URL or ``http://WEBHOOK_HOST:WEBHOOK_PORT``) works in both modes.
A token that does not match (unknown, rotated, deactivated staff) gets a bare 404. The token is
never logged: aiohttp's access log is off and the log filter masks ``/ical/<token>``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from aiohttp import web

from bot.desk import Desk
from bot.roster.duty import tz_of
from bot.roster.ical import roster_calendar
from bot.roster.store import stored_overrides
from bot.staff.ical_tokens import FEED_PATH, staff_by_token

log = logging.getLogger(__name__)

PAST_DAYS = 31  # shifts kept in the feed after they are over
FUTURE_DAYS = 92  # how far ahead the feed reaches (as far as a cover can be entered)
NOT_FOUND = "not found"


class CalendarFeed:
    """The subscription route over the desk's database, roster and clock."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def add_routes(self, app: web.Application) -> None:
        """Add ``GET /ical/{token}.ics`` to ``app``."""
        app.router.add_get(FEED_PATH, self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        """The calendar of the staff member owning the token, or 404."""
        desk = self.desk
        now = desk.now()
        tz = tz_of(desk.roster)
        today = now.astimezone(tz).date()
        start, end = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=FUTURE_DAYS)
        since = dt.datetime.combine(start, dt.time(), tzinfo=tz)
        async with desk.db.read() as session:
            staff = await staff_by_token(session, request.match_info["token"])
            if staff is None:
                return web.Response(status=404, text=NOT_FOUND)
            member = staff.key
            calendar = await desk.stored_calendar.merged(session, desk.roster.calendar)
            extra = await stored_overrides(session, since)
        roster = dataclasses.replace(
            desk.roster, calendar=calendar, overrides=desk.roster.overrides + extra)
        body = roster_calendar(roster, start, end, member=member, stamp=now).to_ical()
        return web.Response(
            body=body, content_type="text/calendar", charset="utf-8",
            headers={"Cache-Control": "private, max-age=300",
                     "Content-Disposition": f'inline; filename="{member}.ics"'},
        )


class FeedServer:
    """Polling mode's own HTTP listener: only the calendar feed (and ``/healthz``)."""

    def __init__(self, desk: Desk, host: str = "127.0.0.1", port: int = 8088) -> None:
        self.feed = CalendarFeed(desk)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where it listens (the real port once started)."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen (OSError when the port is taken)."""
        app = web.Application()
        self.feed.add_routes(app)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError:
            await self.stop()
            raise
        for addr in self._runner.addresses:
            if isinstance(addr, tuple):
                self.port = int(addr[1])
                break

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})
