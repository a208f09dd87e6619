"""Fault-report intake in the domain: who is reporting, what they own, and the ticket they get.

Nothing here imports Telegram; handlers pass in the session and plain values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import timers
from bot.core.notify import tell
from bot.customers.registry import contact_by_phone, find_customers, looks_like_number
from bot.dispatch import cards, sla
from bot.dispatch import routing as dispatch
from bot.roster.model import fmt_minutes
from bot.rules.answer import answer_in_flow
from bot.tickets import attachments, duplicates, links, promise
from bot.tickets import lifecycle as tickets
from storage.models import Contact, Customer, Equipment, TelegramUser, Ticket
from storage.repo import clear_conversation, get_conversation

if TYPE_CHECKING:
    from bot.desk import Desk

EXACT_NAME_SCORE = 92


async def identify(session: AsyncSession, text: str) -> int | None:
    """The registered customer a typed number or company name names without doubt, else None.

    For the desk only: before verification the customer is never shown what matched (not a name,
    not a number, not even whether anything did), so near matches are not offered either."""
    matches = await find_customers(session, text, limit=2)
    if not matches:
        return None
    best, best_score = matches[0]
    runner_up = matches[1][1] if len(matches) > 1 else 0
    if best_score >= 100 or (best_score >= EXACT_NAME_SCORE and best_score - runner_up >= 5):
        return best.id
    return None


def looks_like_customer_number(text: str) -> bool:
    """Whether typed text has the form of a customer number (registered or not)."""
    return looks_like_number(text)


async def linked_identity(session: AsyncSession, user: TelegramUser) -> dict[str, Any] | None:
    """A verified, linked account's customer and name, so the report skips those steps."""
    if not (user.verified and user.customer_id):
        return None
    customer = await session.get(Customer, user.customer_id)
    if customer is None:
        return None
    contact = await session.get(Contact, user.contact_id) if user.contact_id else None
    return {
        "customer_id": customer.id,
        "customer_label": customer.name,
        "verified": True,
        "reporter_name": (contact.name if contact else None) or user.display_name or "",
    }


async def verify_phone(
    session: AsyncSession, user: TelegramUser, phone: str, customer_id: int | None
) -> dict[str, Any] | None:
    """A shared phone that matches a registered contact verifies and links the account."""
    contact = await contact_by_phone(session, phone, prefer_customer=customer_id)
    if contact is None:
        return None
    customer = await session.get(Customer, contact.customer_id)
    if customer is None:
        return None
    user.customer_id, user.contact_id, user.verified, user.phone = customer.id, contact.id, True, phone
    return {
        "customer_id": customer.id,
        "customer_label": customer.name,
        "verified": True,
        "reporter_name": contact.name,
        "switched_customer": customer_id is not None and customer_id != customer.id,
    }


def equipment_label(item: Equipment) -> str:
    """How a piece of equipment is shown in buttons and tickets."""
    return f"{item.model} ({item.serial})"


async def equipment_choices(session: AsyncSession, customer_id: int) -> list[tuple[int, str]]:
    """The customer's registered equipment, for buttons (only after verification)."""
    rows = await session.scalars(
        select(Equipment).where(Equipment.customer_id == customer_id).order_by(Equipment.id).limit(30)
    )
    return [(e.id, equipment_label(e)) for e in rows]


async def equipment_of(
    session: AsyncSession, customer_id: int, equipment_id: int
) -> tuple[int, str, str] | None:
    """One piece of equipment, only if it belongs to ``customer_id``."""
    item = await session.get(Equipment, equipment_id)
    if item is None or item.customer_id != customer_id:
        return None
    return item.id, equipment_label(item), item.category


def local(now: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """``now`` in the desk's zone."""
    return now.astimezone(tz)


def mid_flow_answer(desk: Desk, text: str, locale: str, step: str, now: dt.datetime) -> str | None:
    """A policy question typed during the report flow → its answer; None when it is not one."""
    return answer_in_flow(desk.policy, text, locale=locale, today=local(now, desk.clock.tz).date())


# --- submit ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """A submitted report: the ticket and what the customer is promised."""

    ticket_id: int
    number: str
    verified: bool
    created: dt.datetime  # local
    first_response_due: dt.datetime | None  # local
    onsite_due: dt.datetime | None  # local, verified only
    pickup_at: dt.datetime | None  # local: nobody on duty now, picked up then
    duty_from: str
    duty_to: str
    complaint: bool
    promise: Any

    def context(self) -> dict[str, Any]:
        """Values for the ``report/text#submitted`` template."""
        p = self.promise
        return {
            "number": self.number, "verified": self.verified, "created": self.created,
            "first_response_hours": p.first_response_hours, "onsite_hours": p.onsite_hours,
            "onsite_city_hours": p.onsite_city_hours, "onsite_suburb_hours": p.onsite_suburb_hours,
            "first_response_due": self.first_response_due, "onsite_due": self.onsite_due,
            "queued": self.pickup_at is not None, "pickup_at": self.pickup_at,
            "duty_from": self.duty_from, "duty_to": self.duty_to,
            "first_response_duty": _past_hours(self.created, self.first_response_due, p.first_response_hours),
            "onsite_duty": _past_hours(self.created, self.onsite_due, p.onsite_hours),
            "warranty": p.warranty, "warranty_end": p.warranty_end, "charged": p.charged,
            "free_because": p.free_because, "visit_fee": p.visit_fee, "loaner_after_hours": p.loaner_after_hours,
            "complaint": self.complaint,
        }


def _past_hours(start: dt.datetime, due: dt.datetime | None, hours: int | None) -> bool:
    """Whether ``due`` lies beyond ``hours`` wall-clock hours of ``start``: the promise is counted
    in duty hours (issue 14), and the receipt says so."""
    return due is not None and hours is not None and due - start > dt.timedelta(hours=hours, minutes=2)


async def _facts(session: AsyncSession, data: dict[str, Any]) -> tuple[Customer | None, Equipment | None]:
    """The registered customer and equipment of a verified report (both None when unverified)."""
    if not (data.get("verified") and data.get("customer_id")):
        return None, None
    customer = await session.get(Customer, data["customer_id"])
    item = await session.get(Equipment, data["equipment_id"]) if data.get("equipment_id") else None
    if customer is None or (item is not None and item.customer_id != customer.id):
        return customer, None
    return customer, item


async def _history(session: AsyncSession, item: Equipment, tz: dt.tzinfo) -> list[tuple[dt.date, str, bool]]:
    """Earlier faults of the equipment: its tickets (not cancelled) and registered replacements."""
    rows = (await session.execute(
        select(Ticket.created_at, Ticket.symptom, Ticket.status)
        .where(Ticket.equipment_id == item.id, Ticket.status != "cancelled")
    )).all()
    out = [(at.astimezone(tz).date(), symptom, status in ("resolved", "closed")) for at, symptom, status in rows]
    for entry in item.replacements or []:
        if isinstance(entry, dict) and entry.get("date"):
            try:
                out.append((dt.date.fromisoformat(str(entry["date"])), str(entry.get("fault") or ""), True))
            except ValueError:
                continue
    return out


async def submit(
    uow: Any, desk: Desk, user: TelegramUser, data: dict[str, Any], *, check_duplicates: bool = True
) -> Outcome | duplicates.Duplicate:
    """Open the ticket of a completed report, hand it to dispatch, and say what is promised.

    Runs inside the update's unit of work: the ticket, its events, the dispatch card/timer and
    the customer's confirmation commit together (a crash leaves none of them).

    First (unless ``check_duplicates`` is False: the reporter said it is a different problem) the
    report is checked against the open tickets (``bot.tickets.duplicates``): a ``link`` is recorded
    on the open ticket and returned, nothing is opened or dispatched; an ``ask`` is returned with
    nothing stored (the caller keeps the report and asks); a ``flag`` opens the ticket as usual
    with a ``possible_duplicate`` event its staff card shows.
    """
    session, now, tz = uow.session, uow.now, desk.clock.tz
    found = await duplicates.decide(session, desk.policy, user.id, data, now) if check_duplicates else None
    if found is not None and found.kind == "link":
        if await join(uow, desk, user, data, found.ticket_id) is not None:
            return found
        found = None  # closed meanwhile: a ticket of its own
    if found is not None and found.kind == "ask":
        return found
    today = local(now, tz).date()
    customer, item = await _facts(session, data)
    facts = None
    if customer is not None:
        facts = promise.Facts(
            zone=customer.zone, contract_type=customer.contract_type,
            maintenance_paid_until=customer.maintenance_paid_until,
            kind=item.kind if item else None, start_event=item.start_event if item else None,
            start_event_date=item.start_event_date if item else None,
        )
    promised = promise.promise(desk.policy, facts, today)
    files = attachments.of_report(data)
    rule = promise.complaint(desk.policy, data.get("symptom", ""), await _history(session, item, tz), today) if item else None
    claimed = await session.get(Customer, data["customer_id"]) if data.get("customer_id") else None
    due = sla.due_times(desk, now, claimed)
    if data.get("phone") and not user.phone:
        user.phone = str(data["phone"])[:32]
    new = tickets.NewTicket(
        reporter_user_id=user.id, reporter_name=str(data.get("reporter_name", ""))[:100],
        customer_label=str(data.get("customer_label", ""))[:200],
        customer_id=claimed.id if claimed else None, verified=bool(data.get("verified") and customer),
        equipment_id=item.id if item else None,
        equipment_label=str(data.get("equipment_label") or "")[:200],
        category=str(data.get("category") or (item.category if item else "other"))[:32],
        severity=str(data.get("severity", "partial")), symptom=str(data.get("symptom", "")),
        photos=attachments.photo_ids(files), attachments=attachments.dump(files), complaint=rule is not None, complaint_rule=rule,
        first_response_due=due.first_response if due else None, onsite_due=due.onsite if due else None,
        fix_due=due.fix if due else None,
    )
    ticket = await tickets.open_ticket(session, new, now, tz)
    if found is not None:  # "flag": the desk sees it, the reporter does not
        tickets.record(session, ticket, "possible_duplicate", tickets.SYSTEM, now, data={"of": found.number, "text": found.number})
    if data.get("symptom_rest"):  # the part of a long description over the symptom limit: kept as a note
        tickets.record(session, ticket, "customer_info", tickets.Actor("customer", user.id), now,
                       data={"text": str(data["symptom_rest"]), "note": "symptom_rest"})
    sent = await dispatch.dispatch(uow, desk, ticket, notify_customer=False)
    hours = desk.roster.hours
    return Outcome(
        ticket_id=ticket.id, number=ticket.number, verified=new.verified, created=local(now, tz),
        first_response_due=local(ticket.first_response_due, tz) if ticket.first_response_due else None,
        onsite_due=local(ticket.onsite_due, tz) if (ticket.onsite_due and new.verified) else None,
        pickup_at=local(sent.pickup_at, tz) if sent.pickup_at else None,
        duty_from=fmt_minutes(hours.duty_start), duty_to=fmt_minutes(hours.duty_end),
        complaint=rule is not None, promise=promised,
    )


async def join(uow: Any, desk: Desk, user: TelegramUser, data: dict[str, Any], ticket_id: int) -> Ticket | None:
    """Link the report ``data`` of ``user`` to the open ticket ``ticket_id``: recorded on the ticket,
    and whoever holds its card hears who else reported it. None when the ticket is no longer open."""
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None or ticket.status not in tickets.OPEN_STATES:
        return None
    if data.get("phone") and not user.phone:
        user.phone = str(data["phone"])[:32]
    links.link(uow.session, ticket, user.id, _kept(data), uow.now)
    for chat_id in await cards.card_holders(uow, ticket.id):
        await tell(uow, chat_id, "duplicates/text#linked_staff", default_locale=desk.settings.default_locale,
                   ref=f"ticket:{ticket.id}", number=ticket.number,
                   name=str(data.get("reporter_name") or ""), symptom=str(data.get("symptom") or ""))
    return ticket


KEPT = ("customer_id", "customer_label", "verified", "reporter_name", "equipment_id", "equipment_label",
        "category", "severity", "symptom", "symptom_rest", "photos", "attachments", "phone")


def _kept(data: dict[str, Any]) -> dict[str, Any]:
    """What of a linked report is kept on the link, to open it as a ticket of its own later."""
    return {key: data[key] for key in KEPT if key in data}


# --- "same problem?" (a similar symptom): the report waits for the answer, never lost ------------

ASK_TIMER = "dupask"  # kind and key prefix of the timer that opens an unanswered report


def hold(uow: Any, desk: Desk, user_id: int, data: dict[str, Any], found: duplicates.Duplicate) -> None:
    """The reporter is asked whether the report is ``found``'s problem: a timer keeps the report and
    opens it as a new ticket if no answer comes within the policy's ``ask_timeout_minutes``."""
    due = uow.now + dt.timedelta(minutes=desk.policy.duplicates.ask_timeout_minutes)
    timers.schedule(uow.session, ASK_TIMER, f"{ASK_TIMER}:{user_id}:{int(uow.now.timestamp() * 1000)}", due,
                    {"user_id": user_id, "ticket_id": found.ticket_id, "data": _kept(data)})


async def release(uow: Any, user_id: int) -> None:
    """The reporter answered (or cancelled the report): the held report's timer stops."""
    await timers.cancel(uow.session, f"{ASK_TIMER}:{user_id}:")


async def ask_timeout_due(uow: Any, desk: Desk, payload: dict[str, Any]) -> None:
    """Nobody answered "same problem?": the held report is opened and dispatched as a new ticket and
    the reporter gets its receipt."""
    user_id, data = payload.get("user_id"), payload.get("data")
    if not isinstance(user_id, int) or not isinstance(data, dict):
        return
    user = await uow.session.get(TelegramUser, user_id)
    if user is None:
        return
    conv = await get_conversation(uow.session, user_id)
    if conv is not None and conv.flow == "report" and conv.step == "dup_ask":
        data = dict(conv.data)  # it also holds the files sent while the question was open
        await clear_conversation(uow.session, user_id)
    outcome = await submit(uow, desk, user, data, check_duplicates=False)
    assert isinstance(outcome, Outcome)
    default = desk.settings.default_locale
    await tell(uow, user_id, "duplicates/text#ask_timed_out", default_locale=default, number=outcome.number)
    await tell(uow, user_id, "report/text#submitted", default_locale=default, **outcome.context())


async def split_off(uow: Any, desk: Desk, user: TelegramUser, ticket_id: int) -> Outcome | None:
    """*This is a different problem*: ``user``'s report linked to ticket ``ticket_id`` is unlinked
    and opened and dispatched as a ticket of its own. None when ``user`` is not linked to it."""
    ticket = await uow.session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    report = await links.unlink(uow.session, ticket, user.id, uow.now)
    if report is None:
        return None
    outcome = await submit(uow, desk, user, report, check_duplicates=False)
    assert isinstance(outcome, Outcome)
    return outcome


async def recent_ticket(session: AsyncSession, user_id: int, now: dt.datetime, within: dt.timedelta) -> str | None:
    """The number of the ticket this user submitted within ``within`` (a repeated Submit press)."""
    return await session.scalar(
        select(Ticket.number)
        .where(Ticket.reporter_user_id == user_id, Ticket.created_at >= now - within)
        .order_by(Ticket.id.desc()).limit(1)
    )


class VerifyError(Exception):
    """A desk confirmation that cannot be applied (unknown ticket or customer).

    ``reason`` is ``ticket_not_found``, ``customer_not_found`` or ``no_customer`` (for templates)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def confirm_reporter(
    session: AsyncSession, number: str, now: dt.datetime, customer_number: str | None = None,
    by_staff: int | None = None,
) -> Ticket:
    """The desk confirms who reported ticket ``number``: the ticket becomes verified (for the named
    customer, or the one the reporter named) and the reporter's Telegram account is linked to it.
    ``by_staff`` is the confirming staff member's id when known (the ``verified`` event's actor)."""
    ticket = await session.scalar(select(Ticket).where(Ticket.number == number.strip().upper()))
    if ticket is None:
        raise VerifyError("ticket_not_found", f"ticket {number} not found")
    customer_id = ticket.customer_id
    if customer_number is not None:
        typed = customer_number.strip()
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.number.in_({typed, typed.upper()})).limit(1)
        )
        if customer_id is None:
            raise VerifyError("customer_not_found", f"customer {customer_number} not found")
    if customer_id is None:
        raise VerifyError(
            "no_customer", f"ticket {ticket.number} names no registered customer: give --customer NUMBER"
        )
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    ticket.customer_id, ticket.verified, ticket.customer_label = customer.id, True, customer.name
    user = await session.get(TelegramUser, ticket.reporter_user_id)
    if user is not None and user.staff_id is None:
        user.customer_id, user.verified = customer.id, True
        if user.contact_id is not None:
            contact = await session.get(Contact, user.contact_id)
            if contact is None or contact.customer_id != customer.id:
                user.contact_id = None
    tickets.record(
        session, ticket, "verified", tickets.Actor("staff", by_staff), now, data={"customer": customer.number}
    )
    return ticket


async def desk_confirms(
    uow: Any, number: str, customer_number: str | None, *, default_locale: str, by_staff: int | None = None
) -> Ticket:
    """``confirm_reporter`` plus a notice to the reporter that their account is now verified (queued
    in the outbox of ``uow``: sent by the bot, also when the desk confirmed from the command line).
    Used by ``/verify`` and ``sdbot customers verify``; raises VerifyError."""
    ticket = await confirm_reporter(uow.session, number, uow.now, customer_number, by_staff)
    reporter = await uow.session.get(TelegramUser, ticket.reporter_user_id)
    if reporter is not None and reporter.staff_id is None:  # staff accounts are never linked
        await tell(uow, reporter.id, "tickets/text#verified_notice", default_locale=default_locale,
                   customer=ticket.customer_label)
    return ticket


async def cancel_by_customer(uow: Any, desk: Desk, ticket: Ticket, user_id: int) -> bool:
    """The reporter cancels their ticket (only before acknowledgement): the ticket is cancelled,
    its pending dispatch/ack timers stop, every dispatch card is edited to say so (no buttons left)
    and whoever got one is told. False when
    the ticket can no longer be cancelled."""
    if ticket.reporter_user_id != user_id or ticket.status not in tickets.CUSTOMER_CANCELLABLE:
        return False
    tickets.transition(uow.session, ticket, "cancelled", tickets.Actor("customer", user_id), uow.now)
    for prefix in (f"ack:{ticket.id}:", f"dispatch:{ticket.id}:"):
        await timers.cancel(uow.session, prefix)
    await cards.edit_cards(uow, desk, ticket, "cancelled", "")  # every card loses its buttons
    for chat_id in await cards.card_holders(uow, ticket.id):
        await tell(uow, chat_id, "tickets/text#cancelled_notice", default_locale=desk.settings.default_locale,
                   number=ticket.number)
    return True
