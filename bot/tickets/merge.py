"""``/merge A B`` (issue 14): ticket A is the same problem as ticket B, and continues there.

A's reporters (its own and the linked ones) are linked to B and its attachments are added to B;
A ends ``closed`` through the dedicated merge step (``lifecycle.close_merged``), its timers are
cancelled and its dispatch cards edited to say where it went; both tickets get an event, so both
histories show the merge. A's reporters are told B's number only when they may see B (the same
Telegram user reported B, or both tickets are verified for the same customer); otherwise they
are told their report is handled together with another one, B stays invisible to them and they
are not linked to it. Anything wrong (unknown, the same or a closed ticket) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from bot.core import timers
from bot.core import uow as uow_mod
from bot.core.notify import tell
from bot.dispatch import cards
from bot.tickets import attachments, links
from bot.tickets import lifecycle as tickets
from storage.models import Staff, Ticket

if TYPE_CHECKING:
    from bot.desk import Desk

Result = Literal["ok", "unknown", "same", "closed"]
TIMER_KINDS = ("ack", "dispatch", "promise", "sla", "autoclose")  # keys "<kind>:<ticket id>:…"


@dataclass
class Merged:
    """What ``/merge`` did: ``outcome`` and the tickets (``bad``: the number that was refused)."""

    outcome: Result
    bad: str = ""
    status: str = ""
    source: Ticket | None = None
    target: Ticket | None = None
    reporters: list[int] = field(default_factory=list)
    files: int = 0


def may_see(source: Ticket, target: Ticket) -> bool:
    """Whether the reporters of ``source`` may be shown ``target`` (see the module docstring)."""
    if source.reporter_user_id == target.reporter_user_id:
        return True
    return bool(source.verified and target.verified and source.customer_id is not None
                and source.customer_id == target.customer_id)


async def _by_number(uow: uow_mod.UnitOfWork, number: str) -> Ticket | None:
    return await uow.session.scalar(
        select(Ticket).where(Ticket.number == number.strip().upper()).with_for_update()
    )


async def merge(uow: uow_mod.UnitOfWork, desk: Desk, source_no: str, target_no: str, by: Staff) -> Merged:
    """Merge ticket ``source_no`` into ``target_no`` (both must be open and different)."""
    source, target = await _by_number(uow, source_no), await _by_number(uow, target_no)
    if source is None:
        return Merged("unknown", bad=source_no.strip().upper()[:30])
    if target is None:
        return Merged("unknown", bad=target_no.strip().upper()[:30])
    if source.id == target.id:
        return Merged("same", bad=source.number)
    for ticket in (source, target):
        if ticket.status not in tickets.OPEN_STATES:
            return Merged("closed", bad=ticket.number, status=ticket.status)
    session, now, actor = uow.session, uow.now, tickets.Actor("staff", by.id)
    visible = may_see(source, target)
    moved: list[int] = []
    if visible:
        kept = await links.linked_reports(session, source.id)
        already = set(await links.reporters(session, target))
        for user_id in await links.reporters(session, source):
            if user_id not in already:
                links.link(session, target, user_id, kept.get(user_id) or {"symptom": source.symptom},
                           now, via="merge", actor=actor)
                moved.append(user_id)
    files = attachments.on_ticket(source)
    attachments.add(target, files)
    told = await links.reporters(session, source)
    tickets.close_merged(session, source, target, actor, now)
    tickets.record(session, target, "merged_in", actor, now,
                   data={"from": source.number, "text": source.number, "reporters": len(moved), "files": len(files)})
    for kind in TIMER_KINDS:
        await timers.cancel(session, f"{kind}:{source.id}:")
    await cards.edit_cards(uow, desk, source, "merged", target.number)  # every card of A loses its buttons
    default = desk.settings.default_locale
    for user_id in told:
        if visible:
            await tell(uow, user_id, "duplicates/text#merged_notice", default_locale=default,
                       ref=f"ticket:{target.id}", number=source.number, into=target.number)
        else:
            await tell(uow, user_id, "duplicates/text#merged_notice_hidden", default_locale=default,
                       ref=f"ticket:{source.id}", number=source.number)
    for chat_id in await cards.card_holders(uow, target.id):
        await tell(uow, chat_id, "duplicates/text#merged_staff", default_locale=default,
                   ref=f"ticket:{target.id}", number=source.number, into=target.number, files=len(files))
    return Merged("ok", source=source, target=target, reporters=moved, files=len(files))
