"""The fault report conversation: identify, name, equipment, symptom, severity, confirm.

State lives in the ``conversations`` table (flow ``report``) and is written in the same transaction
as each step, so a crash or restart resumes at the same step. Callback data is untrusted: every
button is checked against the current step and the customer it belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from telegram import Message, Update

from bot.core.callbacks import Press, encode
from bot.core.roles import Role
from bot.rules.policy import Policy
from bot.tickets import attachments, intake
from bot.tickets.attachments import Attachment
from bot.tickets.duplicates import Duplicate
from handlers import duplicates as dupes
from handlers.base import Actor, DeskContext, guarded, pressed
from handlers.flows import flow, route_message
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
    uow = actor.uow
    await set_conversation(uow.session, actor.chat_id, FLOW, step, data, uow.now)


def _contact_keyboard(actor: Actor) -> dict[str, Any]:
    return {
        "keyboard": [[{"text": actor.t("report/labels#share_phone_button"), "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }


# --- prompts: one per step, used on entry, on re-entry after a question, and after a restart ---


async def prompt(actor: Actor, step: str, data: dict[str, Any]) -> None:
    """Ask the question of ``step`` (nothing for a step this version does not know)."""
    spec = STEPS.get(step)
    if spec is not None:
        await spec.ask(actor, data)


async def _ask_ident(actor: Actor, data: dict[str, Any]) -> None:
    actor.uow.send(actor.chat_id, actor.t("report/text#ask_ident"), reply_markup=_contact_keyboard(actor))


async def _ask_name(actor: Actor, data: dict[str, Any]) -> None:
    actor.uow.send(
        actor.chat_id,
        actor.t("report/text#ask_name", verified=data.get("verified", False)),
        reply_markup=_contact_keyboard(actor),
    )


async def _ask_equipment(actor: Actor, data: dict[str, Any]) -> None:
    if data.get("verified") and data.get("customer_id"):
        items = await intake.equipment_choices(actor.uow.session, data["customer_id"])
        buttons = [[(label, encode("rp", "eq", eid))] for eid, label in items]
        buttons.append([(actor.t("report/labels#not_listed"), encode("rp", "eq", "none"))])
        actor.reply("report/text#ask_equipment_registered", buttons=buttons)
    else:
        buttons = [
            [(actor.t(f"report/labels#category_{c}"), encode("rp", "cat", c)) for c in CATEGORIES[:3]],
            [(actor.t(f"report/labels#category_{c}"), encode("rp", "cat", c)) for c in CATEGORIES[3:]],
        ]
        actor.reply("report/text#ask_equipment_free", buttons=buttons)


async def _ask_equipment_detail(actor: Actor, data: dict[str, Any]) -> None:
    actor.reply("report/text#ask_equipment_detail", category=data.get("category") or "other")


async def _ask_equipment_free(actor: Actor, data: dict[str, Any]) -> None:
    await _ask_equipment(actor, {**data, "verified": False})


async def _ask_edit_pick(actor: Actor, data: dict[str, Any]) -> None:
    buttons = [[(actor.t(f"report/labels#field_{f}"), encode("rp", "field", f))] for f in EDITABLE]
    buttons.append([(actor.t("report/labels#cancel_button"), encode("rp", "cancel"))])
    actor.reply("report/text#which_field", buttons=buttons)


async def _ask_symptom(actor: Actor, data: dict[str, Any]) -> None:
    hint = data.get("symptom_hint")
    hint_buttons = [[(actor.t("report/labels#use_hint_button"), encode("rp", "hint"))]] if hint else None
    actor.reply("report/text#ask_symptom", attached=_attached(data), hint=hint, buttons=hint_buttons,
                min=SYMPTOM_MIN, max=_symptom_max(data))


async def _ask_severity(actor: Actor, data: dict[str, Any]) -> None:
    buttons = [[(actor.t(f"report/labels#severity_{s}"), encode("rp", "sev", s))] for s in SEVERITIES]
    actor.reply("report/text#ask_severity", buttons=buttons)


async def _ask_confirm(actor: Actor, data: dict[str, Any]) -> None:
    buttons = [
        [(actor.t("report/labels#submit_button"), encode("rp", "submit"))],
        [(actor.t("report/labels#edit_button"), encode("rp", "edit")), (actor.t("report/labels#cancel_button"), encode("rp", "cancel"))],
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
        "attached": _attached(data),
        "severity": data.get("severity", "partial"),
    }


async def _advance(actor: Actor, data: dict[str, Any], step: str) -> None:
    """Go to ``step`` — or back to the summary when the user was editing one field; the symptom
    step is skipped when a file's caption already described the problem."""
    if step == "symptom" and data.get("symptom"):
        step = "severity"
    if data.get("editing"):
        data["editing"] = False
        step = "confirm" if _complete(data) else step
    await _save(actor, step, data)
    await prompt(actor, step, data)


def _complete(data: dict[str, Any]) -> bool:
    return all(data.get(k) for k in ("customer_label", "reporter_name", "symptom", "severity")) and bool(
        data.get("equipment_label") or data.get("category")
    )


# --- entry ---------------------------------------------------------------------------------


async def begin(
    actor: Actor, policy: Policy, first_text: str | None = None, first_file: Attachment | None = None,
    caption: str = "",
) -> None:
    """Start a report; a linked account skips identification (and the name when known). A first
    message that described the fault is offered as the symptom, whole (see ``_keep_symptom``); a
    file sent outside a report (``first_file``) starts one with it attached, its caption the symptom."""
    uow = actor.uow
    data: dict[str, Any] = {"attachments": [], "symptom_max": policy.report.symptom_max_chars}
    linked = await intake.linked_identity(uow.session, actor.user)
    if linked is not None:
        data.update(linked)
        step = "equipment" if data.get("reporter_name") else "name"
    else:
        step = "ident"
    actor.reply("report/text#intro")
    if first_file is not None:
        _attach(actor, data, first_file, caption)
    if first_text and len(first_text) >= SYMPTOM_MIN:
        data["symptom_hint"], data["symptom_hint_rest"] = _keep_symptom(actor, data, first_text)
    await _save(actor, step, data)
    await prompt(actor, step, data)


@guarded(roles={Role.CUSTOMER})
async def report_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/report``."""
    await begin(actor, context.desk.policy)


@guarded()
async def cancel_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/cancel``: leave whatever flow is running."""
    uow = actor.uow
    conv = await get_conversation(uow.session, actor.chat_id)
    await clear_conversation(uow.session, actor.chat_id)
    await intake.release(uow, actor.user.id)  # a report waiting for "same problem?" is dropped too
    uow.send(
        actor.chat_id,
        actor.t("report/text#cancelled" if conv else "report/text#nothing_to_cancel"),
        reply_markup={"remove_keyboard": True},
    )


# --- typed input ---------------------------------------------------------------------------


@flow(FLOW)
async def on_message(
    update: Update, context: DeskContext, actor: Actor, conv: Conversation
) -> None:
    """A message while a report is running: handled by the current step."""
    data = dict(conv.data)
    msg = update.effective_message
    assert msg is not None
    if msg.contact is not None:
        await _on_contact(actor, data, conv.step, msg.contact.phone_number, msg.contact.user_id)
        return
    item = attachment_of(msg)
    if item is not None:
        await _on_attachment(actor, data, conv.step, item, _text(update))
        return
    text = _text(update)
    if await _maybe_question(actor, conv.step, data, text, context.desk):
        return
    data.pop("pending", None)  # text typed instead of answering "Is this your …?"
    if not _takes_text(conv.step):  # a button step: repeat the question
        actor.reply("report/text#use_buttons")
        await prompt(actor, conv.step, data)
        return
    await _take_text(actor, data, conv.step, text)


def _media_kind(update: Update) -> str:
    """What kind of message the report cannot use: sticker, location or other."""
    msg = update.effective_message
    if msg is None:
        return "other"
    if msg.sticker is not None:
        return "sticker"
    if msg.location is not None or msg.venue is not None:
        return "location"
    return "other"


@guarded()
async def on_unsupported(update: Update, context: DeskContext, actor: Actor) -> None:
    """Stickers, locations and the like: during a report, say why it cannot be used and ask the
    current question again; outside a report, the general explanation."""
    conv = await get_conversation(actor.uow.session, actor.chat_id)
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


async def _maybe_question(actor: Actor, step: str, data: dict[str, Any], text: str, desk: Any) -> bool:
    """The answerer looks first at every free-text step. A clear question (the answerer's verdict:
    a policy intent it can answer) is answered and the step asked again; text that looks like a
    question but is not clear gets "Is this your …?" with buttons. True when the text was taken."""
    if not text or len(text) > QUESTION_MAX:
        return False
    asked = looks_like_question(text)
    answer = intake.mid_flow_answer(desk, text, actor.locale, step, actor.uow.now)
    if answer is not None and (asked or step != "symptom"):
        # at the symptom step only a question counts: "夜里画面全黑" is a fault, not night duty
        actor.reply("report/text#answer_then_continue", answer=answer)
        await prompt(actor, step, data)
        return True
    if not _takes_text(step) or not (asked or answer is not None):
        return False  # a button step repeats its question; plain data goes to the step
    data["pending"] = {"step": step, "text": text}
    await _save(actor, step, data)
    buttons = [[(actor.t("report/labels#this_is_data"), encode("rp", "as", "yes")),
                (actor.t("report/labels#this_is_not_data"), encode("rp", "as", "no"))]]
    asked_for = {"pick_customer": "ident"}.get(step, step.split("_")[0])
    actor.reply("report/text#is_this_data", buttons=buttons, text=text, step=asked_for)
    return True


async def _as_data(actor: Actor, data: dict[str, Any], step: str, yes: bool) -> None:
    """The answer to "Is this your …?": the kept text goes to the step, or the step is asked again."""
    pending = data.pop("pending", None)
    if not isinstance(pending, dict) or pending.get("step") != step or not _takes_text(step):
        actor.reply("report/text#stale")
        return
    if yes:
        await _take_text(actor, data, step, str(pending.get("text", "")))
        return
    actor.reply("report/text#not_data")
    await _save(actor, step, data)
    await prompt(actor, step, data)


async def _ident_text(actor: Actor, data: dict[str, Any], text: str) -> bool:
    """A typed customer number or company name is kept as typed, and the answer is the same
    whether or not it is registered: before verification nothing registered is shown, not even
    whether it exists. The registered customer it names (if any) is noted for the desk only."""
    if not text or len(text) > 200 or not re.search(r"\w", text):
        actor.reply("report/text#bad_ident")
        return False
    uow = actor.uow
    data.pop("candidates", None)
    data.update(typed_ident=text, customer_id=await intake.identify(uow.session, text),
                customer_label=text, verified=False)
    actor.reply("report/text#ident_kept", typed=text)
    return True


async def _name_text(actor: Actor, data: dict[str, Any], text: str) -> bool:
    if not data.get("verified") and intake.looks_like_customer_number(text):
        await _number_at_name(actor, data, text)
        return False
    if not (2 <= len(text) <= NAME_MAX) or not _LETTER.search(text):
        actor.reply("report/text#bad_name", max=NAME_MAX)
        return False
    data["reporter_name"] = text
    actor.user.display_name = text
    actor.uow.send(actor.chat_id, actor.t("report/text#name_noted", name=text), reply_markup={"remove_keyboard": True})
    return True


async def _number_at_name(actor: Actor, data: dict[str, Any], number: str) -> None:
    """A customer number sent at the name step (as its prompt invites): noted like any typed
    identification, the same answer whether it exists or not; the name is asked again."""
    uow = actor.uow
    typed = str(data.get("typed_ident") or "")
    label = number if not typed or typed == number else f"{typed} / {number}"
    found = await intake.identify(uow.session, number)
    data.update(customer_id=found if found is not None else data.get("customer_id"),
                customer_label=label[:200], verified=False)
    actor.reply("report/text#ident_kept", typed=number)
    await _save(actor, "name", data)
    await prompt(actor, "name", data)


async def _equipment_text(actor: Actor, data: dict[str, Any], text: str) -> bool:
    if not (2 <= len(text) <= 200):
        actor.reply("report/text#bad_equipment")
        return False
    data.update(equipment_id=None, equipment_label=text)
    return True


async def _symptom_text(actor: Actor, data: dict[str, Any], text: str) -> bool:
    if len(text) < SYMPTOM_MIN:
        actor.reply("report/text#bad_symptom", min=SYMPTOM_MIN, max=_symptom_max(data), length=len(text))
        return False
    data["symptom"], data["symptom_rest"] = _keep_symptom(actor, data, text)
    return True


def _symptom_max(data: dict[str, Any]) -> int:
    """The policy's symptom limit, as it was when this report began."""
    return int(data.get("symptom_max") or SYMPTOM_MAX)


def _keep_symptom(actor: Actor, data: dict[str, Any], text: str) -> tuple[str, str]:
    """(symptom, rest): a text over the policy's limit is split, never cut — the rest goes to the
    ticket as a note on submit, and the customer is told so."""
    limit = _symptom_max(data)
    if len(text) <= limit:
        return text, ""
    actor.reply("report/text#long_kept", length=len(text), max=limit, rest=len(text) - limit)
    return text[:limit], text[limit:]


async def _on_contact(
    actor: Actor, data: dict[str, Any], step: str, phone: str, owner: int | None
) -> None:
    if owner != actor.user.id:  # a card without a user id (address book) is not proof either
        actor.reply("report/text#not_your_contact")
        return
    uow = actor.uow
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


def attachment_of(msg: Message | None) -> Attachment | None:
    """The file a message carries (photo, document, voice, video, video note, audio), typed."""
    if msg is None:
        return None
    if msg.photo:
        big = msg.photo[-1]
        return Attachment("photo", big.file_id, big.file_unique_id, size=big.file_size)
    for kind in ("document", "voice", "video", "video_note", "audio"):
        f = getattr(msg, kind)
        if f is not None:
            raw = f.to_dict()  # the Bot API fields as sent (duration in seconds)
            return Attachment.from_dict({**raw, "kind": kind, "name": raw.get("file_name"),
                                         "size": raw.get("file_size"), "mime": raw.get("mime_type")})
    return None


def _attached(data: dict[str, Any]) -> list[tuple[str, int]]:
    return attachments.counts(attachments.of_report(data))


def _attach(actor: Actor, data: dict[str, Any], item: Attachment, caption: str) -> bool:
    """Add ``item`` to the report and say so (a caption becomes the symptom if there is none
    yet, else it is kept with the text); False (and a clear line) when the report is full."""
    files = attachments.of_report(data)
    if len(files) >= attachments.MAX_PER_REPORT:
        actor.reply("report/text#too_many_attachments", kind=item.kind, max=attachments.MAX_PER_REPORT)
        return False
    files.append(item)
    data["attachments"] = attachments.dump(files)
    data.pop("photos", None)  # a report begun before typed attachments: now in ``attachments``
    actor.reply("report/text#attachment_received", kind=item.kind, name=item.name, attached=attachments.counts(files))
    if not data.get("symptom") and SYMPTOM_MIN <= len(caption) <= _symptom_max(data):
        data["symptom"] = caption
        data.pop("symptom_hint", None)
        actor.reply("report/text#caption_as_symptom", symptom=caption)
    elif caption and data.get("symptom") and len(data["symptom"]) + len(caption) + 3 <= _symptom_max(data):
        mark = "📷" if item.kind == "photo" else "📎"
        data["symptom"] = f"{data['symptom']}\n{mark} {caption}"  # a caption added later is kept with the text
    return True


async def _on_attachment(actor: Actor, data: dict[str, Any], step: str, item: Attachment, caption: str) -> None:
    """A file during the report: kept at any step; the current question follows where it is
    still open (the symptom step moves on when the caption described the problem)."""
    had_symptom = bool(data.get("symptom"))
    if not _attach(actor, data, item, caption):
        return
    if step == "symptom" and not had_symptom and data.get("symptom"):
        await _advance(actor, data, "severity")
        return
    await _save(actor, step, data)
    if step not in ("symptom", "severity"):
        await prompt(actor, step, data)


@guarded()
async def on_attachment(update: Update, context: DeskContext, actor: Actor) -> None:
    """A photo, file, voice or video message: joins the running report; from a customer outside
    any conversation (or after an answer) it starts a report with the file attached. Anything
    else goes on to the normal routing."""
    uow = actor.uow
    conv = await get_conversation(uow.session, actor.chat_id)
    item = attachment_of(update.effective_message)
    if conv is not None and conv.flow == FLOW and item is not None:
        await on_message(update, context, actor, conv)
        return
    if item is not None and actor.role == Role.CUSTOMER and (conv is None or conv.flow == "qa"):
        await clear_conversation(uow.session, actor.chat_id)
        await begin(actor, context.desk.policy, first_file=item, caption=_text(update))
        return
    await route_message.__wrapped__(update, context, actor)  # type: ignore[attr-defined]


# --- buttons -------------------------------------------------------------------------------


@guarded(roles={Role.CUSTOMER})
async def on_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """Every ``rp:`` button: answered by the current step's entry in ``STEPS`` (or by "Is this
    your …?", asked at any text step); stale or forged presses get a polite refusal."""
    press = pressed(update, "rp")
    conv = await get_conversation(actor.uow.session, actor.chat_id)
    if conv is None or conv.flow != FLOW or press is None:
        await _stale(actor, press)
        return
    spec = STEPS.get(conv.step)
    act = _as_data_button if press.action == "as" else spec.buttons.get(press.action) if spec else None
    if act is None:
        actor.reply("report/text#stale")
        return
    await act(actor, dict(conv.data), conv.step, press.text(0) if press.fields else "", context)


async def _stale(actor: Actor, press: Press | None) -> None:
    """A press outside a running report; a repeated Submit names the ticket already made."""
    uow = actor.uow
    if press is not None and press.action == "submit":
        number = await intake.recent_ticket(uow.session, actor.user.id, uow.now, RESUBMIT_WINDOW)
        if number is not None:
            actor.reply("report/text#already_submitted", number=number)
            return
    actor.reply("report/text#stale")


async def _as_data_button(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    await _as_data(actor, data, step, arg == "yes")  # the codec lets only yes and no through


async def _pick_equipment(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if arg == "none":
        data.update(equipment_id=None, equipment_label="")
        await _save(actor, "equipment_free", data)
        await prompt(actor, "equipment_free", data)
        return
    uow = actor.uow
    if not (arg.isdecimal() and len(arg) <= 12 and data.get("verified") and data.get("customer_id")):
        actor.reply("report/text#stale")
        return
    item = await intake.equipment_of(uow.session, data["customer_id"], int(arg))
    if item is None:
        actor.reply("report/text#stale")
        return
    data.update(equipment_id=item[0], equipment_label=item[1], category=item[2])
    await _advance(actor, data, STEPS[step].next)


async def _pick_category(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if arg not in CATEGORIES:
        actor.reply("report/text#stale")
        return
    data.update(category=arg, equipment_id=None, equipment_label="")
    await _save(actor, "equipment_text", data)
    await prompt(actor, "equipment_text", data)


async def _pick_severity(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if arg not in SEVERITIES:
        actor.reply("report/text#stale")
        return
    data["severity"] = arg
    await _advance(actor, data, STEPS[step].next)


async def _use_hint(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if not data.get("symptom_hint"):
        actor.reply("report/text#stale")
        return
    data["symptom"], data["symptom_rest"] = data.pop("symptom_hint"), data.pop("symptom_hint_rest", "")
    await _advance(actor, data, STEPS[step].next)


async def _submit_button(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if not _complete(data):
        actor.reply("report/text#stale")
        return
    await _submit(actor, data, context.desk)


async def _edit(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    await _save(actor, "edit_pick", data)
    await prompt(actor, "edit_pick", data)


async def _pick_field(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    if arg not in EDITABLE:
        actor.reply("report/text#stale")
        return
    data["editing"] = True
    target = {"customer": "ident"}.get(arg, arg)
    if arg == "customer":
        for key in ("customer_id", "customer_label", "verified", "candidates", "equipment_id", "typed_ident"):
            data.pop(key, None)
    await _save(actor, target, data)
    await prompt(actor, target, data)


async def _cancel(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    await clear_conversation(actor.uow.session, actor.chat_id)
    actor.reply("report/text#cancelled")


async def _submit(actor: Actor, data: dict[str, Any], desk: Any, *, check_duplicates: bool = True) -> None:
    """Open the report's ticket — or link it to the open ticket it duplicates, or first ask whether
    it is the same problem as a similar one (the report then waits at step ``dup_ask``)."""
    uow = actor.uow
    outcome = await intake.submit(uow, desk, actor.user, data, check_duplicates=check_duplicates)
    if isinstance(outcome, Duplicate) and outcome.kind == "ask":
        data["dup_of"], data["dup_minutes"] = outcome.ticket_id, desk.policy.duplicates.ask_timeout_minutes
        intake.hold(uow, desk, actor.user.id, data, outcome)
        await _save(actor, "dup_ask", data)
        await prompt(actor, "dup_ask", data)
        return
    await clear_conversation(uow.session, actor.chat_id)
    if isinstance(outcome, Duplicate):
        dupes.tell_linked(actor, outcome)
        return
    dupes.send_receipt(actor, outcome)


async def _ask_dup(actor: Actor, data: dict[str, Any]) -> None:
    await dupes.ask_same(actor, data, int(data.get("dup_minutes") or 0))


async def _same_problem(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    """ "Same problem": the report joins the ticket asked about (a new ticket if that one closed since)."""
    uow = actor.uow
    await intake.release(uow, actor.user.id)
    ticket_id = data.get("dup_of")
    ticket = await intake.join(uow, context.desk, actor.user, data, ticket_id) if isinstance(ticket_id, int) else None
    if ticket is None:
        await _submit(actor, data, context.desk, check_duplicates=False)
        return
    await clear_conversation(uow.session, actor.chat_id)
    dupes.tell_linked(actor, Duplicate("link", ticket.id, ticket.number))


async def _other_problem(actor: Actor, data: dict[str, Any], step: str, arg: str, context: DeskContext) -> None:
    """ "A different problem": the report is opened and dispatched as a ticket of its own."""
    await intake.release(actor.uow, actor.user.id)
    await _submit(actor, data, context.desk, check_duplicates=False)


# --- the steps -----------------------------------------------------------------------------

Ask = Callable[[Actor, dict[str, Any]], Awaitable[None]]
Parse = Callable[[Actor, dict[str, Any], str], Awaitable[bool]]  # True: the text was taken
Act = Callable[[Actor, dict[str, Any], str, str, DeskContext], Awaitable[None]]  # (…, step, field, context)


@dataclass(frozen=True)
class Step:
    """One step of the report: its question (``ask``), the typed answer it takes (``parse``; a
    step without one answers only its buttons), its buttons (``rp:<action>`` → what they do) and
    the step that follows an accepted answer (``next``; editing one field returns to the summary)."""

    ask: Ask
    parse: Parse | None = None
    buttons: Mapping[str, Act] = field(default_factory=dict)
    next: str = ""


STEPS: dict[str, Step] = {
    "ident": Step(_ask_ident, _ident_text, next="name"),
    "pick_customer": Step(_ask_ident, _ident_text, next="name"),  # a step of older versions
    "name": Step(_ask_name, _name_text, next="equipment"),
    "equipment": Step(_ask_equipment, _equipment_text, {"eq": _pick_equipment, "cat": _pick_category},
                      next="symptom"),
    "equipment_free": Step(_ask_equipment_free, _equipment_text, {"cat": _pick_category}, next="symptom"),
    "equipment_text": Step(_ask_equipment_detail, _equipment_text, next="symptom"),
    "symptom": Step(_ask_symptom, _symptom_text, {"hint": _use_hint}, next="severity"),
    "severity": Step(_ask_severity, None, {"sev": _pick_severity}, next="confirm"),
    "confirm": Step(_ask_confirm, None, {"submit": _submit_button, "edit": _edit, "cancel": _cancel}),
    "edit_pick": Step(_ask_edit_pick, None, {"field": _pick_field, "cancel": _cancel}),
    "dup_ask": Step(_ask_dup, None, {"same": _same_problem, "other": _other_problem}),
}


def _takes_text(step: str) -> bool:
    """Whether ``step`` takes a typed answer (the others answer only their buttons)."""
    spec = STEPS.get(step)
    return spec is not None and spec.parse is not None


async def _take_text(actor: Actor, data: dict[str, Any], step: str, text: str) -> None:
    """A typed answer to ``step``: parsed by the step; accepted, the report goes on to its next step."""
    spec = STEPS[step]
    assert spec.parse is not None
    if await spec.parse(actor, data, text):
        await _advance(actor, data, spec.next)
