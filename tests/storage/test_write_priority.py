"""SQLite's one writer is handed out by priority: storing received updates (``URGENT``) goes before
the handlers and the outbox queued earlier, everyone else in arrival order (storage/db.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from storage.db import NORMAL, URGENT, Database, PriorityLock


async def _queue_behind(lock: PriorityLock, order: list[str], *waiters: tuple[str, int]) -> None:
    """Hold ``lock`` while ``waiters`` (name, priority) queue for it, one after the other; then
    release it and let them all finish, noting in ``order`` who got it when."""

    async def take(name: str, priority: int) -> None:
        async with lock.held(priority):
            order.append(name)
            await asyncio.sleep(0)

    await lock.acquire()
    tasks = []
    for name, priority in waiters:
        tasks.append(asyncio.create_task(take(name, priority)))
        await asyncio.sleep(0)  # queued in this order
    lock.release()
    await asyncio.gather(*tasks)


async def test_urgent_waiters_go_first_and_the_rest_in_arrival_order() -> None:
    order: list[str] = []
    await _queue_behind(
        PriorityLock(), order, ("a", NORMAL), ("b", NORMAL), ("store", URGENT), ("c", NORMAL), ("store2", URGENT)
    )
    assert order == ["store", "store2", "a", "b", "c"]


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    lock = PriorityLock()
    order: list[str] = []
    await lock.acquire()

    async def take(name: str) -> None:
        async with lock.held():
            order.append(name)

    gone, stays = asyncio.create_task(take("gone")), asyncio.create_task(take("stays"))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    lock.release()
    await stays
    assert order == ["stays"]
    assert gone.cancelled()
    async with lock.held():  # free again: taken at once
        order.append("later")
    assert order == ["stays", "later"]


async def test_cancelled_after_being_handed_the_lock_passes_it_on() -> None:
    lock = PriorityLock()
    await lock.acquire()
    first = asyncio.create_task(lock.acquire())
    second = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    lock.release()  # handed to ``first``, which is cancelled before it runs again
    first.cancel()
    await asyncio.wait_for(second, 2)  # ``second`` got it: nothing stuck
    lock.release()
    await asyncio.wait_for(lock.acquire(), 2)


async def test_database_writes_queue_by_priority(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with db.write() as s:
            await s.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))

        async def write(who: str, priority: int) -> None:
            async with db.write(priority) as s:
                await s.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": who})

        held = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with db.write():
                held.set()
                await release.wait()

        first = asyncio.create_task(holder())
        await held.wait()
        tasks = [asyncio.create_task(write("handler", NORMAL))]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(write("inbox", URGENT)))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, *tasks)
        async with db.read() as s:
            rows = (await s.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all()
        assert rows == ["inbox", "handler"]
    finally:
        await db.dispose()
