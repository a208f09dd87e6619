"""The secret token of each staff member's private calendar subscription URL.

``secrets.token_urlsafe(24)`` (192 bits), stored on the staff row; compared with
``hmac.compare_digest``. Rotating replaces it, so the old URL stops working at once.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.staff.accounts import StaffError, audit
from storage.models import Staff

FEED_PATH = "/ical/{token}.ics"


def new_token() -> str:
    """A fresh URL-safe secret."""
    return secrets.token_urlsafe(24)


async def ensure_token(session: AsyncSession, staff: Staff) -> str:
    """``staff``'s token, made on first use."""
    if not staff.ical_token:
        staff.ical_token = new_token()
        await session.flush()
    return staff.ical_token


async def rotate_token(session: AsyncSession, key: str, now: dt.datetime, actor: str) -> Staff:
    """Give staff ``key`` a new token (the old URL gets 404 from now on); audited without it."""
    staff = await session.scalar(select(Staff).where(Staff.key == key))
    if staff is None:
        raise StaffError(f"no staff member with key {key!r}", code="no_staff", key=key)
    staff.ical_token = new_token()
    await session.flush()
    audit(session, now, actor, "staff.ical_token_rotated", key=key)
    return staff


async def staff_by_token(session: AsyncSession, token: str) -> Staff | None:
    """The active staff member whose token is ``token``, else None."""
    if not token or len(token) > 64:
        return None
    staff = await session.scalar(select(Staff).where(Staff.ical_token == token))
    if staff is None or not staff.active or not staff.ical_token:
        return None
    return staff if hmac.compare_digest(staff.ical_token.encode(), token.encode()) else None


def feed_url(base: str, token: str) -> str:
    """The subscription URL under the public ``base`` (``https://bot.example.com``)."""
    return base.rstrip("/") + FEED_PATH.format(token=token)


def public_base(settings: Settings) -> str:
    """WEBHOOK_URL when set, else the listener's own ``http://WEBHOOK_HOST:WEBHOOK_PORT``."""
    return settings.webhook_url or f"http://{settings.webhook_host}:{settings.webhook_port}"
