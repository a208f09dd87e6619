"""``sdbot_sla_breaches_open`` counts open tickets past a due time, not paused ones (issue 14)."""

from __future__ import annotations

import datetime as dt

from bot.runtime.metrics import Metrics
from bot.tickets import lifecycle as tickets
from storage.db import Database

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)


def _value(metrics: Metrics, deadline: str) -> float:
    return metrics.sla_breaches.labels(deadline=deadline)._value.get()  # type: ignore[attr-defined,no-any-return]


async def test_paused_tickets_are_not_counted_as_breaching(db_url: str) -> None:
    db = Database(db_url)
    past = NOW - dt.timedelta(hours=1)
    try:
        async with db.write() as s:
            for n, paused in enumerate((None, NOW - dt.timedelta(minutes=90), None)):
                new = tickets.NewTicket(reporter_user_id=7000 + n, reporter_name="x", customer_label="c",
                                        first_response_due=past, onsite_due=past, fix_due=past)
                ticket = await tickets.open_ticket(s, new, NOW - dt.timedelta(hours=3), dt.UTC)
                ticket.paused_at, ticket.pause_reason = paused, "customer" if paused else None
        metrics = Metrics()
        await metrics.refresh(db, NOW)
        assert _value(metrics, "first_response") == 2 and _value(metrics, "fix") == 2
    finally:
        await db.dispose()
