"""Who is on duty now (as dispatch sees it), so the page can point at the right engineer pane."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from bot.dispatch.routing import effective_roster
from bot.roster.duty import on_duty
from bot.staff.lookup import staff_by_key

if TYPE_CHECKING:
    from bot.desk import Desk


async def on_duty_user_ids(desk: Desk) -> list[int]:
    """Sandbox user ids of the active staff on duty at the desk's current time.

    Uses the same effective roster as dispatch (the roster file plus covers and swaps stored in
    the database); staff without a Telegram id are left out.
    """

    async with desk.db.read() as session:
        view = SimpleNamespace(session=session, now=desk.now())  # what effective_roster reads
        roster = await effective_roster(view, desk)  # type: ignore[arg-type]
        ids: list[int] = []
        for assignment in on_duty(roster, view.now):
            staff = await staff_by_key(session, assignment.member)
            if staff is not None and staff.active and staff.telegram_user_id:
                ids.append(int(staff.telegram_user_id))
        return ids
