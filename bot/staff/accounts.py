"""Staff: invite codes, registration of a Telegram account, roles, deactivation, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.roles import STAFF_ORDER
from storage.models import AuditEntry, Invite, Staff, TelegramUser

ROLES: tuple[str, ...] = tuple(r.value for r in STAFF_ORDER)
INVITE_TTL = dt.timedelta(hours=72)
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(hours=1)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


class StaffError(ValueError):
    """A staff operation was refused; the message says why (for the CLI and logs), ``code`` and
    ``params`` say it in chat in the admin's language (``admin/text#staff_error``)."""

    def __init__(self, message: str, *, code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params  # a template context (Jinja2 renders any value)


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_code() -> str:
    """A readable 10-character one-time code (about 50 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def audit(session: AsyncSession, now: dt.datetime, actor: str, action: str, **data: object) -> None:
    """Record an admin action."""
    session.add(AuditEntry(at=now, actor=actor, action=action, data=dict(data)))


async def add_staff(
    session: AsyncSession, *, key: str, name: str, role: str, phone: str | None, now: dt.datetime,
    actor: str = "cli",
) -> tuple[Staff, str]:
    """Create a staff record and a one-time invite code (returned in clear once)."""
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}", code="bad_role", role=role)
    if not key.isidentifier() or len(key) > 32:
        raise StaffError("key must be a short identifier such as zhang or li_na", code="bad_key", key=key)
    if await session.scalar(select(Staff.id).where(Staff.key == key)) is not None:
        raise StaffError(f"staff key {key!r} already exists", code="key_taken", key=key)
    staff = Staff(key=key, name=name.strip()[:100], role=role, phone=phone, active=True)
    session.add(staff)
    await session.flush()
    code = await invite(session, staff, now)
    audit(session, now, actor, "staff.add", key=key, role=role)
    return staff, code


async def invite(session: AsyncSession, staff: Staff, now: dt.datetime) -> str:
    """A fresh invite code for ``staff``."""
    code = new_code()
    session.add(Invite(code_hash=_hash(code), staff_id=staff.id, expires_at=now + INVITE_TTL))
    return code


@dataclass
class Registration:
    """Outcome of ``/register CODE``."""

    ok: bool
    reason: str  # registered|invalid|expired|used|locked|inactive
    staff: Staff | None = None


async def register(session: AsyncSession, user: TelegramUser, code: str, now: dt.datetime) -> Registration:
    """Link ``user`` to the staff record of ``code``: single use, expiring, brute-force limited."""
    if user.register_locked_until is not None and user.register_locked_until > now:
        return Registration(False, "locked")
    invite_row = await session.get(Invite, _hash(code)) if 4 <= len(code.strip()) <= 32 else None
    reason = None
    if invite_row is None:
        reason = "invalid"
    elif invite_row.used_at is not None:
        reason = "used"
    elif invite_row.expires_at <= now:
        reason = "expired"
    if reason is not None:
        user.register_failures = (user.register_failures or 0) + 1
        if user.register_failures >= MAX_FAILURES:
            user.register_locked_until, user.register_failures = now + LOCKOUT, 0
        return Registration(False, reason)
    assert invite_row is not None
    staff = await session.get(Staff, invite_row.staff_id)
    if staff is None or not staff.active:
        return Registration(False, "inactive")
    # one Telegram account per staff record, one staff record per account
    await session.execute(update(Staff).where(Staff.telegram_user_id == user.id).values(telegram_user_id=None))
    # a re-issued code moves the staff record: the previously linked account loses it
    await session.execute(
        update(TelegramUser).where(TelegramUser.staff_id == staff.id, TelegramUser.id != user.id).values(staff_id=None)
    )
    staff.telegram_user_id = user.id
    invite_row.used_at = now
    user.staff_id, user.staff, user.register_failures = staff.id, staff, 0
    user.customer_id = user.contact_id = None
    user.verified = False
    audit(session, now, f"tg:{user.id}", "staff.register", key=staff.key)
    return Registration(True, "registered", staff)


async def list_staff(session: AsyncSession) -> list[Staff]:
    """All staff, active first."""
    return list((await session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.role, Staff.key))).all())


async def set_active(session: AsyncSession, key: str, active: bool, now: dt.datetime, actor: str) -> Staff:
    """Activate or deactivate a staff member."""
    staff = await _get(session, key)
    staff.active = active
    audit(session, now, actor, "staff.activate" if active else "staff.deactivate", key=key)
    return staff


async def set_role(session: AsyncSession, key: str, role: str, now: dt.datetime, actor: str) -> Staff:
    """Change a staff member's role."""
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}", code="bad_role", role=role)
    staff = await _get(session, key)
    staff.role = role
    audit(session, now, actor, "staff.role", key=key, role=role)
    return staff


async def _get(session: AsyncSession, key: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.key == key))
    if staff is None:
        raise StaffError(f"no staff member with key {key!r}", code="no_staff", key=key)
    return staff
