"""Reports linked to a ticket (issue 14, duplicates): who else reported it, and telling them all.

A link is a pair of ticket events on the ticket reported twice: ``linked`` (``data.user_id`` the
second reporter, ``data.report`` what they reported, so undoing the link can still open it as a
ticket of its own) and ``unlinked`` when the reporter says it is a different problem. Replaying a
ticket's events in order gives its linked reporters; no table of its own, no migration.

The reporters of a ticket are its own reporter plus the linked ones: each of them may see the
ticket (``visible_ticket``) and is told what happens to it (``tell_reporters``) — and nothing of
any other ticket. Nothing here imports Telegram or dispatch (dispatch imports this module).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import uow as uow_mod
from bot.core.notify import tell
from bot.tickets import lifecycle as tickets
from storage.models import Ticket, TicketEvent

LINKED, UNLINKED = "linked", "unlinked"


async def _link_events(session: AsyncSession, ticket_id: int) -> list[TicketEvent]:
    rows = await session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_((LINKED, UNLINKED)))
        .order_by(TicketEvent.id)
    )
    return list(rows.all())


def _user_of(event: TicketEvent) -> int | None:
    value = (event.data or {}).get("user_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def linked_reports(session: AsyncSession, ticket_id: int) -> dict[int, dict[str, Any]]:
    """The users linked to the ticket now → the report each of them linked (``{}`` after a merge)."""
    await session.flush()  # links recorded earlier in this transaction count
    linked: dict[int, dict[str, Any]] = {}
    for event in await _link_events(session, ticket_id):
        user_id = _user_of(event)
        if user_id is None:
            continue
        if event.kind == LINKED:
            report = (event.data or {}).get("report")
            linked[user_id] = dict(report) if isinstance(report, dict) else {}
        else:
            linked.pop(user_id, None)
    return linked


async def reporters(session: AsyncSession, ticket: Ticket) -> list[int]:
    """Everyone who reported the ticket: its reporter first, then the linked reporters in order."""
    out = [ticket.reporter_user_id]
    for user_id in await linked_reports(session, ticket.id):
        if user_id not in out:
            out.append(user_id)
    return out


async def is_linked(session: AsyncSession, ticket_id: int, user_id: int) -> bool:
    """Whether ``user_id`` is linked to the ticket now (not its own reporter)."""
    return user_id in await linked_reports(session, ticket_id)


def link(
    session: AsyncSession, ticket: Ticket, user_id: int, report: dict[str, Any] | None, now: Any, *,
    via: str = "report", actor: tickets.Actor | None = None,
) -> TicketEvent:
    """Link ``user_id``'s report to ``ticket`` (``via``: report, same_problem or merge)."""
    return tickets.record(
        session, ticket, LINKED, actor or tickets.Actor("customer", user_id), now,
        data={"user_id": user_id, "via": via, "report": dict(report or {}),
              "text": str((report or {}).get("symptom") or via)[:200]},
    )


async def unlink(session: AsyncSession, ticket: Ticket, user_id: int, now: Any) -> dict[str, Any] | None:
    """Undo ``user_id``'s link to ``ticket``: their report (to open as a new ticket), or None when
    they are not linked to it (a stale or forged press)."""
    report = (await linked_reports(session, ticket.id)).get(user_id)
    if report is None:
        return None
    tickets.record(session, ticket, UNLINKED, tickets.Actor("customer", user_id), now,
                   data={"user_id": user_id, "text": str(report.get("symptom") or "")[:200]})
    return report


async def linked_tickets(session: AsyncSession, user_id: int, limit: int = 20) -> list[Ticket]:
    """The tickets ``user_id`` is linked to now (not their own), newest first (for /mytickets)."""
    rows = await session.execute(
        select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.data)
        .where(TicketEvent.kind.in_((LINKED, UNLINKED))).order_by(TicketEvent.id)
    )
    linked: dict[int, bool] = {}
    for ticket_id, kind, data in rows.all():
        if isinstance(data, dict) and data.get("user_id") == user_id:
            linked[ticket_id] = kind == LINKED
    ids = sorted((tid for tid, on in linked.items() if on), reverse=True)[:limit]
    if not ids:
        return []
    found = await session.scalars(
        select(Ticket).where(Ticket.id.in_(ids), Ticket.reporter_user_id != user_id).order_by(Ticket.id.desc())
    )
    return list(found.all())


async def visible_ticket(session: AsyncSession, number: str, user_id: int) -> Ticket | None:
    """A ticket by number, only if ``user_id`` reported it or is linked to it (else None)."""
    ticket = await session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        return None
    if ticket.reporter_user_id == user_id or await is_linked(session, ticket.id, user_id):
        return ticket
    return None


async def tell_reporters(
    uow: uow_mod.UnitOfWork, ticket: Ticket, template: str, *, default_locale: str, buttons_of: Any = None,
    priority: int = uow_mod.PRIORITY_NOTICE, ref: str | None = None, **context: Any,
) -> list[int]:
    """``notify.tell`` to every reporter of ``ticket`` (each in their locale); the users told."""
    told = await reporters(uow.session, ticket)
    for user_id in told:
        await tell(uow, user_id, template, default_locale=default_locale, buttons_of=buttons_of,
                   priority=priority, ref=ref, **context)
    return told
