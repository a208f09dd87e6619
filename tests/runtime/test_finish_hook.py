"""The end-of-transaction hook (the staff group's mirroring) runs in a savepoint: when it fails, the
update's own changes and replies are kept and the hook's are undone."""

from __future__ import annotations

from sqlalchemy import select

from bot.core import uow as uow_mod
from storage.models import InboxUpdate
from tests.harness import Harness


async def test_a_failing_finish_hook_never_loses_the_update(harness: Harness) -> None:
    app = await harness.start()
    assert app.runner is not None
    chat = harness.chat(5101)
    calls: list[int] = []

    async def broken(uow: uow_mod.UnitOfWork) -> None:
        calls.append(1)
        uow.send(chat.user_id, "from the broken hook")
        raise RuntimeError("mirroring failed")

    app.runner.finish = broken
    reply = await chat.ask("/start", wait=15.0)
    assert calls and "broken hook" not in (reply.get("text") or "")
    assert all("broken hook" not in (m.get("text") or "") for m in await chat.read(1.0))
    async with app.db.read() as s:
        statuses = (await s.scalars(select(InboxUpdate.status))).all()
    assert statuses and set(statuses) == {"done"}
