"""Customer questions typed outside any conversation: answered from the policy, in the chat.

Flow ``qa`` (conversation state in the database): step ``<param>`` while a follow-up question for a
missing parameter is pending, step ``answered`` after an answer (it keeps the last question so
"talk to a person" can pass it on, and the clauses applied for "Why?"). Buttons ``qa:v:<value>``
(a follow-up choice), ``qa:why:<tag>``, ``qa:human`` and ``qa:report``; callback data is untrusted and
checked against the stored step.
"""

from __future__ import annotations

import hashlib
from typing import Any

from telegram import Update

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import render, written_locale
from bot.core.roles import Role
from bot.rules import answer as qa
from bot.rules.customer_facts import customer_facts
from bot.rules.intents import classify
from bot.tickets.handover import hand_over
from bot.tickets.intake import local
from handlers import report
from handlers.base import Actor, DeskContext, guarded, pressed
from handlers.flows import flow, set_fallback
from storage.models import Conversation
from storage.repo import clear_conversation, get_conversation, set_conversation

FLOW = "qa"
QUESTION_MAX = 500
WHY_KEPT = 5  # answers whose "Why?" still works (older ones say the button expired)
_CHOICES = {"zone": ("city", "suburb"), "level": ("basic", "advanced"), "qty": qa.QTY_CHOICES}
_OPEN_CHOICES = ("amount",)  # choices offered per question (the amounts it named): checked in fill()


def text_locale(actor: Actor, text: str) -> str:
    """The answer's language: the user's chosen one, else the one the question is written in —
    stored as the user's derived locale, so the buttons they press next answer in it too."""
    if actor.user.locale_chosen:
        return actor.locale
    actor.locale = actor.user.locale = written_locale(text, actor.locale, latin=True)
    return actor.locale


def _buttons(locale: str, choices: list[tuple[str, str]] | None = None, *, why: str | None = None) -> uow_mod.Buttons:
    """Follow-up choices (if any), "Why?" under a computed answer (``why``: its tag), "report a
    fault", "a person"."""
    rows: uow_mod.Buttons = []
    if choices:
        rows.append([(label, encode("qa", "v", value)) for label, value in choices])
    if why:
        rows.append([(_label(locale, "why_button"), encode("qa", "why", why))])
    rows.append([(_label(locale, "report_button"), encode("qa", "report")), (_label(locale, "human_button"), encode("qa", "human"))])
    return rows


def _label(locale: str, name: str) -> str:
    return render(locale, f"answers/labels#{name}")


async def _facts(actor: Actor) -> qa.CustomerFacts | None:
    return await customer_facts(actor.uow.session, actor.user)


def _today(context: DeskContext, actor: Actor) -> Any:
    desk = context.desk
    return local(actor.uow.now, desk.clock.tz).date()


async def on_text(update: Update, context: DeskContext, actor: Actor) -> None:
    """Fallback for messages outside any conversation: customers' text goes to the answerer."""
    msg = update.effective_message
    text = (msg.text or "").strip() if msg is not None else ""
    if actor.role != Role.CUSTOMER or not text:
        actor.reply("common/help", role=actor.role)
        return
    await answer_text(update, context, actor, text)


async def answer_text(
    update: Update, context: DeskContext, actor: Actor, text: str
) -> None:
    """Classify and answer ``text`` (its first ``QUESTION_MAX`` characters); hand over, ask a
    follow-up or reply with the answer. A report or a hand-over gets the whole text."""
    desk = context.desk
    locale = text_locale(actor, text)
    ans = qa.respond(
        desk.policy, text[:QUESTION_MAX], locale=locale, today=_today(context, actor), customer=await _facts(actor),
        hours=getattr(desk.roster, "hours", None),
    )
    await deliver(context, actor, ans, text, locale)


async def deliver(
    context: DeskContext, actor: Actor, ans: qa.Answer, question: str, locale: str
) -> None:
    """Send an answer: hand over to a report or a person, or store the follow-up / last question."""
    uow = actor.uow
    if ans.action == "report_fault":
        await report.begin(actor, context.desk.policy, first_text=question)
        return
    if ans.action in ("human", "complaint"):
        await clear_conversation(uow.session, actor.chat_id)
        await _hand_over(context, actor, question, complaint=ans.action == "complaint", locale=locale)
        return
    clauses = list(ans.clauses) if ans.explainable else []
    why = await _remember_clauses(uow, actor.chat_id, clauses)
    data = {"intent": ans.intent, "params": ans.params, "question": question, "locale": locale,
            "clauses": clauses, "why": why}
    await set_conversation(uow.session, actor.chat_id, FLOW, ans.ask or "answered", data, uow.now)
    tag = _why_tag(clauses) if clauses else None
    uow.send(actor.chat_id, ans.text, buttons=_buttons(locale, ans.choices, why=tag))


def _why_tag(clauses: list[str]) -> str:
    """A short tag naming an answer's clause list: its "Why?" button carries it, so a press under
    an older answer explains that answer, never the latest one."""
    return hashlib.blake2s("\n".join(clauses).encode(), digest_size=4).hexdigest()


async def _remember_clauses(uow: uow_mod.UnitOfWork, chat_id: int, clauses: list[str]) -> dict[str, list[str]]:
    """The clause lists of this chat's last few explainable answers, by tag, ``clauses`` included."""
    prev = await get_conversation(uow.session, chat_id)
    recent: dict[str, list[str]] = dict(prev.data.get("why") or {}) if prev is not None and prev.flow == FLOW else {}
    if clauses:
        tag = _why_tag(clauses)
        recent.pop(tag, None)
        recent[tag] = clauses
    while len(recent) > WHY_KEPT:
        recent.pop(next(iter(recent)))
    return recent


async def _hand_over(
    context: DeskContext, actor: Actor, question: str, *, complaint: bool, locale: str
) -> None:
    uow = actor.uow
    desk = context.desk
    # the note is stored in the ticket's symptom for the staff: in the desk's language, not the customer's
    note = _label(desk.settings.default_locale, "complaint_note" if complaint else "human_note")
    done = await hand_over(uow, desk, actor.user, question, complaint=complaint, note=note)

    uow.send(
        actor.chat_id,
        render(locale, "answers/text#handed_over", number=done.number, complaint=complaint,
               pickup=done.pickup_at, reused=done.reused),
    )


def _new_question(text: str) -> bool:
    """A reply that is itself a question (another intent) starts over instead of filling the gap."""

    return classify(text).intent != "unknown"


@flow(FLOW)
async def on_flow_message(
    update: Update, context: DeskContext, actor: Actor, conv: Conversation
) -> None:
    """A reply while a follow-up is pending (or after an answer): fill it, else a new question."""
    msg = update.effective_message
    text = (msg.text or "").strip() if msg is not None else ""
    if not text:
        actor.reply("common/help", role=actor.role)
        return
    data = dict(conv.data)
    if (conv.step in _CHOICES or conv.step in ("date", "size", *_OPEN_CHOICES)) and not _new_question(text):
        filled = qa.fill(conv.step, text, data.get("params") or {}, _today(context, actor))
        if filled is not None:
            await _finish(context, actor, data, filled)
            return
    if actor.role == Role.CUSTOMER:  # the new answer replaces this conversation, keeping its "Why?" clauses
        await answer_text(update, context, actor, text)
    else:
        await clear_conversation(actor.uow.session, actor.chat_id)
        actor.reply("common/help", role=actor.role)


async def _finish(
    context: DeskContext, actor: Actor, data: dict[str, Any], params: dict[str, Any]
) -> None:
    desk = context.desk
    locale = data.get("locale") or actor.locale
    ans = qa.respond_intent(
        desk.policy, data["intent"], params, locale=locale, today=_today(context, actor),
        customer=await _facts(actor), hours=getattr(desk.roster, "hours", None),
    )
    await deliver(context, actor, ans, data.get("question", ""), locale)


@guarded(roles={Role.CUSTOMER})
async def on_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """``qa:v:<value>``, ``qa:why:<tag>``, ``qa:human``, ``qa:report`` — checked against the stored conversation."""
    uow = actor.uow
    press = pressed(update, "qa")
    conv = await get_conversation(uow.session, actor.chat_id)
    mine = conv if conv is not None and conv.flow == FLOW else None
    action = press.action if press is not None else ""
    arg = press.text(0) if press is not None and press.fields else None
    if action == "report":
        await report.begin(actor, context.desk.policy)
        return
    stored = (mine.data.get("why") or {}) if mine is not None else {}
    if action == "why" and arg is not None and stored.get(arg):
        # the clauses come from the stored answers, never from the (untrusted) callback data
        locale = (mine.data.get("locale") if mine is not None else None) or actor.locale
        uow.send(actor.chat_id, qa.explain(context.desk.policy, list(stored[arg]), locale))
        return
    if action == "human" and mine is not None:
        data = dict(mine.data)
        await clear_conversation(uow.session, actor.chat_id)
        await _hand_over(context, actor, data.get("question", ""), complaint=False,
                         locale=data.get("locale") or actor.locale)
        return
    choice = arg if action == "v" else None
    if choice is not None and mine is not None and (
        choice in _CHOICES.get(mine.step, ()) or mine.step in _OPEN_CHOICES
    ):
        data = dict(mine.data)
        filled = qa.fill(mine.step, choice, data.get("params") or {}, _today(context, actor))
        if filled is not None:
            await _finish(context, actor, data, filled)
            return
    actor.reply("common/stale_button")


set_fallback(on_text)
