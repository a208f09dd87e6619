"""Typed SQLAlchemy 2 models for the whole service desk."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)




class Base(DeclarativeBase):
    """Declarative base with the shared JSON and datetime type mapping."""

    type_annotation_map = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: UTCDateTime,
        Decimal: Numeric(12, 2),
    }


# --- Telegram side -------------------------------------------------------------------------


class InboxUpdate(Base):
    """Every update received, stored before it is confirmed to Telegram; processed exactly once."""

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[dt.datetime]
    processed_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    # sha256 of the payload: the same id with other content is a new update (ids restart)
    content_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_inbox_status", "status", "update_id"),)


class TelegramUser(Base):
    """A Telegram account that has talked to the bot: locale, role and links."""

    __tablename__ = "tg_users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    locale_chosen: Mapped[bool] = mapped_column(Boolean, default=False)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(100))
    register_failures: Mapped[int] = mapped_column(Integer, default=0)
    register_locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]

    staff: Mapped[Staff | None] = relationship(lazy="joined")


class Conversation(Base):
    """Where a chat stands in a multi-step flow; written with the step's domain change."""

    __tablename__ = "conversations"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """A Bot API call that must happen: sent with retries and backoff, never silently dropped."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    priority: Mapped[int] = mapped_column(Integer, default=5)  # lower = more urgent
    ref: Mapped[str | None] = mapped_column(String(96))
    edit_ref: Mapped[str | None] = mapped_column(String(96))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    # a row aimed at a ticket's staff-group topic: its message_thread_id is filled in when sent
    topic_ticket_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "chat_id", "status", "id"),
        Index("ix_outbox_ref", "ref"),
    )


class ChannelDelivery(Base):
    """An escalation message for a staff member's Apprise URL (issue 18): sent by its own sender
    (bot/runtime/apprise_sender.py) with retries, apart from the Telegram outbox, so a failing
    channel never holds up Telegram. The URL itself stays in ``staff.apprise_urls``; the row names
    it by a fingerprint (``bot.staff.channels.fingerprint``)."""

    __tablename__ = "channel_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    url_hash: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(96))  # ticket:<id>:<step>
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|dead|dropped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_channel_deliveries_due", "status", "next_attempt_at"),)


class Timer(Base):
    """A durable timer (ack timeout, queued dispatch, SLA check, auto-close), claimed atomically."""

    __tablename__ = "timers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(96), unique=True)
    due_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|done|cancelled|failed
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    fired_at: Mapped[dt.datetime | None]

    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)


# --- Customers -----------------------------------------------------------------------------


class Customer(Base):
    """A customer company (or person) of the support company."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    zone: Mapped[str] = mapped_column(String(16), default="city")  # city|suburb
    district: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(300))
    contract_type: Mapped[str] = mapped_column(String(16), default="none")  # annual|per_visit|none
    maintenance_paid_until: Mapped[dt.date | None] = mapped_column(Date)

    contacts: Mapped[list[Contact]] = relationship(back_populates="customer")
    equipment: Mapped[list[Equipment]] = relationship(back_populates="customer")


class Contact(Base):
    """A registered contact person of a customer; a matching shared phone verifies an account."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Equipment(Base):
    """A registered piece of equipment with its warranty facts."""

    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    serial: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))  # cctv|network|telephone|access|pos|...
    kind: Mapped[str] = mapped_column(String(16), default="product")  # product|project
    start_event: Mapped[str] = mapped_column(String(16), default="sale")
    start_event_date: Mapped[dt.date] = mapped_column(Date)
    replacements: Mapped[list[Any]] = mapped_column(default=list)

    customer: Mapped[Customer] = relationship(back_populates="equipment")

    __table_args__ = (UniqueConstraint("customer_id", "serial"),)


# --- Staff and roster ----------------------------------------------------------------------


class Staff(Base):
    """An engineer, supervisor or admin."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # engineer|supervisor|admin
    phone: Mapped[str | None] = mapped_column(String(32))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # secret of the private calendar subscription URL (bot.staff.ical_tokens); None until first shown
    ical_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Apprise URLs of the escalation channels beyond Telegram (issue 18; bot.staff.channels):
    # secrets inside, never logged or shown unmasked
    apprise_urls: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")


class Invite(Base):
    """A one-time registration code that links a Telegram account to a staff record."""

    __tablename__ = "invites"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class RosterOverride(Base):
    """A cover or an accepted swap: ``member`` is on duty instead of ``covers`` in a range."""

    __tablename__ = "roster_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member: Mapped[str] = mapped_column(String(32))
    covers: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(12), default="cover")  # cover|swap
    status: Mapped[str] = mapped_column(String(12), default="active")  # proposed|active|rejected|cancelled
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # a proposed swap's other range


class CalendarDay(Base):
    """One entry of the admins' calendar log: from this row on, ``day`` is a ``workday`` (make-up
    working day, 调休), a ``holiday`` (extra day off) or ``removed`` (back to the official/rule day).

    Append-only: the newest row per day is in force, so (count, max id) is a cheap version that
    any writer's commit changes, for the readers' cache (``bot.roster.calendar_store``).
    """

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # workday|holiday|removed
    name: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(32))


# --- Tickets -------------------------------------------------------------------------------


class Ticket(Base):
    """A fault report and its life cycle."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    customer_label: Mapped[str] = mapped_column(String(200))
    reporter_name: Mapped[str] = mapped_column(String(100))
    reporter_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    equipment_label: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(32), default="other")
    severity: Mapped[str] = mapped_column(String(16), default="partial")  # down|partial|question
    symptom: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[Any]] = mapped_column(default=list)  # photo file ids (also in attachments)
    # typed: kind, file_id, file_unique_id, name, size, mime, duration (bot.tickets.attachments)
    attachments: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)
    first_response_due: Mapped[dt.datetime | None]
    onsite_due: Mapped[dt.datetime | None]
    fix_due: Mapped[dt.datetime | None]
    acknowledged_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    # SLA pause (issue 14): set while waiting for the customer / for parts or payment
    paused_at: Mapped[dt.datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(16))  # customer|parts
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # finished pauses

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )

    __table_args__ = (Index("ix_tickets_status_created", "status", "created_at"),)


class TicketTopic(Base):
    """A ticket's forum topic in the staff group (bot/dispatch/topics.py): the thread id is known
    once the outbox has sent the ``createForumTopic`` row."""

    __tablename__ = "ticket_topics"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    card_message_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|closed: as last sent
    name: Mapped[str] = mapped_column(String(128), default="")  # as last sent (renames only on change)

    __table_args__ = (Index("ix_ticket_topics_thread", "chat_id", "message_thread_id"),)


class TicketEvent(Base):
    """One thing that happened to a ticket: a transition, a contact, an escalation…"""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[str] = mapped_column(String(16))  # customer|staff|system
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    minutes: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (
        Index("ix_events_ticket", "ticket_id", "id"),
        Index("ix_events_at", "at"),
        Index("ix_events_actor_at", "actor_id", "at"),
        Index("ix_events_kind_at", "kind", "at"),
    )


class ReportPages(Base):
    """A long supervisor answer split into pages, for the ◀ ▶ buttons (only its owner may page)."""

    __tablename__ = "report_pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_user_id: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class TicketCounter(Base):
    """Per-year sequence behind readable ticket numbers (SD-2026-000123)."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """Admin-only actions, for accountability."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
