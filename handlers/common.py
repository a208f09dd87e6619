"""/start, /help, /lang, and the replies to content the bot does not take."""

from __future__ import annotations

from telegram import Update

from bot.core import uow as uow_mod
from bot.core.callbacks import encode
from bot.core.i18n import LOCALES
from handlers.base import Actor, DeskContext, guarded, pressed
from handlers.flows import flow
from storage.models import Conversation
from storage.repo import clear_conversation, set_conversation

LANG_NAMES = {"zh": "简体中文", "zh-hant": "繁體中文", "zh-hk": "繁體中文（香港）", "en": "English"}
_LANG_WORDS = {
    "zh": {"zh", "zh-cn", "zh-hans", "中文", "汉语", "简体", "简体中文", "簡體中文", "chinese", "cn", "simplified"},
    "zh-hant": {"zh-hant", "zh-tw", "tw", "繁体", "繁體", "繁体中文", "繁體中文", "正體中文", "traditional"},
    "zh-hk": {"zh-hk", "zh-mo", "hk", "香港", "港澳", "繁體中文（香港）", "粵語", "粤语"},
    "en": {"en", "english", "英文", "英语", "英語"},
}


@guarded()
async def start(update: Update, context: DeskContext, actor: Actor) -> None:
    """Greeting and what this person can do, by role."""
    actor.reply("common/start", role=actor.role, name=actor.user.first_name)


@guarded()
async def help_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """Commands available to this person's role."""
    actor.reply("common/help", role=actor.role)


def _lang_buttons() -> uow_mod.Buttons:
    """简体中文 | 繁體中文 | 繁體中文（香港） on one row, English under them."""
    chinese = [(LANG_NAMES[code], encode("lang", "", code)) for code in LOCALES if code != "en"]
    return [chinese, [(LANG_NAMES["en"], encode("lang", "", "en"))]]


@guarded()
async def lang_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """``/lang`` [zh|zh-hant|zh-hk|en]: switch at once, or ask with buttons (a one-step flow)."""
    uow = actor.uow
    wanted = _match_lang(" ".join(context.args or []))
    if wanted:
        await _set_locale(actor, wanted)
        return
    await set_conversation(uow.session, actor.chat_id, "lang", "choose", {}, uow.now)
    actor.reply("common/lang_prompt", buttons=_lang_buttons())


@guarded()
async def lang_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """The language buttons (callback data ``lang:<code>``, checked against known locales)."""
    press = pressed(update, "lang")
    if press is None:
        actor.reply("common/stale_button")
        return
    await _set_locale(actor, press.text(0))


@flow("lang")
async def lang_step(
    update: Update, context: DeskContext, actor: Actor, conv: Conversation
) -> None:
    """A typed answer to the language question."""
    text = update.effective_message.text if update.effective_message else ""
    wanted = _match_lang(text or "")
    if wanted is None:
        actor.reply("common/lang_prompt", buttons=_lang_buttons())
        return
    await _set_locale(actor, wanted)


def _match_lang(text: str) -> str | None:
    word = text.strip().lower()
    for code, words in _LANG_WORDS.items():
        if word in words:
            return code
    return None


async def _set_locale(actor: Actor, code: str) -> None:
    uow = actor.uow
    actor.user.locale = code
    actor.user.locale_chosen = True
    actor.locale = code
    await clear_conversation(uow.session, actor.chat_id)
    actor.reply("common/lang_set", language=LANG_NAMES[code])


@guarded()
async def unsupported(update: Update, context: DeskContext, actor: Actor) -> None:
    """Stickers, voice, locations, files outside a flow: say what the bot understands."""
    actor.reply("common/unsupported")


@guarded()
async def edited(update: Update, context: DeskContext, actor: Actor) -> None:
    """An edited message: explain that edits do not change what was submitted."""
    actor.reply("common/edited")


@guarded()
async def unknown_command(update: Update, context: DeskContext, actor: Actor) -> None:
    """A command nobody registered."""
    actor.reply("common/unknown_command", role=actor.role)


@guarded()
async def stale_button(update: Update, context: DeskContext, actor: Actor) -> None:
    """A button press whose data no handler recognises (old or forged)."""
    actor.reply("common/stale_button")
