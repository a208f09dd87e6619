"""Escalation channels beyond Telegram (issue 18): which channels a step uses, and its message.

The policy's ``[escalation.channels]`` says, per step (``dispatch``, ``remind``, ``next``,
``supervisors``, ``repeat``), whether the staff member's Apprise URLs are used too — always
(``apprise``) or only outside office hours of a working day (``apprise_after_hours``). When they
are, one ``channel_deliveries`` row per URL is written in the step's own transaction, with the
text rendered from ``templates/<locale>/reach/apprise.j2``: the ticket number, the customer, the
severity and how to acknowledge. ``bot/runtime/apprise_sender.py`` delivers them (no I/O here).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core import uow as uow_mod
from bot.core.i18n import render
from bot.core.notify import locale_of
from bot.roster.calendar import day_info
from bot.roster.duty import tz_of
from bot.staff.channels import fingerprint, urls_of
from storage.models import ChannelDelivery, Staff, Ticket

if TYPE_CHECKING:
    from bot.desk import Desk

STEPS = ("dispatch", "remind", "next", "supervisors", "repeat")


async def after_hours(uow: uow_mod.UnitOfWork, desk: Desk, at: dt.datetime) -> bool:
    """True outside office hours of a working day (evenings, nights, weekends, holidays)."""
    roster = desk.roster
    calendar = await desk.stored_calendar.merged(uow.session, roster.calendar)
    local = at.astimezone(tz_of(roster))
    minutes = local.hour * 60 + local.minute
    office = roster.hours.office_start <= minutes < roster.hours.office_end
    return not (office and day_info(local.date(), calendar).is_workday)


async def uses_apprise(uow: uow_mod.UnitOfWork, desk: Desk, step: str) -> bool:
    """Whether ``step`` goes to the Apprise URLs too now (policy ``[escalation.channels]``)."""
    chosen = desk.policy.escalation.channels.of(step)
    if "apprise" in chosen:
        return True
    return "apprise_after_hours" in chosen and await after_hours(uow, desk, uow.now)


def _plain(text: str) -> str:
    """A rendered template as plain text (the templates escape for Telegram's HTML)."""
    return html.unescape(text)


async def notify(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Sequence[Staff], step: str, **extra: Any
) -> int:
    """Queue the step's message to each of ``staff``'s Apprise URLs when the policy says so;
    returns how many deliveries were queued (0 when the step is Telegram only)."""
    if step not in STEPS:
        raise ValueError(f"unknown escalation step {step!r}")
    if not staff or not await uses_apprise(uow, desk, step):
        return 0
    queued = 0
    for person in staff:
        urls = urls_of(person)
        if not urls or not person.active:
            continue
        default = desk.settings.default_locale
        locale = await locale_of(uow.session, person.telegram_user_id, default) if person.telegram_user_id else default
        ctx = {
            "number": ticket.number, "customer": ticket.customer_label, "severity": ticket.severity,
            "category": ticket.category, "equipment": ticket.equipment_label, "step": step,
            "name": person.name, **extra,
        }
        title = _plain(render(locale, "reach/apprise#title", **ctx))[:200]
        body = _plain(render(locale, "reach/apprise#body", **ctx))
        for url in urls:
            uow.session.add(ChannelDelivery(
                staff_id=person.id, url_hash=fingerprint(url), title=title, body=body,
                ref=f"ticket:{ticket.id}:{step}", status="pending", attempts=0,
                next_attempt_at=uow.now, created_at=uow.now,
            ))
            queued += 1
    return queued
