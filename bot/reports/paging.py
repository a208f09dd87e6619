"""Splitting long answers into pages that fit a Telegram message, and storing them for ◀ ▶.

Templates keep every HTML tag opened and closed on one line, so a page break between lines
never splits a tag. Pages are kept in ``report_pages`` with the asking user's id; only that user
may turn them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.callbacks import decode, encode
from bot.core.uow import UnitOfWork
from storage.models import ReportPages

PAGE_LIMIT = 3500  # characters of HTML per page; Telegram allows 4096 characters of text
KEEP = dt.timedelta(days=7)


def split_pages(text: str, limit: int = PAGE_LIMIT) -> list[str]:
    """Whole lines per page; a single overlong line is cut at spaces (or hard, as a last resort)."""
    pages: list[str] = []
    current: list[str] = []
    size = 0
    for line in _short_lines(text.split("\n"), limit):
        if current and size + len(line) + 1 > limit:
            pages.append("\n".join(current).strip("\n"))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        pages.append("\n".join(current).strip("\n"))
    return [p for p in pages if p.strip()] or [""]


def _short_lines(lines: list[str], limit: int) -> list[str]:
    out = []
    for line in lines:
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp  # never split an HTML entity
            out.append(line[:cut])
            line = line[cut:].lstrip()
        out.append(line)
    return out


async def store(session: AsyncSession, owner_user_id: int, pages: list[str], now: dt.datetime) -> int:
    """Keep ``pages`` for paging; forgets sets older than a week. Returns the set's id."""
    await session.execute(delete(ReportPages).where(ReportPages.created_at < now - KEEP))
    row = ReportPages(owner_user_id=owner_user_id, pages=pages, created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def page_of(session: AsyncSession, data: str | None, user_id: int) -> tuple[int, int, list[str]] | None:
    """Validate ``sv:pg:<id>:<n>``: (id, n, pages) if the set exists, is ``user_id``'s and has page n."""
    press = decode(data, "sv")
    if press is None:
        return None
    row = await session.get(ReportPages, press.num(0))
    n = press.num(1)
    if row is None or row.owner_user_id != user_id or not 0 <= n < len(row.pages):
        return None
    return row.id, n, list(row.pages)


def buttons(set_id: int, n: int, count: int) -> list[list[tuple[str, str]]]:
    """◀ n/N ▶ (arrows wrap around)."""
    prev_n, next_n = (n - 1) % count, (n + 1) % count
    return [[
        ("◀", encode("sv", "pg", set_id, prev_n)),
        (f"{n + 1}/{count}", encode("sv", "pg", set_id, n)),
        ("▶", encode("sv", "pg", set_id, next_n)),
    ]]


async def send_paged(uow: UnitOfWork, chat_id: int, owner_user_id: int, text: str) -> None:
    """Send a list: as one message when it fits a page, else its first page with ◀ n/N ▶ buttons
    (the pages kept for ``owner_user_id``). Every list command replies through this."""
    pages = split_pages(text)
    if len(pages) == 1:
        uow.send(chat_id, pages[0])
        return
    set_id = await store(uow.session, owner_user_id, pages, uow.now)
    uow.send(chat_id, pages[0], buttons=buttons(set_id, 0, len(pages)))
