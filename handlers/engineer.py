"""Engineer side: acknowledge, record a contact, resolve, hand over; /oncall and /myshifts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from telegram import Update

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import render
from bot.core.notify import tell
from bot.core.roles import MANAGERS, STAFF, Role
from bot.dispatch import cards
from bot.dispatch import routing as dispatch
from bot.roster.calendar import makeup_missing
from bot.roster.duty import (
    calendar_table,
    next_handoffs,
    next_window_start,
    on_duty,
    upcoming_shifts,
)
from bot.roster.model import RosterError
from bot.roster.store import (
    add_cover,
    add_swap_proposal,
    answer_swap,
    cancel_override,
    current_overrides,
    parse_range,
    span_text,
)
from bot.staff import ical_tokens
from bot.staff.lookup import staff_by_key
from bot.tickets import lifecycle as tickets
from bot.tickets import pause as pauses
from bot.tickets import work as worklog
from handlers.base import Actor, DeskContext, guarded, in_staff_group, pressed
from handlers.flows import flow
from storage.models import Conversation, Staff, Ticket
from storage.repo import clear_conversation, get_conversation, set_conversation

CONTACT_KINDS = ("phone", "remote", "onsite")
TEXT_MAX = 1000


def _staff(actor: Actor) -> Staff:
    assert actor.user.staff is not None
    return actor.user.staff



@guarded(roles=STAFF, staff_group=True)
async def on_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``dp:<action>:<ticket id>`` — validated, then checked against the ticket's state."""
    query = update.callback_query
    press = pressed(update, "dp")
    if press is None:
        actor.reply("common/stale_button")
        return
    action, ticket_id = press.action, press.num(0)
    uow = actor.uow
    desk = context.desk
    message_id = query.message.message_id if query is not None and query.message is not None else None
    if not await cards.is_card(uow, actor.chat_id, message_id, ticket_id):  # forged or foreign data
        known = await uow.session.get(Ticket, ticket_id)
        if known is None:
            actor.reply("common/stale_button")
        else:  # staff only get here (role checked): naming the ticket reveals nothing new
            actor.reply("work/text#not_yours", number=known.number)
        return
    if action == "ack":
        result = await dispatch.acknowledge(uow, desk, ticket_id, _staff(actor))
        if result.ticket is None:
            actor.reply("dispatch/text#not_found")
        elif not result.allowed:
            actor.reply("work/text#not_yours", number=result.ticket.number)
        elif result.won:
            actor.reply("dispatch/text#ack_won", number=result.ticket.number)
        elif result.holder is not None and result.holder.id == _staff(actor).id and result.ticket.status in tickets.OPEN_STATES:
            actor.reply("dispatch/text#ack_mine", number=result.ticket.number)
        elif result.ticket.status in tickets.OPEN_STATES and result.holder is not None:
            actor.reply("dispatch/text#ack_lost", number=result.ticket.number, holder=result.holder.name)
        else:
            actor.reply("dispatch/text#ack_closed", number=result.ticket.number, status=result.ticket.status)
        return
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        actor.reply("dispatch/text#not_found")
        return
    if not (_may_work(actor, ticket) or (action == "handover" and await _may_hand_over(uow, actor, ticket))):
        actor.reply("work/text#not_yours", number=ticket.number)
        return
    if action.startswith("pause_") or action == "resume":
        await _pause_or_resume(uow, desk, actor, ticket, action)
    else:
        await _ask(update, context, actor, ticket, action)


async def _ask(update: Update, context: DeskContext, actor: Actor, ticket: Ticket, action: str) -> None:
    """The typed-answer steps (contact, resolve, hand-over) run in the staff member's private chat:
    pressed in the staff group's topic, the question goes there and the topic gets a one-line hint."""
    uow = actor.uow
    chat = actor.user.id if in_staff_group(update, context) else actor.chat_id
    step, prompt = {"contact": ("contact_kind", "work/text#ask_kind"), "resolve": ("resolve", "work/text#ask_resolution"),
                    "handover": ("handover", "work/text#ask_handover_reason")}[action]
    await set_conversation(uow.session, chat, "work", step, {"ticket_id": ticket.id}, uow.now)
    buttons = None
    if action == "contact":
        buttons = [[(actor.t(f"work/labels#kind_{k}"), encode("wk", "kind", k)) for k in CONTACT_KINDS]]
    uow.send(chat, actor.t(prompt, number=ticket.number), buttons=buttons)
    if chat != actor.chat_id:
        actor.reply("staffgroup/text#private_step", number=ticket.number)


async def _pause_or_resume(uow: uow_mod.UnitOfWork, desk: Any, actor: Actor, ticket: Ticket, action: str) -> None:
    """Pause/Resume of the SLA clock: the holding engineer only (re-checked in the domain)."""
    staff = _staff(actor)
    if action == "resume":
        paused = await pauses.resume_by_engineer(uow, desk, ticket, staff)
        if paused is None:
            key = "work/text#resume_not_paused" if ticket.assignee_id == staff.id else "work/text#not_yours"
            actor.reply(key, number=ticket.number)
            return
        tz = uow.now.tzinfo
        actor.reply("work/text#resume_done", number=ticket.number, minutes=round(paused.total_seconds() / 60),
                    **{k: (getattr(ticket, c).astimezone(tz) if getattr(ticket, c) else None)
                       for k, c in (("due_first", "first_response_due"), ("due_onsite", "onsite_due"),
                                    ("due_fix", "fix_due"))})
        return
    reason = action.removeprefix("pause_")
    outcome = await pauses.pause(uow, desk, ticket, staff, reason)
    if outcome == "paused":
        actor.reply("work/text#pause_done", number=ticket.number, reason=reason)
    elif outcome == "already":
        actor.reply("work/text#pause_already", number=ticket.number)
    else:
        actor.reply("work/text#not_yours", number=ticket.number)


def _may_work(actor: Actor, ticket: Ticket) -> bool:
    """The assignee works the ticket once acknowledged; supervisors and admins too (after ack)."""
    if ticket.status not in tickets.OPEN_STATES or ticket.status in ("new", "dispatched"):
        return False
    if actor.role in MANAGERS:
        return True
    return ticket.assignee_id == _staff(actor).id


async def _may_hand_over(uow: uow_mod.UnitOfWork, actor: Actor, ticket: Ticket) -> bool:
    """An engineer may pass on a ticket dispatched to them before acknowledging it."""
    return ticket.status == "dispatched" and await dispatch.was_dispatched_to(uow, ticket.id, _staff(actor))


@guarded(roles=STAFF)
async def on_kind(update: Update, context: DeskContext, actor: Actor) -> None:
    """``wk:kind:<phone|remote|onsite>`` in the record-contact flow."""
    uow = actor.uow

    conv = await get_conversation(uow.session, actor.chat_id)
    press = pressed(update, "wk")
    kind = press.text(0) if press is not None else ""
    if conv is None or conv.flow != "work" or conv.step != "contact_kind" or kind not in CONTACT_KINDS:
        actor.reply("common/stale_button")
        return
    data = {**conv.data, "kind": kind}
    await set_conversation(uow.session, actor.chat_id, "work", "contact_done", data, uow.now)
    actor.reply("work/text#ask_done")


@flow("work")
async def on_text(update: Update, context: DeskContext, actor: Actor, conv: Conversation) -> None:
    """Typed answers in the engineer's work flows (the role is checked again: it may have changed)."""
    uow = actor.uow
    if actor.role not in STAFF:
        await clear_conversation(uow.session, actor.chat_id)
        actor.reply("common/not_allowed")
        return
    msg = update.effective_message
    text = (msg.text or "").strip() if msg else ""
    data = dict(conv.data)
    ticket = await uow.session.get(Ticket, data.get("ticket_id"))
    allowed = ticket is not None and (
        _may_work(actor, ticket) or (conv.step == "handover" and await _may_hand_over(uow, actor, ticket))
    )
    if ticket is None or not allowed:
        await clear_conversation(uow.session, actor.chat_id)
        actor.reply("work/text#flow_ended")
        return
    if conv.step == "contact_kind":
        actor.reply("report/text#use_buttons")
        return
    if not text or len(text) > TEXT_MAX:
        actor.reply("work/text#bad_text", max=TEXT_MAX)
        return
    if conv.step == "contact_done":
        data["done"] = text
        await set_conversation(uow.session, actor.chat_id, "work", "contact_result", data, uow.now)
        actor.reply("work/text#ask_result")
    elif conv.step == "contact_result":
        data["result"] = text
        await set_conversation(uow.session, actor.chat_id, "work", "contact_minutes", data, uow.now)
        actor.reply("work/text#ask_minutes")
    elif conv.step == "contact_minutes":
        minutes = _minutes(text)
        if minutes is None:
            actor.reply("work/text#bad_minutes")
            return
        worklog.record_contact(uow, ticket, _staff(actor), data["kind"], data["done"], data["result"], minutes)
        await clear_conversation(uow.session, actor.chat_id)
        actor.reply("work/text#contact_saved", number=ticket.number, minutes=minutes)
    elif conv.step in ("resolve", "handover"):
        await _resolve_or_hand_over(uow, context.desk, actor, conv.step, ticket, text)


async def _resolve_or_hand_over(
    uow: uow_mod.UnitOfWork, desk: Any, actor: Actor, step: str, ticket: Ticket, text: str
) -> None:
    """The typed resolution or hand-over reason; a concurrent change of the ticket wins cleanly."""
    await clear_conversation(uow.session, actor.chat_id)
    try:
        if step == "resolve":
            await worklog.resolve(uow, desk, ticket, _staff(actor), text)
            actor.reply("work/text#resolved", number=ticket.number)
            return
        to = await worklog.hand_over(uow, desk, ticket, _staff(actor), text)
    except worklog.TicketChanged:
        actor.reply("work/text#changed_meanwhile", number=ticket.number, status=ticket.status)
        return
    if to is None:
        actor.reply("work/text#handover_nobody", number=ticket.number)
    else:
        actor.reply("work/text#handed_over", number=ticket.number, to=to.name)


def _minutes(text: str) -> int | None:
    """``45``, ``45分钟``, ``1.5h``, ``1小时`` → minutes (1..1440)."""
    t = text.strip().lower().translate(str.maketrans("０１２３４５６７８９．", "0123456789."))
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(h|hr|hrs|hours?|小时|个小时|m|min|mins|minutes?|分钟|分)?", t)
    if m is None:
        return None
    value = float(m.group(1))
    unit = m.group(2) or "m"
    minutes = round(value * 60) if unit.startswith(("h", "小", "个")) else round(value)
    return minutes if 1 <= minutes <= 1440 else None


@guarded(roles=STAFF)
async def oncall(update: Update, context: DeskContext, actor: Actor) -> None:
    """Who is on duty now and the next handoffs."""

    uow = actor.uow
    roster = await dispatch.effective_roster(uow, context.desk)
    names = {m.key: m.name for m in roster.members.values()}
    staff_names = await _staff_names(uow)
    categories = {la.name: la.category for la in roster.layers}  # routing by specialty (issue 18)
    now = [
        {"layer": a.layer, "name": staff_names.get(a.member, names.get(a.member, a.member)), "until": a.end,
         "covers": staff_names.get(a.covers, a.covers) if a.covers else None,
         "category": categories.get(a.layer)}
        for a in on_duty(roster, uow.now)
    ]
    handoffs = [
        {"at": h.at, "layer": h.layer, "to": staff_names.get(h.to_member, h.to_member)}
        for h in next_handoffs(roster, uow.now, count=3)
    ]
    actor.reply("work/text#oncall", now=now, handoffs=handoffs, next_start=next_window_start(roster, uow.now))


@guarded(roles=STAFF)
async def myshifts(update: Update, context: DeskContext, actor: Actor) -> None:
    """The engineer's coming duty (two weeks)."""

    uow = actor.uow
    roster = await dispatch.effective_roster(uow, context.desk)
    shifts = upcoming_shifts(roster, _staff(actor).key, uow.now, days=14)
    token = await ical_tokens.ensure_token(uow.session, _staff(actor))
    url = ical_tokens.feed_url(ical_tokens.public_base(context.desk.settings), token)
    actor.reply("work/text#myshifts", shifts=shifts[:30], ical_url=url)


async def _staff_names(uow: uow_mod.UnitOfWork) -> dict[str, str]:
    from sqlalchemy import select

    rows = await uow.session.execute(select(Staff.key, Staff.name))
    return {k: n for k, n in rows.all()}




# --- roster commands: /roster, /cover (supervisors), /swap (engineers) ----------------------

ROSTER_DAYS_MAX = 31


def _span(actor: Actor, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> str:

    return span_text(start, end, tz)


@guarded(roles=STAFF)
async def roster_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/roster [days]``: the duty calendar from today (covers and swaps included)."""

    uow = actor.uow
    desk = context.desk
    args = context.args or []
    days = int(args[0]) if args and args[0].isdecimal() else 7
    days = max(1, min(days, ROSTER_DAYS_MAX))
    roster = await dispatch.effective_roster(uow, desk)
    today = uow.now.astimezone(desk.clock.tz).date()
    rows = calendar_table(roster, today, today + dt.timedelta(days=days - 1))
    names = await _staff_names(uow)
    changes = await current_overrides(uow.session, uow.now)
    uncovered = sorted({y for y in {r.day.date.year for r in rows} if makeup_missing(y, roster.calendar)})
    actor.reply(
        "roster/text#calendar", rows=rows, names=names, uncovered=uncovered,
        changes=[{"id": o.id, "kind": o.kind, "status": o.status, "member": names.get(o.member, o.member),
                  "covers": names.get(o.covers, o.covers), "span": _span(actor, o.starts_at, o.ends_at, desk.clock.tz)}
                 for o in changes],
    )


@guarded(roles=MANAGERS)
async def cover_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/cover MEMBER COVERS DATE[..DATE]`` | ``/cover cancel ID`` (supervisors)."""

    uow = actor.uow
    desk = context.desk
    args = context.args or []
    try:
        if len(args) == 2 and args[0] == "cancel" and args[1].isdecimal() and len(args[1]) <= 12:
            row = await cancel_override(uow.session, int(args[1]))
            actor.reply("roster/text#cancelled", id=row.id)
            return
        if len(args) != 3:
            actor.reply("roster/text#cover_usage")
            return
        span = parse_range(args[2], desk.clock.tz)
        row = await add_cover(uow.session, desk.roster, args[0], args[1], span, uow.now, _staff(actor).key)
    except RosterError as exc:
        actor.reply("roster/text#roster_error", code=exc.code, **exc.params)
        return
    names = await _staff_names(uow)
    ctx: dict[str, Any] = {"member": names.get(row.member, row.member), "covers": names.get(row.covers, row.covers),
           "span": _span(actor, row.starts_at, row.ends_at, desk.clock.tz), "id": row.id}
    actor.reply("roster/text#cover_saved", **ctx)
    for key in (row.member, row.covers):
        person = await staff_by_key(uow.session, key)
        if person is not None and person.telegram_user_id is not None and person.telegram_user_id != actor.user.id:
            await tell(uow, person.telegram_user_id, "roster/text#cover_notice",
                       default_locale=desk.settings.default_locale, **ctx)


@guarded(roles={Role.ENGINEER})
async def swap_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/swap PARTNER MY_DATES THEIR_DATES``: propose a swap; the partner accepts with a button."""

    uow = actor.uow
    desk = context.desk
    args = context.args or []
    if len(args) != 3:
        actor.reply("roster/text#swap_usage")
        return
    me = _staff(actor)
    partner = await staff_by_key(uow.session, args[0])
    if partner is None or not partner.active or partner.id == me.id:
        code = "self_swap" if partner is not None and partner.id == me.id else "not_member"
        actor.reply("roster/text#roster_error", code=code, key=args[0])
        return
    try:
        give, take = parse_range(args[1], desk.clock.tz), parse_range(args[2], desk.clock.tz)
        roster = await dispatch.effective_roster(uow, desk)
        row = await add_swap_proposal(uow.session, roster, me.key, partner.key, give, take, uow.now)
    except RosterError as exc:
        actor.reply("roster/text#roster_error", code=exc.code, **exc.params)
        return
    take_start, take_end = (dt.datetime.fromisoformat(x) for x in row.data["take"])
    ctx: dict[str, Any] = {"proposer": me.name, "partner": partner.name,
           "give": _span(actor, row.starts_at, row.ends_at, desk.clock.tz),
           "take": _span(actor, take_start, take_end, desk.clock.tz)}
    actor.reply("roster/text#swap_proposed", **ctx)
    if partner.telegram_user_id is not None:
        await tell(
            uow, partner.telegram_user_id, "roster/text#swap_request", default_locale=desk.settings.default_locale,
            buttons_of=lambda loc: [[(render(loc, "roster/labels#accept"), encode("sw", "ok", row.id)),
                                     (render(loc, "roster/labels#decline"), encode("sw", "no", row.id))]],
            **ctx,
        )


@guarded(roles={Role.ENGINEER})
async def swap_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``sw:ok:<id>`` / ``sw:no:<id>``: only the proposed partner may answer, once."""

    uow = actor.uow
    desk = context.desk
    press = pressed(update, "sw")
    if press is None:
        actor.reply("common/stale_button")
        return
    result = await answer_swap(uow.session, press.num(0), _staff(actor).key, press.action == "ok", uow.now)
    if not result.ok:
        actor.reply(f"roster/text#swap_{result.reason}")
        return
    row = result.proposal
    assert row is not None
    proposer = await staff_by_key(uow.session, row.covers)
    actor.reply(f"roster/text#swap_{result.reason}_you")
    if proposer is not None and proposer.telegram_user_id is not None:
        await tell(uow, proposer.telegram_user_id, f"roster/text#swap_{result.reason}_proposer",
                   default_locale=desk.settings.default_locale, partner=_staff(actor).name)
