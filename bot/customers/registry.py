"""Customer registry lookups: customer number or fuzzy company name, contact by phone.

Normalisation is tolerant of what people type: full-width digits and letters (NFKC), spaces and
punctuation, case, and company-form suffixes (有限公司, 有限责任公司, Co., Ltd …).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Customer

_SUFFIXES = (
    "股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司",
    "corporation", "limited", "company", "coltd", "corp", "ltd", "inc",
)
_NOISE = re.compile(r"[\W_]+", re.UNICODE)
MIN_QUERY = 2  # shorter names match too much to mean anything
MIN_COVERAGE = 0.34  # a typed name must be at least this share of the registered one


@lru_cache(maxsize=100_000)
def normalize(text: str) -> str:
    """Comparable form of a number or name: NFKC, lower case, no spaces/punctuation, no suffix."""
    key = _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, changed = key[: -len(suffix)], True
    return key


def name_key(name: str) -> str:
    """The stored ``Customer.name_key`` of a company name."""
    return normalize(name)


def _adjust(query: str, key: str, score: float) -> int:
    """A fuzzy name score, raised for a typed part of the name and capped for a tiny part."""
    if not key or len(query) < MIN_QUERY:
        return 0
    coverage = len(query) / len(key)
    if query in key:  # a typed part of the name ("华南物流" in "深圳市华南物流")
        score = max(score, 85 + 10 * coverage)
    if coverage < MIN_COVERAGE:  # "物流", "学校": too small a part of the name to pick anyone out
        score = min(score, 65)
    return min(99, int(score))


def _score(query: str, customer: Customer) -> int:
    """0–100: 100 for the exact number or name, else a fuzzy name score."""
    if query == normalize(customer.number) or query == normalize(customer.name):
        return 100
    key = normalize(customer.name)
    return _adjust(query, key, float(fuzz.WRatio(query, key))) if key else 0


async def find_customers(session: AsyncSession, text: str, limit: int = 5) -> list[tuple[Customer, int]]:
    """Customers matching a typed number or name, best first, with a 0–100 score."""
    query = normalize(text)
    if not query:
        return []
    typed_number = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    by_number = await session.scalar(select(Customer).where(Customer.number == typed_number))
    if by_number is not None:
        return [(by_number, 100)]
    rows = (await session.execute(select(Customer.id, Customer.number, Customer.name))).all()
    keys = [normalize(name) for _, _, name in rows]
    scores: dict[int, int] = {
        i: 100 for i, (_, number, _) in enumerate(rows) if query in (normalize(number), keys[i])
    }
    if len(query) >= MIN_QUERY:
        matches = process.extract(query, keys, scorer=fuzz.WRatio, limit=max(50, limit * 10), score_cutoff=50)
        for key, score, i in matches:
            scores.setdefault(i, _adjust(query, key, score))
    best = sorted(((s, rows[i][0]) for i, s in scores.items() if s > 0), key=lambda sc: (-sc[0], sc[1]))[:limit]
    out = []
    for score, cid in best:
        customer = await session.get(Customer, cid)
        if customer is not None:
            out.append((customer, score))
    return out


def phone_digits(phone: str) -> str:
    """A phone number's significant digits: NFKC, no '+', spaces or dashes, no 86/0086 country code."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", phone) if ch.isdigit() and ch.isascii())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix):]
    return digits


def canonical_phone(phone: str) -> str:
    """How a phone is stored: ``+86`` + 11 digits for a Chinese mobile, else the digits as typed."""
    digits = phone_digits(phone)
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return ("+" if phone.strip().startswith("+") else "") + digits


async def contacts_by_phone(session: AsyncSession, phone: str) -> list[Contact]:
    """Every registered contact with this phone number (any spelling of it)."""
    digits = phone_digits(phone)
    if len(digits) < 5:
        return []
    variants = {digits, "+" + digits, "86" + digits, "+86" + digits, "0086" + digits, canonical_phone(phone)}
    rows = await session.scalars(select(Contact).where(Contact.phone.in_(variants)).order_by(Contact.id))
    return list(rows.all())


async def contact_by_phone(
    session: AsyncSession, phone: str, prefer_customer: int | None = None
) -> Contact | None:
    """The registered contact with this phone number, if any (of ``prefer_customer`` when several)."""
    found = await contacts_by_phone(session, phone)
    for contact in found:
        if contact.customer_id == prefer_customer:
            return contact
    return found[0] if found else None


_NUMBER_FORM = re.compile(r"[A-Za-z]{0,4}-?[0-9]{3,12}")


def looks_like_number(text: str) -> bool:
    """Whether typed text has the form of a customer number ("C1001", "Ｃ１００２", "KH-20240001"),
    registered or not: the answer to it must not tell which."""
    return bool(_NUMBER_FORM.fullmatch("".join(unicodedata.normalize("NFKC", text).split())))

