"""Working a ticket: contacts with minutes, resolution, service report, rating, hand-over."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import timers
from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import render
from bot.core.notify import locale_of, tell
from bot.dispatch import assign, cards
from bot.dispatch import routing as dispatch
from bot.roster.duty import period_index, period_start
from bot.staff.lookup import staff_by_key
from bot.tickets import attachments, links
from bot.tickets import lifecycle as tickets
from bot.tickets import pause as pauses
from storage.db import rowcount
from storage.models import Staff, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.desk import Desk

RATING_KEYS = ("very_satisfied", "satisfied", "average", "no_opinion", "dissatisfied")


def record_contact(
    uow: uow_mod.UnitOfWork, ticket: Ticket, staff: Staff, kind: str, done: str, result: str, minutes: int
) -> None:
    """A contact with the customer: what was done, the result, how long it took."""
    if ticket.status in ("acknowledged", "reopened"):
        tickets.transition(uow.session, ticket, "in_progress", tickets.Actor("staff", staff.id), uow.now)
    tickets.record(
        uow.session, ticket, "contact", tickets.Actor("staff", staff.id), uow.now, minutes=minutes,
        data={"kind": kind, "done": done, "result": result, "by": staff.key},
    )


def rating_buttons(locale: str, ticket_id: int) -> uow_mod.Buttons:
    """The five rating buttons of policy §5."""
    return [[(render(locale, f"work/labels#rate_{k}"), encode("rt", "", ticket_id, k))] for k in RATING_KEYS]


class TicketChanged(Exception):
    """Someone else changed the ticket (handed it over, resolved it) since this update read it."""


async def _claim(uow: uow_mod.UnitOfWork, ticket: Ticket, to: str, **values: Any) -> str:
    """Move ``ticket`` to ``to`` with one conditional UPDATE: only while its status and assignee
    are still those this unit of work read, so of a resolve and a concurrent hand-over exactly one
    wins (like ``dispatch.acknowledge``). Returns the status left; raises TicketChanged on a loss."""
    seen, assignee = ticket.status, ticket.assignee_id
    if to not in tickets.TRANSITIONS.get(seen, frozenset()):
        raise tickets.IllegalTransition(ticket.number, seen, to)
    same_assignee = Ticket.assignee_id.is_(None) if assignee is None else Ticket.assignee_id == assignee
    result = await uow.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == seen, same_assignee)
        .values(status=to, **values).execution_options(synchronize_session=False)
    )
    await uow.session.refresh(ticket)
    if rowcount(result) != 1:
        raise TicketChanged(ticket.number)
    return seen


async def _had_onsite_visit(uow: uow_mod.UnitOfWork, ticket: Ticket) -> bool:
    """Whether an on-site contact was recorded on the ticket (then there is a service report)."""
    found = await uow.session.scalar(
        select(TicketEvent.id).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "contact",
            TicketEvent.data["kind"].as_string() == "onsite",
        ).limit(1)
    )
    return found is not None


async def resolve(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff, summary: str) -> None:
    """Resolve with a summary; ask the customer to confirm an on-site report and to rate.

    Raises TicketChanged (nothing done) when a concurrent hand-over or resolve got there first."""
    actor = tickets.Actor("staff", staff.id)
    if ticket.paused_at is not None:  # resolving ends the pause (its time still counts as paused)
        await pauses.resume(uow, desk, ticket, actor)
    seen = await _claim(uow, ticket, "resolved", resolved_at=uow.now)
    tickets.record(
        uow.session, ticket, "resolved", actor, uow.now, from_status=seen, to_status="resolved",
        data={"summary": summary, "by": staff.key, "open_min": int((uow.now - ticket.created_at).total_seconds() // 60)},
    )
    await timers.cancel(uow.session, f"ack:{ticket.id}:")
    ticket.resolution = summary
    await cards.edit_cards(uow, desk, ticket, "resolved", staff.name)
    onsite = await _had_onsite_visit(uow, ticket)
    default = desk.settings.default_locale
    locale = await locale_of(uow.session, ticket.reporter_user_id, default)
    if onsite:  # the customer confirms the service report first, then rates
        report = render(locale, "work/text#service_report", number=ticket.number, engineer=staff.name, summary=summary)
        uow.send(
            ticket.reporter_user_id, report, priority=uow_mod.PRIORITY_NOTICE, ref=f"ticket:{ticket.id}",
            buttons=[[(render(locale, "work/labels#confirm_report"), encode("sr", "", ticket.id))]],
        )
    else:
        await ask_rating(uow, desk, ticket)
    for user_id in (await links.reporters(uow.session, ticket))[1:]:  # linked reporters: told, not asked to rate
        await tell(uow, user_id, "duplicates/text#resolved_linked", default_locale=default, ref=f"ticket:{ticket.id}",
                   number=ticket.number, summary=summary)
    days = desk.policy.satisfaction.no_answer_days
    timers.schedule(
        uow.session, "autoclose", f"autoclose:{ticket.id}:{int(uow.now.timestamp())}",
        uow.now + dt.timedelta(days=days), {"ticket_id": ticket.id},
    )


async def ask_rating(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket) -> None:
    """The five rating buttons of policy §5, sent to the reporter."""
    await tell(
        uow, ticket.reporter_user_id, "work/text#rate_request", default_locale=desk.settings.default_locale,
        buttons_of=lambda loc: rating_buttons(loc, ticket.id), ref=f"ticket:{ticket.id}",
        number=ticket.number, summary=ticket.resolution or "",
    )


async def confirm_service_report(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, user_id: int) -> str:
    """The reporter confirms the on-site service report (once); then they are asked to rate.

    Returns ``confirmed``, ``already`` (confirmed before) or ``stale`` (no report to confirm).
    """
    if ticket.reporter_user_id != user_id or ticket.status not in ("resolved", "closed"):
        return "stale"
    onsite = await _had_onsite_visit(uow, ticket)
    if not onsite:
        return "stale"
    done = await uow.session.scalar(
        select(TicketEvent.id).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "report_confirmed",
                                     TicketEvent.at >= ticket.resolved_at).limit(1)
    )
    if done is not None:
        return "already"
    tickets.record(uow.session, ticket, "report_confirmed", tickets.Actor("customer", user_id), uow.now)
    if ticket.status == "resolved":
        await ask_rating(uow, desk, ticket)
    return "confirmed"


def score_of(desk: Desk, key: str) -> int:
    """The satisfaction score of a rating key, from the policy file."""
    return int(getattr(desk.policy.satisfaction.scores, key))


async def rate(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, user_id: int, key: str) -> bool:
    """The customer's rating closes the ticket; False when it can no longer be rated."""
    if ticket.status != "resolved" or key not in RATING_KEYS or ticket.reporter_user_id != user_id:
        return False
    score = score_of(desk, key)
    won = await uow.session.execute(  # vs. a concurrent auto-close or a second press
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == "resolved")
        .values(status="closed", closed_at=uow.now, rating=score).execution_options(synchronize_session=False)
    )
    await uow.session.refresh(ticket)
    if rowcount(won) == 0:
        return False
    tickets.record(
        uow.session, ticket, "closed", tickets.Actor("customer", user_id), uow.now,
        from_status="resolved", to_status="closed", data={"rating": key, "score": score},
    )
    await timers.cancel(uow.session, f"autoclose:{ticket.id}:")
    if key == "dissatisfied":  # policy §5: a supervisor hears of it at once, with the card
        await cards.alert_rating(uow, desk, ticket, key, score)
    return True


async def autoclose_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """No rating within the policy's days: closed as "no opinion"."""
    ticket = await uow.session.get(Ticket, payload["ticket_id"], with_for_update=True)  # vs. a concurrent press
    if ticket is None or ticket.status != "resolved":
        return
    ticket.rating = score_of(desk, "no_opinion")
    tickets.transition(
        uow.session, ticket, "closed", tickets.SYSTEM, uow.now,
        data={"rating": "no_opinion", "score": ticket.rating, "auto": True},
    )


async def hand_over(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, staff: Staff, reason: str
) -> Staff | None:
    """Pass the ticket to the next engineer in the rotation, with a reason; None if nobody.

    Raises TicketChanged (nothing done) when a concurrent resolve or hand-over got there first."""
    nxt, layer = await dispatch._next_engineer(  # noqa: SLF001  (same domain, shared helper)
        uow, desk, {"engineer": staff.key, "layer": None, "tried": [staff.key]}
    )
    if nxt is None:
        return None
    seen = await _claim(uow, ticket, "dispatched", assignee_id=nxt.id)
    tickets.record(
        uow.session, ticket, "handover", tickets.Actor("staff", staff.id), uow.now,
        data={"from": staff.key, "to": nxt.key, "reason": reason},
    )
    if seen in ("acknowledged", "in_progress", "reopened"):
        tickets.record(uow.session, ticket, "handover_dispatch", tickets.Actor("staff", staff.id), uow.now,
                       from_status=seen, to_status="dispatched", data={"to": nxt.key})
    await dispatch.send_to(uow, desk, ticket, nxt, layer=layer, stage=0, reason="handover", note=reason)
    if staff.telegram_user_id is not None:
        await cards.edit_cards(uow, desk, ticket, "handed_over", nxt.name, only=staff.telegram_user_id)
    return nxt


async def customer_follow_up(
    uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, text: str,
    files: list[attachments.Attachment] | None = None,
) -> str:
    """A customer's reply about a ticket (text and/or files): ``added`` to an open ticket (the
    assignee is told, files forwarded; before anyone acknowledged it, whoever holds its dispatch
    card), ``ask_reopen`` for a resolved/closed one (the customer confirms the fault is back; the
    files are kept on the ticket), else ``closed``."""
    actor = tickets.Actor("customer", ticket.reporter_user_id)
    files = files or []
    data: dict[str, Any] = {"text": text}
    if files:
        data["attachments"] = attachments.dump(files)
    if ticket.status in ("resolved", "closed"):
        attachments.add(ticket, files)
        tickets.record(uow.session, ticket, "customer_info", actor, uow.now, data={**data, "after": ticket.status})
        return "ask_reopen"
    if ticket.status not in tickets.OPEN_STATES:
        return "closed"
    attachments.add(ticket, files)
    tickets.record(uow.session, ticket, "customer_info", actor, uow.now, data=data)
    if ticket.paused_at is not None:  # the customer's reply restarts a paused SLA clock
        await pauses.resume_by_customer(uow, desk, ticket)
    assignee = await uow.session.get(Staff, ticket.assignee_id) if ticket.assignee_id else None
    if assignee is not None and assignee.telegram_user_id is not None:
        told = [assignee.telegram_user_id]
    else:
        told = [c for c in await cards.card_holders(uow, ticket.id) if c != ticket.reporter_user_id]
    for chat_id in told:
        await tell(
            uow, chat_id, "work/text#customer_added", default_locale=desk.settings.default_locale,
            priority=uow_mod.PRIORITY_NOTICE, number=ticket.number, text=text,
            attached=attachments.counts(files), ref=cards.relay_in_ref(ticket.id),
        )  # replying to it (or to a file below it) answers the customer (handlers/relay.py)
        cards.forward_attachments(uow, chat_id, ticket.number, files, ref=cards.relay_in_ref(ticket.id))
    return "added"


async def reopen(uow: uow_mod.UnitOfWork, desk: Desk, ticket: Ticket, user_id: int) -> dispatch.DispatchOutcome | None:
    """The same fault is back after resolution: reopen, flag it a complaint (policy §5), dispatch."""
    if ticket.status not in ("resolved", "closed") or ticket.reporter_user_id != user_id:
        return None
    actor = tickets.Actor("customer", user_id)
    tickets.transition(uow.session, ticket, "reopened", actor, uow.now, data={"same_fault": True})
    await timers.cancel(uow.session, f"autoclose:{ticket.id}:")
    ticket.rating = None
    if not ticket.complaint:
        ticket.complaint = True
        tickets.record(uow.session, ticket, "complaint", tickets.SYSTEM, uow.now, data={"reason": "same fault after repair"})
    return await dispatch.dispatch(uow, desk, ticket, notify_customer=False)  # the reply says when


# --- duty log and rotation handover -------------------------------------------------------

HANDOFF_ENTRIES = 15  # latest contacts/resolutions listed in a handoff summary
DUTY_KINDS = ("dispatched", "reminder", "escalated", "acknowledged", "contact", "handover", "resolved", "sla_breach")


@dataclass
class DutySummary:
    """One engineer's duty log for a period, as handed to the next engineer and supervisors."""

    member: str
    name: str
    start: dt.datetime
    end: dt.datetime
    dispatched: int = 0
    acknowledged: int = 0
    ack_minutes_avg: int | None = None
    contacts: int = 0
    contact_minutes: int = 0
    escalations: int = 0
    resolved: int = 0
    open_tickets: list[tuple[str, str]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)  # contacts and resolutions, newest last


async def duty_log(
    session: AsyncSession, staff: Staff, start: dt.datetime, end: dt.datetime
) -> list[tuple[TicketEvent, str]]:
    """Every dispatch, ack, contact, escalation and resolution of ``staff`` in ``[start, end)``.

    Each entry is (event, ticket number); events carry their time, ``minutes`` (contacts) and
    durations in ``data`` (``since_dispatch_s`` on acks, ``waited_s`` on escalations,
    ``open_min`` on resolutions).
    """
    mine = or_(
        and_(TicketEvent.actor_kind == "staff", TicketEvent.actor_id == staff.id),
        TicketEvent.data["to"].as_string() == staff.key,
        TicketEvent.data["from"].as_string() == staff.key,
    )
    rows = await session.execute(
        select(TicketEvent, Ticket.number)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.at >= start, TicketEvent.at < end, TicketEvent.kind.in_(DUTY_KINDS), mine)
        .order_by(TicketEvent.at, TicketEvent.id)
    )
    return [(ev, number) for ev, number in rows.all()]


async def summarise(session: AsyncSession, staff: Staff, start: dt.datetime, end: dt.datetime) -> DutySummary:
    """Counts and durations of ``staff``'s duty log, plus the tickets still open in their name."""
    out = DutySummary(staff.key, staff.name, start, end)
    ack_secs: list[int] = []
    for ev, number in await duty_log(session, staff, start, end):
        data = ev.data or {}
        if ev.kind == "dispatched" and data.get("to") == staff.key:
            out.dispatched += 1
        elif ev.kind == "acknowledged" and ev.actor_id == staff.id:
            out.acknowledged += 1
            if data.get("since_dispatch_s") is not None:
                ack_secs.append(int(data["since_dispatch_s"]))
        elif ev.kind == "contact" and ev.actor_id == staff.id:
            out.contacts += 1
            out.contact_minutes += ev.minutes or 0
            out.entries.append({"at": ev.at, "number": number, "kind": data.get("kind"), "minutes": ev.minutes,
                                "text": data.get("result") or data.get("done") or ""})
        elif ev.kind == "escalated" and data.get("from") == staff.key:
            out.escalations += 1
        elif ev.kind == "resolved" and ev.actor_id == staff.id:
            out.resolved += 1
            out.entries.append({"at": ev.at, "number": number, "kind": "resolved", "minutes": None,
                                "text": data.get("summary") or ""})
    if ack_secs:
        out.ack_minutes_avg = round(sum(ack_secs) / len(ack_secs) / 60)
    open_rows = await session.execute(
        select(Ticket.number, Ticket.status)
        .where(Ticket.assignee_id == staff.id, Ticket.status.in_(tuple(tickets.OPEN_STATES)))
        .order_by(Ticket.id)
    )
    out.open_tickets = [(n, st) for n, st in open_rows.all()]
    return out


def _layer_next_handoff(roster: Any, layer: Any, after: dt.datetime) -> tuple[dt.datetime, str, str, dt.datetime] | None:
    """(at, outgoing, incoming, outgoing period start) of ``layer``'s next handoff after ``after``."""

    members = layer.members
    if len(set(members)) < 2:
        return None
    k = period_index(roster, layer, after) + 1
    first = k
    while members[(k - 1) % len(members)] == members[k % len(members)]:
        k += 1
    return period_start(roster, layer, k), members[(k - 1) % len(members)], members[k % len(members)], \
        period_start(roster, layer, first - 1)


async def schedule_handoffs(session: AsyncSession, desk: Desk, now: dt.datetime) -> None:
    """Make sure every rotating layer has a timer at its next handoff."""
    roster = desk.roster
    for layer in roster.layers:
        nxt = _layer_next_handoff(roster, layer, now)
        if nxt is None:
            continue
        at, out_key, in_key, since = nxt
        await timers.schedule_once(
            session, "handoff", f"handoff:{layer.name}:{int(at.timestamp())}", at,
            {"layer": layer.name, "from": out_key, "to": in_key, "since": since.isoformat(), "at": at.isoformat()},
        )


async def warn_roster_staff(session: AsyncSession, desk: Desk, now: dt.datetime) -> None:
    """Log a warning for roster members with no active, registered staff record (they get no card)."""
    import logging

    keys = {m for layer in desk.roster.layers for m in layer.members}
    rows = (await session.execute(select(Staff.key, Staff.active, Staff.telegram_user_id).where(Staff.key.in_(keys)))).all()
    known = {k: (active, tg) for k, active, tg in rows}
    for key in sorted(keys):
        active, tg = known.get(key, (None, None))
        if active is None:
            logging.getLogger(__name__).warning("roster member %r has no staff record (sdbot staff add --key %s)", key, key)
        elif not active or tg is None:
            logging.getLogger(__name__).warning("roster member %r is %s", key, "inactive" if not active else "not registered")


async def handoff_due(uow: uow_mod.UnitOfWork, desk: Desk, payload: dict[str, Any]) -> None:
    """Rotation handoff: the outgoing engineer's unacknowledged tickets move to the incoming one;
    the outgoing engineer's duty log goes to the incoming one and supervisors."""
    at = dt.datetime.fromisoformat(payload["at"])
    since = dt.datetime.fromisoformat(payload["since"])
    outgoing = await staff_by_key(uow.session, payload["from"])
    incoming = await staff_by_key(uow.session, payload["to"])
    if outgoing is not None:
        await assign.move_unacknowledged(uow, desk, outgoing, incoming)
        summary = await summarise(uow.session, outgoing, since, at)
        tz = uow.now.tzinfo
        ctx = {
            "s": summary, "layer": payload["layer"], "incoming": incoming.name if incoming else payload["to"],
            "start": since.astimezone(tz), "end": at.astimezone(tz), "tz": tz, "shown": HANDOFF_ENTRIES,
        }
        readers = [incoming] if incoming is not None and incoming.active else []
        readers += [s for s in await cards.supervisors(uow) if s not in readers]
        for reader in readers:
            if reader.telegram_user_id is None:
                continue
            await tell(
                uow, reader.telegram_user_id, "work/text#handoff_summary",
                default_locale=desk.settings.default_locale, priority=uow_mod.PRIORITY_REPORT, **ctx,
            )
    await schedule_handoffs(uow.session, desk, uow.now)
