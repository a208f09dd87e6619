"""Supervisor commands: /log /open /overdue /ticket /complaints /stats /export /chart, paging,
plain-language questions, and /assign with the Assign button of the alerts.

Reports read through a read-only session. The export and the chart (seconds of work at scale)
are built after the update has committed — outside its write transaction, in threads — and
their documents queued in the outbox then."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from telegram import Update

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import render, simplified
from bot.core.roles import MANAGERS, STAFF
from bot.desk import Desk
from bot.dispatch import assign, cards
from bot.dispatch import sla as sla_due
from bot.reports import chart, dutylog, export, onduty, paging, periods, stats, ticketviews
from bot.reports.intent import intent_of
from bot.reports.sqlx import staff_names
from bot.reports.staffref import find_staff, mentioned_staff
from bot.roster.calendar import is_workday
from bot.tickets import attachments
from bot.tickets.lifecycle import format_number
from handlers.base import Actor, DeskContext, guarded, pressed
from handlers.customer import show_ticket
from handlers.flows import set_manager_fallback
from storage.models import Staff, Ticket

log = logging.getLogger(__name__)
LOG_DETAIL_LIMIT = 400  # lines shown one by one for several days; above it, daily subtotals per engineer


def _tz(uow: uow_mod.UnitOfWork) -> dt.tzinfo:
    tz = uow.now.tzinfo
    assert tz is not None
    return tz


def _today(uow: uow_mod.UnitOfWork) -> dt.date:
    return uow.now.date()


def _args(context: DeskContext) -> str:
    return " ".join(context.args or [])


async def _paged(actor: Actor, text: str) -> None:
    await paging.send_paged(actor.uow, actor.chat_id, actor.user.id, text)


def _usage(actor: Actor, cmd: str) -> None:
    actor.reply("supervisor/text#usage", cmd=cmd)


# --- /log ----------------------------------------------------------------------------------


@guarded(roles=STAFF)
async def log_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/log [DATE | MONTH | FROM TO] [ENGINEER]``: engineers get their own log only."""
    await show_log(context.desk, actor, _args(context), natural=False)


async def show_log(desk: Desk, actor: Actor, text: str, *, natural: bool, question: str = "") -> None:
    """Render the duty log asked for by ``text`` (for a plain ``question``: an engineer it names)."""
    uow = actor.uow
    parsed = periods.parse_args(text, _today(uow))
    if parsed.error:
        _usage(actor, "log")
        return
    period = parsed.period or periods.day(_today(uow))
    staff = await mentioned_staff(uow.session, question) if natural else None
    if parsed.rest and not natural:
        staff = await find_staff(uow.session, parsed.rest)
        if staff is None:
            actor.reply("supervisor/text#unknown_engineer", name=parsed.rest[:40])
            _usage(actor, "log")
            return
    if actor.role not in MANAGERS:
        own = actor.user.staff
        if own is None or (staff is not None and staff.id != own.id):
            actor.reply("supervisor/text#own_log_only")
            return
        staff = own
    is_workday, office = _calendar(desk)
    async with desk.db.read() as s:
        log = await dutylog.duty_log(
            s, period, _tz(uow), staff_id=staff.id if staff else None, is_workday=is_workday, office=office,
            detail_limit=None if period.kind == "day" else LOG_DETAIL_LIMIT,
        )
        staff_rows = await _staff_map(s)
        spans = await onduty.on_duty_day(s, desk.roster, period.start, _tz(uow)) if period.kind == "day" else []
    names = {k: v.name for k, v in staff_rows.items()}
    by_key = {v.key: v.name for v in staff_rows.values()}
    duty = [{"name": by_key.get(d.member, d.member), "start": d.start, "end": d.end,
             "covers": by_key.get(d.covers, d.covers) if d.covers else None}
            for d in spans if staff is None or d.member == staff.key]
    days = dutylog.view(log, names, is_workday)
    text_out = actor.t(
        "supervisor/log", label=period.label, engineer=staff.name if staff else None, days=days, totals=log.totals,
        duty=duty, detailed=log.detailed,
    )
    await _paged(actor, text_out)


def _calendar(desk: Desk) -> tuple[Any, tuple[int, int]]:
    roster = desk.roster
    if roster is None:
        return (lambda d: d.weekday() < 5), (9 * 60, 18 * 60)

    return (lambda d: is_workday(d, roster.calendar)), (roster.hours.office_start, roster.hours.office_end)


async def _staff_map(session: Any) -> dict[int, Any]:

    return await staff_names(session)


# --- /open /overdue /complaints /ticket ----------------------------------------------------------


@guarded(roles=MANAGERS)
async def open_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/open``: every ticket not yet resolved."""
    await show_open(context.desk, actor)


async def show_open(desk: Desk, actor: Actor) -> None:
    """Render the open tickets."""
    async with desk.db.read() as s:
        listing = await ticketviews.open_tickets(s, _tz(actor.uow))
    await _paged(actor, actor.t("supervisor/open", rows=listing.rows, total=listing.total))


@guarded(roles=MANAGERS)
async def overdue_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/overdue``: open tickets past an SLA due time, with how late."""
    await show_overdue(context.desk, actor)


async def show_overdue(desk: Desk, actor: Actor) -> None:
    """Render the overdue tickets, latest first."""
    uow = actor.uow
    async with desk.db.read() as s:
        listing = await ticketviews.overdue_tickets(s, uow.now, _tz(uow))
    rows = [
        {**dataclasses.asdict(r), "late_min": r.late_by.total_seconds() / 60 if r.late_by else None}
        for r in listing.rows
    ]
    await _paged(actor, actor.t("supervisor/overdue", rows=rows, total=listing.total))


@guarded(roles=MANAGERS)
async def complaints_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/complaints [MONTH]``: complaint tickets and "dissatisfied" ratings."""
    await show_complaints(context.desk, actor, _args(context))


async def show_complaints(desk: Desk, actor: Actor, text: str) -> None:
    """Open complaints (or those of a period) and the period's dissatisfied ratings."""
    uow = actor.uow
    parsed = periods.parse_args(text, _today(uow))
    if parsed.error or parsed.rest:
        _usage(actor, "complaints")
        return
    month = parsed.period or periods.this_month(_today(uow))
    async with desk.db.read() as s:
        listing = await ticketviews.complaints(s, _tz(uow), parsed.period)
        bad = await ticketviews.dissatisfied(s, month, _tz(uow))
    text_out = actor.t(
        "supervisor/complaints", rows=listing.rows, total=listing.total,
        label=parsed.period.label if parsed.period else None, month_label=month.label,
        bad=[{"number": n, "engineer": e, "at": at} for n, e, at in bad],
    )
    await _paged(actor, text_out)


@guarded()
async def ticket_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/ticket NO``: supervisors see any ticket with its history; customers keep their own view."""
    if actor.role not in MANAGERS:

        await show_ticket(update, context)
        return
    await show_ticket_history(context.desk, actor, _args(context))


async def show_ticket_history(desk: Desk, actor: Actor, text: str) -> None:
    """Any ticket by number, with every event."""
    number = text.strip().split()[0] if text.strip() else ""
    if not number:
        _usage(actor, "ticket")
        return
    uow = actor.uow
    tz = _tz(uow)
    async with desk.db.read() as s:
        found = await ticketviews.ticket_history(s, number, tz)
    if found is None:
        actor.reply("tickets/text#not_found", number=number[:30])
        return
    ticket, assignee, items = found

    def when(d: dt.datetime | None) -> str:
        return d.astimezone(tz).strftime("%m-%d %H:%M") if d else "—"

    due = {"first": when(ticket.first_response_due), "onsite": when(ticket.onsite_due), "fix": when(ticket.fix_due)}
    paused = {"minutes": round(sla_due.paused_total(ticket, uow.now).total_seconds() / 60),
              "since": when(ticket.paused_at) if ticket.paused_at else None, "reason": ticket.pause_reason}
    events = [_history_line(e) for e in items]
    await _paged(actor, actor.t("supervisor/ticket", t=ticket, assignee=assignee, due=due, paused=paused,
                                items=events))


_LINE_KEYS = ("done", "result", "reason", "level", "summary", "rating", "score", "text", "canned")


def _history_line(e: ticketviews.HistoryItem) -> dict[str, Any]:
    """What the ``line`` macro shows for one event (every key present; data never shadows kind)."""
    line: dict[str, Any] = {k: e.data.get(k) for k in _LINE_KEYS}
    line.update(at=e.at, kind=e.kind, actor=e.actor, from_status=e.from_status, to_status=e.to_status,
                minutes=e.minutes, customer=None, contact_kind=e.data.get("kind"), delay_min=_delay_min(e.data),
                attached=attachments.counts(attachments.parse(e.data.get("attachments"))))
    return line


def _delay_min(data: dict[str, Any]) -> int | None:
    value = data.get("delay_s")
    return int(value) // 60 if isinstance(value, int | float) else None


# --- /stats /export /chart -------------------------------------------------------------------


def _month_arg(actor: Actor, cmd: str, text: str) -> periods.Period | None:
    """The period of a MONTH argument (default: this month), or None after a usage reply."""
    today = _today(actor.uow)
    parsed = periods.parse_args(text, today)
    if parsed.error or parsed.rest:
        _usage(actor, cmd)
        return None
    return parsed.period or periods.this_month(today)


@guarded(roles=MANAGERS)
async def stats_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/stats [MONTH]``."""
    await show_stats(context.desk, actor, _args(context))


async def show_stats(desk: Desk, actor: Actor, text: str) -> None:
    """States, categories, response times vs the policy, breaches, satisfaction, escalations."""
    period = _month_arg(actor, "stats", text)
    if period is None:
        return
    uow = actor.uow
    async with desk.db.read() as s:
        result = await stats.stats(s, period, _tz(uow), uow.now, desk.policy)
    scores = desk.policy.satisfaction.scores if desk.policy is not None else None
    await _paged(actor, actor.t("supervisor/stats", s=result, scores=scores))


@guarded(roles=MANAGERS)
async def export_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/export [MONTH]``: XLSX (events + tickets) and CSV (events) as documents."""
    send_export(context, actor, _args(context))


def _file(data: bytes, filename: str) -> dict[str, str]:
    return {"base64": base64.b64encode(data).decode("ascii"), "filename": filename}


Calls = list[tuple[str, dict[str, Any]]]


def _after_commit(context: DeskContext, actor: Actor, build: Callable[[], Awaitable[Calls]]) -> None:
    """Run ``build`` once this update has committed — outside its write transaction, so a
    seconds-long export never holds up other chats — and queue the Bot API calls it returns."""
    desk = context.desk
    runner = getattr(context.application.update_processor, "runner", None)
    sender = getattr(runner, "sender", None)
    chat_id, locale = actor.chat_id, actor.locale

    async def job() -> None:
        try:
            calls = await build()
        except Exception:
            log.exception("report for chat %s failed", chat_id)
            calls = [("sendMessage", uow_mod.message_payload(chat_id, render(locale, "common/error")))]
        async with desk.db.write() as session:
            later = uow_mod.UnitOfWork(session=session, now=desk.now())
            for method, payload in calls:
                later.queue(chat_id, method, payload)
        if sender is not None:
            sender.wake.set()

    actor.uow.after_commit.append(job)


def send_export(context: DeskContext, actor: Actor, text: str) -> None:
    """Say the export is being prepared; build and queue the documents after the commit."""
    period = _month_arg(actor, "export", text)
    if period is None:
        return
    desk, uow = context.desk, actor.uow
    tz, now, chat_id = _tz(uow), uow.now, actor.chat_id
    actor.reply("supervisor/text#export_preparing", label=period.label)

    async def build() -> Calls:
        async with desk.db.read() as s:
            data = await export.export_data(s, period, tz, now)
        if not data.events and not data.tickets:
            return [("sendMessage", uow_mod.message_payload(
                chat_id, actor.t("supervisor/text#export_empty", label=period.label)))]
        xlsx, csv_bytes = await asyncio.gather(
            asyncio.to_thread(export.to_xlsx, data), asyncio.to_thread(export.to_csv, data)
        )
        stem = f"servicedesk-{period.label.replace(' – ', '_')}"
        caption = actor.t("supervisor/text#export_caption", label=period.label, events=len(data.events),
                          tickets=len(data.tickets))
        return [
            ("sendDocument", {"chat_id": chat_id, "document": _file(xlsx, f"{stem}.xlsx"), "caption": caption}),
            ("sendDocument", {"chat_id": chat_id, "document": _file(csv_bytes, f"{stem}.csv"),
                              "caption": actor.t("supervisor/text#export_csv_caption")}),
        ]

    _after_commit(context, actor, build)


@guarded(roles=MANAGERS)
async def chart_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/chart [MONTH]``: PNG of tickets per day and first-response compliance, as a photo."""
    send_chart(context, actor, _args(context))


def send_chart(context: DeskContext, actor: Actor, text: str) -> None:
    """Build and queue the chart of a period (after the commit)."""
    period = _month_arg(actor, "chart", text)
    if period is None:
        return
    desk, uow = context.desk, actor.uow
    tz, now, chat_id = _tz(uow), uow.now, actor.chat_id

    async def build() -> Calls:
        async with desk.db.read() as s:
            series = await chart.day_series(s, period, tz, now)
        # chart labels in Chinese only when a font can draw them
        locale = actor.locale if actor.locale == "en" or bool(await asyncio.to_thread(chart.cjk_font)) else "en"

        def label(name: str) -> str:
            return render(locale, f"supervisor/text#{name}", label=period.label)

        png = await asyncio.to_thread(
            chart.render_png, series, title=label("chart_title"), created_label=label("chart_created"),
            compliance_label=label("chart_compliance"),
        )
        caption = actor.t("supervisor/text#chart_caption", label=period.label, total=sum(series.created))
        return [("sendPhoto", {"chat_id": chat_id, "photo": _file(png, "chart.png"), "caption": caption})]

    _after_commit(context, actor, build)


# --- paging and plain questions ------------------------------------------------------------------


@guarded()  # customers page their own lists too; page_of checks the set is the presser's
async def page_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``sv:pg:<set>:<page>``: turn a page; only the person who asked may."""
    query = update.callback_query
    uow = actor.uow
    found = await paging.page_of(uow.session, query.data if query else "", actor.user.id)
    if found is None or query is None or query.message is None:
        actor.reply("common/stale_button")
        return
    set_id, n, pages = found
    uow.edit(actor.chat_id, pages[n], message_id=query.message.message_id,
             buttons=paging.buttons(set_id, n, len(pages)))


async def natural(update: Update, context: DeskContext, actor: Actor) -> None:
    """A supervisor's plain message: the matching report, else the command list."""
    msg = update.effective_message
    text = (msg.text or "") if msg else ""
    intent = intent_of(simplified(text))  # the patterns are Simplified; 昨晚誰值班 asks the same
    desk = context.desk
    if intent is None:
        actor.reply("supervisor/text#commands")
        return
    today = _today(actor.uow)
    period = periods.parse_args(intent.args, today).period if intent.args else None
    arg = _period_arg(period)
    match intent.command:
        case "log":
            await show_log(desk, actor, arg, natural=True, question=text)
        case "open":
            await show_open(desk, actor)
        case "overdue":
            await show_overdue(desk, actor)
        case "ticket":
            await show_ticket_history(desk, actor, intent.args)
        case "complaints":
            await show_complaints(desk, actor, arg)
        case "stats":
            await show_stats(desk, actor, arg)
        case "export":
            send_export(context, actor, arg)
        case "chart":
            send_chart(context, actor, arg)


def _period_arg(period: periods.Period | None) -> str:
    """A period written back as arguments the parser reads (ISO dates)."""
    if period is None:
        return ""
    if period.kind == "month":
        return f"{period.start:%Y-%m}"
    if period.kind == "day":
        return period.start.isoformat()
    return f"{period.start.isoformat()} {period.end.isoformat()}"


set_manager_fallback(natural)


# --- /assign and the Assign button ------------------------------------------------------------

ASSIGN_MENU_MAX = 20  # engineers listed under the Assign button


def _me(actor: Actor) -> Staff:
    assert actor.user.staff is not None
    return actor.user.staff


@guarded(roles=MANAGERS)
async def assign_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/assign TICKET ENGINEER``: give the ticket to an active engineer (every card edited)."""
    uow = actor.uow
    args = context.args or []
    if len(args) < 2:
        actor.reply("dispatch/text#assign_usage", example=format_number(_today(uow).year, 1))
        return
    number = args[0].strip().upper()[:30]
    ticket = await uow.session.scalar(select(Ticket).where(Ticket.number == number))
    if ticket is None:
        actor.reply("dispatch/text#assign_no_ticket", number=number)
        return
    name = " ".join(args[1:])[:40]
    engineer = await find_staff(uow.session, name)
    if engineer is None or not assign.assignable_engineer(engineer):
        actor.reply("dispatch/text#assign_no_engineer", name=name)
        return
    _assigned(actor, await assign.assign(uow, context.desk, ticket.id, engineer.id, _me(actor)), name)


@guarded(roles=MANAGERS)
async def assign_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``as:menu:<ticket>`` on a supervisor's alert lists the engineers (on duty first);
    ``as:to:<ticket>:<staff id>`` assigns. The data is untrusted: the message must be one of the
    ticket's, and the ticket's state and the engineer's status are checked again."""
    uow = actor.uow
    query = update.callback_query
    press = pressed(update, "as")
    message_id = query.message.message_id if query is not None and query.message is not None else None
    ticket_id = press.num(0) if press is not None else 0
    if press is None or not await cards.is_card(uow, actor.chat_id, message_id, ticket_id):
        actor.reply("common/stale_button")
        return
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        actor.reply("dispatch/text#not_found")
        return
    if press.action == "to":
        _assigned(actor, await assign.assign(uow, context.desk, ticket_id, press.num(1), _me(actor)), "")
        return
    if ticket.status not in assign.ASSIGNABLE:
        actor.reply("dispatch/text#assign_closed", number=ticket.number, status=actor.t(f"tickets/labels#status_{ticket.status}"))
        return
    options = await assign.candidates(uow, context.desk)
    if not options:
        actor.reply("dispatch/text#assign_nobody", number=ticket.number)
        return
    duty = actor.t("dispatch/labels#on_duty")
    buttons = [[(c.staff.name + (duty if c.on_duty else ""), encode("as", "to", ticket_id, c.staff.id))]
               for c in options[:ASSIGN_MENU_MAX]]
    uow.send(actor.chat_id, actor.t("dispatch/text#assign_menu", number=ticket.number), buttons=buttons,
             ref=cards.assign_ref(ticket_id))


def _assigned(actor: Actor, result: assign.Assigned, name: str) -> None:
    """One line saying what the assignment did (or why it did nothing)."""
    ticket, engineer = result.ticket, result.engineer
    if result.outcome == "no_ticket" or ticket is None:
        actor.reply("dispatch/text#not_found")
    elif result.outcome == "no_engineer" or engineer is None:
        actor.reply("dispatch/text#assign_no_engineer", name=name)
    elif result.outcome == "closed":
        actor.reply("dispatch/text#assign_closed", number=ticket.number,
                    status=actor.t(f"tickets/labels#status_{ticket.status}"))
    elif result.outcome == "already":
        actor.reply("dispatch/text#assign_already", number=ticket.number, engineer=engineer.name)
    else:
        actor.reply("dispatch/text#assign_done", number=ticket.number, engineer=engineer.name)
