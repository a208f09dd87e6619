"""Each staff member's Apprise URLs: escalation channels beyond Telegram (issue 18).

A URL (``wecombot://…``, ``dingtalk://…``, ``mailto://…``, ``json://host/path``…) carries its
keys and passwords, so it is stored on the staff row only, shown masked (``mask``), never logged,
and an escalation row names it by ``fingerprint``. Each one is validated with Apprise itself when
it is set (no network: ``Apprise.add`` only parses the URL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.accounts import StaffError, audit
from storage.models import Staff

MAX_URLS = 5
MAX_URL_CHARS = 1000


def fingerprint(url: str) -> str:
    """A short stable name of ``url`` for delivery rows and logs (reveals nothing of it)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def mask(url: str) -> str:
    """``url`` as it may be shown: the scheme and the first characters (``json://127…``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"
    return f"{scheme}://{rest[:3]}…" if len(rest) > 6 else f"{scheme}://…"


def valid(url: str) -> bool:
    """Whether Apprise knows the scheme and can parse ``url`` (no network)."""
    if not url or len(url) > MAX_URL_CHARS or any(c.isspace() for c in url):
        return False
    import apprise  # noqa: PLC0415  (lazily: ~15 MB resident, needed only when URLs are set or sent)

    return bool(apprise.Apprise().add(url))


def check_urls(urls: Sequence[str]) -> list[str]:
    """``urls`` without duplicates; StaffError (one line, the URL masked) for the first bad one."""
    out = list(dict.fromkeys(u.strip() for u in urls if u.strip()))
    if len(out) > MAX_URLS:
        raise StaffError(f"at most {MAX_URLS} notification URLs per person", code="too_many_urls", most=MAX_URLS)
    for i, url in enumerate(out, 1):
        if not valid(url):
            raise StaffError(
                f"notification URL {i} ({mask(url)}) is not one Apprise knows or it is malformed",
                code="bad_url", index=i, url=mask(url),
            )
    return out


async def set_urls(session: AsyncSession, key: str, urls: Sequence[str], now: dt.datetime, actor: str) -> Staff:
    """Replace staff ``key``'s Apprise URLs (none: the escalation goes to Telegram only); audited
    with the fingerprints, never the URLs."""
    staff = await session.scalar(select(Staff).where(Staff.key == key))
    if staff is None:
        raise StaffError(f"no staff member with key {key!r}", code="no_staff", key=key)
    checked = check_urls(urls)
    staff.apprise_urls = checked
    audit(session, now, actor, "staff.notify", key=key, urls=[fingerprint(u) for u in checked])
    await session.flush()
    return staff


def urls_of(staff: Staff) -> list[str]:
    """``staff``'s Apprise URLs as stored (strings only)."""
    return [u for u in (staff.apprise_urls or []) if isinstance(u, str)]


def masked(staff: Staff) -> list[str]:
    """``staff``'s Apprise URLs, masked for display."""
    return [mask(u) for u in urls_of(staff)]
