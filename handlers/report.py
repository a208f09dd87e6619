"""The fault report conversation: identify, name, equipment, symptom, severity, confirm.

State lives in the ``conversations`` table (flow ``report``) and is written in the same transaction
as each step, so a crash or restart resumes at the same step. Callback data is untrusted: every
button is checked against the current step and the customer it belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.core import uow as uow_mod
from bot.tickets import intake
from handlers.base import Actor, desk_of, guarded
from handlers.flows import flow
from storage.models import Conversation
from storage.repo import clear_conversation, get_conversation, set_conversation

FLOW = "report"
SEVERITIES = ("down", "partial", "question")
CATEGORIES = ("cctv", "network", "telephone", "access", "pos", "other")
EDITABLE = ("customer", "name", "equipment", "symptom", "severity")
SYMPTOM_MIN, SYMPTOM_MAX = 5, 2000
NAME_MAX = 50
QUESTION_MAX = 300  # longer mid-flow texts are not checked for a policy question
RESUBMIT_WINDOW = dt.timedelta(minutes=30)  # a second Submit press within this names the first ticket
_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F\u3400-\u9FFF]")


def _text(update: Update) -> str:
    msg = update.effective_message
    if msg is None:
        return ""
    return (msg.text or msg.caption or "").strip()


async def _save(actor: Actor, step: str, data: dict[str, Any]) -> None:
    uow = uow_mod.current()
    await set_conversation(uow.session, actor.chat_id, FLOW, step, data, uow.now)


def _contact_keyboard(actor: Actor) -> dict[str, Any]:
    return {
        "keyboard": [[{"text": actor.t("report/labels#share_phone_button"), "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


# --- prompts: one per step, used on entry, on re-entry after a question, and after a restart ---


async def prompt(actor: Actor, step: str, data: dict[str, Any]) -> None:
    """Ask the question of ``step``."""
    uow = uow_mod.current()
    if step == "ident":
        uow.send(actor.chat_id, actor.t("report/text#ask_ident"), reply_markup=_contact_keyboard(actor))
    elif step == "pick_customer":
        buttons = [[(label, f"rp:cust:{cid}")] for cid, label in data.get("candidates", [])]
        buttons.append([(actor.t("report/labels#none_of_these"), "rp:cust:none")])
        actor.reply("report/text#pick_customer", buttons=buttons)
    elif step == "name":
        uow.send(
            actor.chat_id,
            actor.t("report/text#ask_name", verified=data.get("verified", False)),
            reply_markup=_contact_keyboard(actor),
        )
    elif step == "equipment":
        if data.get("verified") and data.get("customer_id"):
            items = await intake.equipment_choices(uow.session, data["customer_id"])
            buttons = [[(label, f"rp:eq:{eid}")] for eid, label in items]
            buttons.append([(actor.t("report/labels#not_listed"), "rp:eq:none")])
            actor.reply("report/text#ask_equipment_registered", buttons=buttons)
        else:
            buttons = [
                [(actor.t(f"report/labels#category_{c}"), f"rp:cat:{c}") for c in CATEGORIES[:3]],
                [(actor.t(f"report/labels#category_{c}"), f"rp:cat:{c}") for c in CATEGORIES[3:]],
            ]
            actor.reply("report/text#ask_equipment_free", buttons=buttons)
    elif step == "equipment_text":
        actor.reply("report/text#ask_equipment_detail", category=data.get("category") or "other")
    elif step == "equipment_free":
        await prompt(actor, "equipment", {**data, "verified": False})
    elif step == "edit_pick":
        buttons = [[(actor.t(f"report/labels#field_{f}"), f"rp:field:{f}")] for f in EDITABLE]
        buttons.append([(actor.t("report/labels#cancel_button"), "rp:cancel")])
        actor.reply("report/text#which_field", buttons=buttons)
    elif step == "symptom":
        hint = data.get("symptom_hint")
        hint_buttons = [[(actor.t("report/labels#use_hint_button"), "rp:hint")]] if hint else None
        actor.reply("report/text#ask_symptom", photos=len(data.get("photos", [])), hint=hint, buttons=hint_buttons)
    elif step == "severity":
        buttons = [[(actor.t(f"report/labels#severity_{s}"), f"rp:sev:{s}")] for s in SEVERITIES]
        actor.reply("report/text#ask_severity", buttons=buttons)
    elif step == "confirm":
        buttons = [
            [(actor.t("report/labels#submit_button"), "rp:submit")],
            [(actor.t("report/labels#edit_button"), "rp:edit"), (actor.t("report/labels#cancel_button"), "rp:cancel")],
        ]
        actor.reply("report/text#summary", buttons=buttons, **summary_context(actor, data))


def summary_context(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """What the summary template shows."""
    category = data.get("category") or "other"
    return {
        "customer": data.get("customer_label", ""),
        "verified": bool(data.get("verified")),
        "name": data.get("reporter_name", ""),
        "equipment": data.get("equipment_label") or actor.t(f"report/labels#category_{category}"),
        "symptom": data.get("symptom", ""),
        "photos": len(data.get("photos", [])),
        "severity": data.get("severity", "partial"),
    }


async def _advance(actor: Actor, data: dict[str, Any], step: str) -> None:
    """Go to ``step`` — or back to the summary when the user was editing one field."""
    if data.get("editing") and step != "pick_customer":
        data["editing"] = False
        step = "confirm" if _complete(data) else step
    await _save(actor, step, data)
    await prompt(actor, step, data)


def _complete(data: dict[str, Any]) -> bool:
    return all(data.get(k) for k in ("customer_label", "reporter_name", "symptom", "severity")) and bool(
        data.get("equipment_label") or data.get("category")
    )


# --- entry ---------------------------------------------------------------------------------


async def begin(actor: Actor, first_text: str | None = None) -> None:
    """Start a report; a linked account skips identification (and the name when known)."""
    uow = uow_mod.current()
    data: dict[str, Any] = {"photos": []}
    linked = await intake.linked_identity(uow.session, actor.user)
    if first_text and len(first_text) >= SYMPTOM_MIN:
        data["symptom_hint"] = first_text[:SYMPTOM_MAX]
    if linked is not None:
        data.update(linked)
        step = "equipment" if data.get("reporter_name") else "name"
    else:
        step = "ident"
    actor.reply("report/text#intro")
    await _save(actor, step, data)
    await prompt(actor, step, data)


@guarded(roles=("customer",))
async def report_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """``/report``."""
    await begin(actor)


@guarded()
async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """``/cancel``: leave whatever flow is running."""
    uow = uow_mod.current()
    conv = await get_conversation(uow.session, actor.chat_id)
    await clear_conversation(uow.session, actor.chat_id)
    uow.send(
        actor.chat_id,
        actor.t("report/text#cancelled" if conv else "report/text#nothing_to_cancel"),
        reply_markup={"remove_keyboard": True},
    )


# --- typed input ---------------------------------------------------------------------------


@flow(FLOW)
async def on_message(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor, conv: Conversation
) -> None:
    """A message while a report is running: handled by the current step."""
    data = dict(conv.data)
    msg = update.effective_message
    assert msg is not None
    if msg.contact is not None:
        await _on_contact(actor, data, conv.step, msg.contact.phone_number, msg.contact.user_id)
        return
    if msg.photo:
        await _on_photo(actor, data, conv.step, msg.photo[-1].file_id, _text(update))
        return
    text = _text(update)
    if await _maybe_question(actor, conv.step, text, desk_of(context)):
        await prompt(actor, conv.step, data)
        return
    handler = _TEXT_STEPS.get(conv.step)
    if handler is None:  # a button step: repeat the question
        actor.reply("report/text#use_buttons")
        await prompt(actor, conv.step, data)
        return
    await handler(actor, data, text)


def _media_kind(update: Update) -> str:
    """What kind of message the report cannot use: sticker, voice, file, location or other."""
    msg = update.effective_message
    if msg is None:
        return "other"
    if msg.sticker is not None:
        return "sticker"
    if msg.voice is not None or msg.audio is not None or msg.video_note is not None:
        return "voice"
    if msg.document is not None:
        return "file"
    if msg.location is not None or msg.venue is not None:
        return "location"
    return "other"


@guarded()
async def on_unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """Stickers, voice, files, locations: during a report, say why it cannot be used and ask the
    current question again; outside a report, the general explanation."""
    conv = await get_conversation(uow_mod.current().session, actor.chat_id)
    if conv is None or conv.flow != FLOW:
        actor.reply("common/unsupported")
        return
    actor.reply("report/text#unsupported_in_report", kind=_media_kind(update))
    await prompt(actor, conv.step, dict(conv.data))


_QUESTION = re.compile(
    r"[?？]|吗|么|多少|多久|多长|几[天年月个次小]|怎么|如何|是否|能不能|可不可以|有没有|请问"
    r"|^\s*(what|how|when|where|why|who|which|is|are|do|does|can|could|will|would|should)\b",
    re.IGNORECASE,
)


def looks_like_question(text: str) -> bool:
    """Whether a mid-report text is phrased as a question (only those go to the answerer)."""
    return bool(_QUESTION.search(text))


async def _maybe_question(actor: Actor, step: str, text: str, desk: Any) -> bool:
    """A policy question typed mid-flow is answered, then the same step is asked again."""
    if not text or len(text) > QUESTION_MAX or not looks_like_question(text):
        return False  # a description ("夜里画面全黑") must not be taken for a question about night duty
    answer = intake.mid_flow_answer(desk, text, actor.locale, step, uow_mod.current().now)
    if answer is None:
        return False
    actor.reply("report/text#answer_then_continue", answer=answer)
    return True


async def _ident_text(actor: Actor, data: dict[str, Any], text: str) -> None:
    if not text or len(text) > 200 or not re.search(r"\w", text):
        actor.reply("report/text#bad_ident")
        return
    uow = uow_mod.current()
    found = await intake.identify(uow.session, text)
    data.pop("candidates", None)
    data["typed_ident"] = text
    if found.exact is not None:
        data.update(customer_id=found.exact, customer_label=text, verified=False)
        await _advance(actor, data, "name")
    elif found.candidates:
        data["candidates"] = found.candidates
        await _save(actor, "pick_customer", data)
        await prompt(actor, "pick_customer", data)
    else:
        data.update(customer_id=None, customer_label=text, verified=False)
        actor.reply("report/text#unknown_customer")
        await _advance(actor, data, "name")


async def _name_text(actor: Actor, data: dict[str, Any], text: str) -> None:
    if not (2 <= len(text) <= NAME_MAX) or not _LETTER.search(text):
        actor.reply("report/text#bad_name", max=NAME_MAX)
        return
    data["reporter_name"] = text
    actor.user.display_name = text
    uow_mod.current().send(actor.chat_id, actor.t("report/text#name_noted", name=text), reply_markup={"remove_keyboard": True})
    await _advance(actor, data, "equipment")


async def _equipment_text(actor: Actor, data: dict[str, Any], text: str) -> None:
    if not (2 <= len(text) <= 200):
        actor.reply("report/text#bad_equipment")
        return
    data.update(equipment_id=None, equipment_label=text)
    await _advance(actor, data, "symptom")


async def _symptom_text(actor: Actor, data: dict[str, Any], text: str) -> None:
    if len(text) < SYMPTOM_MIN or len(text) > SYMPTOM_MAX:
        actor.reply("report/text#bad_symptom", min=SYMPTOM_MIN, max=SYMPTOM_MAX, length=len(text))
        return
    data["symptom"] = text
    await _advance(actor, data, "severity")


_TEXT_STEPS = {
    "ident": _ident_text,
    "name": _name_text,
    "equipment": _equipment_text,
    "symptom": _symptom_text,
}


async def _on_contact(
    actor: Actor, data: dict[str, Any], step: str, phone: str, owner: int | None
) -> None:
    if owner != actor.user.id:  # a card without a user id (address book) is not proof either
        actor.reply("report/text#not_your_contact")
        return
    uow = uow_mod.current()
    match = await intake.verify_phone(uow.session, actor.user, phone, data.get("customer_id"))
    if match is None:
        uow.send(actor.chat_id, actor.t("report/text#phone_not_matched"), reply_markup={"remove_keyboard": True})
        if step in ("ident", "pick_customer"):
            await prompt(actor, step, data)
            return
        data["phone"] = phone
        await _save(actor, step, data)
        await prompt(actor, step, data)
        return
    data.update(match)
    uow.send(
        actor.chat_id,
        actor.t("report/text#phone_verified", customer=data["customer_label"], name=data["reporter_name"]),
        reply_markup={"remove_keyboard": True},
    )
    await _advance(actor, data, "equipment" if step in ("ident", "pick_customer", "name") else step)


async def _on_photo(actor: Actor, data: dict[str, Any], step: str, file_id: str, caption: str) -> None:
    if step not in ("symptom", "severity", "confirm"):
        actor.reply("report/text#photo_later")
        await prompt(actor, step, data)
        return
    photos = list(data.get("photos", []))
    if len(photos) >= 10:
        actor.reply("report/text#too_many_photos")
        return
    photos.append(file_id)
    data["photos"] = photos
    if step == "symptom" and SYMPTOM_MIN <= len(caption) <= SYMPTOM_MAX:
        data["symptom"] = caption
        actor.reply("report/text#photo_received", count=len(photos))
        await _advance(actor, data, "severity")
        return
    if caption and data.get("symptom") and len(data["symptom"]) + len(caption) + 3 <= SYMPTOM_MAX:
        data["symptom"] = f"{data['symptom']}\n📷 {caption}"  # a caption added later is kept with the text
    await _save(actor, step, data)
    actor.reply("report/text#photo_received", count=len(photos))
    if step == "confirm":
        await prompt(actor, step, data)


# --- buttons -------------------------------------------------------------------------------


@guarded(roles=("customer",))
async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """Every ``rp:`` button; stale or forged presses get a polite refusal."""
    uow = uow_mod.current()
    query = update.callback_query
    parts = (query.data or "").split(":") if query else []
    conv = await get_conversation(uow.session, actor.chat_id)
    if conv is None or conv.flow != FLOW or len(parts) < 2:
        await _stale(actor, parts)
        return
    data = dict(conv.data)
    action, arg = parts[1], (parts[2] if len(parts) > 2 else "")
    step = conv.step
    if action == "cust" and step == "pick_customer":
        await _pick_customer(actor, data, arg)
    elif action == "eq" and step == "equipment":
        await _pick_equipment(actor, data, arg)
    elif action == "cat" and step in ("equipment", "equipment_free") and arg in CATEGORIES:
        data.update(category=arg, equipment_id=None, equipment_label="")
        await _save(actor, "equipment_text", data)
        await prompt(actor, "equipment_text", data)
    elif action == "sev" and step == "severity" and arg in SEVERITIES:
        data["severity"] = arg
        await _advance(actor, data, "confirm")
    elif action == "submit" and step == "confirm" and _complete(data):
        await _submit(actor, data, desk_of(context))
    elif action == "hint" and step == "symptom" and data.get("symptom_hint"):
        data["symptom"] = data.pop("symptom_hint")
        await _advance(actor, data, "severity")
    elif action == "edit" and step == "confirm":
        await _save(actor, "edit_pick", data)
        await prompt(actor, "edit_pick", data)
    elif action == "field" and step == "edit_pick" and arg in EDITABLE:
        data["editing"] = True
        target = {"customer": "ident"}.get(arg, arg)
        if arg == "customer":
            for key in ("customer_id", "customer_label", "verified", "candidates", "equipment_id"):
                data.pop(key, None)
        await _save(actor, target, data)
        await prompt(actor, target, data)
    elif action == "cancel" and step in ("confirm", "edit_pick"):
        await clear_conversation(uow.session, actor.chat_id)
        actor.reply("report/text#cancelled")
    else:
        actor.reply("report/text#stale")


async def _stale(actor: Actor, parts: list[str]) -> None:
    """A press outside a running report; a repeated Submit names the ticket already made."""
    uow = uow_mod.current()
    if parts[1:2] == ["submit"]:
        number = await intake.recent_ticket(uow.session, actor.user.id, uow.now, RESUBMIT_WINDOW)
        if number is not None:
            actor.reply("report/text#already_submitted", number=number)
            return
    actor.reply("report/text#stale")


async def _pick_customer(actor: Actor, data: dict[str, Any], arg: str) -> None:
    allowed = {str(cid): label for cid, label in data.get("candidates", [])}
    if arg == "none":
        data.update(customer_id=None, customer_label=data.get("typed_ident", ""), verified=False)
    elif arg in allowed:
        data.update(customer_id=int(arg), customer_label=allowed[arg], verified=False)
    else:
        actor.reply("report/text#stale")
        return
    data.pop("candidates", None)
    await _advance(actor, data, "name" if not data.get("reporter_name") else "equipment")


async def _pick_equipment(actor: Actor, data: dict[str, Any], arg: str) -> None:
    if arg == "none":
        data.update(equipment_id=None, equipment_label="")
        await _save(actor, "equipment_free", data)
        await prompt(actor, "equipment_free", data)
        return
    uow = uow_mod.current()
    if not (arg.isdecimal() and len(arg) <= 12 and data.get("verified") and data.get("customer_id")):
        actor.reply("report/text#stale")
        return
    item = await intake.equipment_of(uow.session, data["customer_id"], int(arg))
    if item is None:
        actor.reply("report/text#stale")
        return
    data.update(equipment_id=item[0], equipment_label=item[1], category=item[2])
    await _advance(actor, data, "symptom")


async def _submit(actor: Actor, data: dict[str, Any], desk: Any) -> None:
    uow = uow_mod.current()
    outcome = await intake.submit(uow, desk, actor.user, data)
    await clear_conversation(uow.session, actor.chat_id)
    uow.send(
        actor.chat_id,
        actor.t("report/text#submitted", **outcome.context()),
        reply_markup={"remove_keyboard": True},
    )


# the free-text equipment steps reuse the text handler
_TEXT_STEPS["equipment_text"] = _equipment_text
_TEXT_STEPS["equipment_free"] = _equipment_text
# typing another name instead of pressing one of the offered customers searches again
_TEXT_STEPS["pick_customer"] = _ident_text
