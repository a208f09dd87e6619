"""What the inbox, outbox and timer loops share: starting, stopping and waking a background task,
and the per-chat order rule ("no earlier pending row of the same chat") of their claim queries."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine

from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased

from storage.models import InboxUpdate, OutboxMessage

LoopBody = Callable[[], Coroutine[object, object, None]]


def start_task(task: asyncio.Task[None] | None, body: LoopBody, name: str) -> asyncio.Task[None]:
    """The running ``task``, or a new background task running ``body()`` when there is none."""
    if task is not None:
        return task
    return asyncio.create_task(body(), name=name)


async def cancel_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task (if any) and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def wait_for_wake(wake: asyncio.Event, seconds: float) -> None:
    """Sleep until ``wake`` is set or ``seconds`` pass, whichever comes first."""
    with contextlib.suppress(TimeoutError):  # not wait_for: on 3.11 it can swallow a cancel
        async with asyncio.timeout(seconds):
            await wake.wait()


def no_earlier_pending(
    model: type[InboxUpdate] | type[OutboxMessage], order: str
) -> ColumnElement[bool]:
    """True for a row of ``model`` when no row of the same chat before it (by column ``order``)
    is still pending: what keeps one chat's rows in order when claimed by several workers."""
    earlier = aliased(model)
    return ~exists().where(
        earlier.chat_id == model.chat_id,
        getattr(earlier, order) < getattr(model, order),
        earlier.status == "pending",
    )
