"""Routing of plain messages to the chat's running flow (state read from the database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.core.roles import MANAGERS
from handlers.base import Actor, DeskContext, guarded
from storage.models import Conversation
from storage.repo import get_conversation

StepHandler = Callable[[Update, DeskContext, Actor, Conversation], Awaitable[Any]]
Fallback = Callable[[Update, DeskContext, Actor], Awaitable[Any]]

FLOWS: dict[str, StepHandler] = {}
_fallback: list[Fallback] = []
_manager_fallback: list[Fallback] = []


def flow(name: str) -> Callable[[StepHandler], StepHandler]:
    """Register the message handler of a flow."""

    def deco(fn: StepHandler) -> StepHandler:
        FLOWS[name] = fn
        return fn

    return deco


def set_manager_fallback(fn: Fallback) -> None:
    """What a supervisor's or admin's message outside any flow goes to (plain questions)."""
    _manager_fallback[:] = [fn]


def set_fallback(fn: Fallback) -> None:
    """What to do with a message outside any flow (the rules answerer, once registered)."""
    _fallback[:] = [fn]


@guarded()
async def route_message(update: Update, context: DeskContext, actor: Actor) -> Any:
    """Send the message to the chat's running flow, else to the fallback."""
    conv = await get_conversation(actor.uow.session, actor.chat_id)
    if conv is not None and conv.flow in FLOWS:
        return await FLOWS[conv.flow](update, context, actor, conv)
    if _manager_fallback and actor.role in MANAGERS:
        return await _manager_fallback[0](update, context, actor)
    if _fallback:
        return await _fallback[0](update, context, actor)
    actor.reply("common/help", role=actor.role)
    return None
