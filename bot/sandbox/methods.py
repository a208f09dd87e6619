"""Bot API method implementations against the :class:`~bot.sandbox.state.World`.

Text limits count Python characters (Unicode code points) of the text after HTML parsing
and whitespace trimming, as TDLib does; entity offsets are UTF-16 code units.
Markdown parse modes are refused with a sandbox error: the sandbox does not parse them, and the
bot does not use them, so any future use must be noticed (and the parser written) first.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import json
import mimetypes
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.groups import Group
from bot.sandbox.html import HtmlError, parse_html, strip_entities
from bot.sandbox.model import ApiError, Message, bad_request, keyboard_rows, strip_reply
from bot.sandbox.state import (
    ALL_UPDATE_TYPES,
    BLOCKED,
    CALLBACK_TTL,
    MEDIA_KINDS,
    Chat,
    StoredFile,
    World,
)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_TEXT_LIMIT = 200
MAX_POLL_TIMEOUT = 50.0
# Telegram's file limits for bots: uploads (photos, other files) and getFile downloads
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024
FILE_UPLOAD_LIMIT = 50 * 1024 * 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024
TOO_LARGE = "Request Entity Too Large"
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
MARKDOWN_REFUSED = (
    "sandbox: parse_mode {mode} is not supported (the sandbox parses only HTML, and the bot "
    "uses only HTML); write a Markdown parser in bot/sandbox/ before using it"
)
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@dataclass
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


class Params:
    """Request parameters from a query string, form, multipart or JSON body."""

    def __init__(self, values: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None):
        self.values = dict(values)
        self.uploads = dict(uploads or {})

    def has(self, name: str) -> bool:
        return self.values.get(name) is not None

    def str(self, name: str, default: str | None = None) -> str | None:
        v = self.values.get(name)
        if v is None:
            return default
        return v if isinstance(v, str) else json.dumps(v)

    def int(self, name: builtins.str, default: int | None = None) -> int | None:
        v = self.values.get(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def float(self, name: builtins.str, default: float) -> float:
        v = self.values.get(name)
        try:
            return default if v is None or v == "" else float(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: builtins.str) -> bool:
        return self.values.get(name) in (True, 1, "true", "True", "1")

    def json(self, name: builtins.str) -> Any:
        v = self.values.get(name)
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return v

    def required(self, name: builtins.str) -> Any:
        v = self.values.get(name)
        if v is None or v == "":
            raise bad_request(f"{name} is empty")
        return v

    def input_file(self, name: builtins.str) -> Upload | builtins.str | None:
        """An uploaded file (direct part or ``attach://``) or a file_id string."""
        if name in self.uploads:
            return self.uploads[name]
        v = self.values.get(name)
        if isinstance(v, str) and v.startswith("attach://"):
            return self.uploads.get(v.removeprefix("attach://"))
        return v if isinstance(v, str) and v else None


Handler = Callable[[World, Params], Awaitable[Any]]
METHODS: dict[str, tuple[str, Handler]] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        METHODS[name.lower()] = (name, func)
        return func

    return register


def canonical(name: str) -> str | None:
    """The canonical spelling of a method name, or None when unknown."""
    entry = METHODS.get(name.lower())
    return entry[0] if entry else None


async def call(world: World, name: str, params: Params) -> Any:
    """Run one Bot API method; raises :class:`ApiError`."""
    entry = METHODS.get(name.lower())
    if entry is None:
        raise ApiError(404, "Not Found")
    return await entry[1](world, params)


# ---------------------------------------------------------------- helpers
def format_text(
    text: str, parse_mode: str | None, entities: Any, limit: int, *, caption: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """Parse and validate message text or a caption."""
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            try:
                plain, ents = parse_html(text)
            except HtmlError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("markdown", "markdownv2"):
            raise ApiError(400, MARKDOWN_REFUSED.format(mode=parse_mode))
        else:
            raise bad_request("unsupported parse_mode")
    else:
        plain, ents = text, list(entities) if isinstance(entities, list) else []
    plain, ents = strip_entities(plain, ents)
    if not plain and not caption:
        raise bad_request("message text is empty")
    if len(plain) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, ents


def check_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup object the way Telegram does (the parts the bot uses)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse inline keyboard markup JSON object")
        if not keyboard_rows(markup):
            return None  # Telegram drops an empty inline keyboard: the message has none
        for row in rows:
            for b in row:
                if not isinstance(b, dict) or not isinstance(b.get("text"), str):
                    raise bad_request("can't parse inline keyboard button: Text is not a string")
                if not b["text"]:
                    raise bad_request("BUTTON_TEXT_INVALID")
                if "callback_data" in b:
                    size = len(str(b["callback_data"]).encode("utf-8"))
                    if not 1 <= size <= 64:
                        raise bad_request("BUTTON_DATA_INVALID")
                elif "url" in b:
                    if not re.match(r"(https?|tg)://\S+$", str(b["url"])):
                        raise bad_request("BUTTON_URL_INVALID")
                elif not any(k in b for k in ("switch_inline_query", "web_app", "login_url",
                                              "copy_text", "pay", "callback_game",
                                              "switch_inline_query_current_chat",
                                              "switch_inline_query_chosen_chat")):
                    raise bad_request(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in rows:
            for b in row:
                text = b if isinstance(b, str) else b.get("text") if isinstance(b, dict) else None
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text is not a string")
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    if not markup:
        return None  # {} (an empty InlineKeyboardMarkup as PTB sends it): no markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _reply_to(world: World, chat: Chat, p: Params) -> dict[str, Any] | None:
    params = p.json("reply_parameters")
    if isinstance(params, dict):
        target_id, allow = params.get("message_id"), bool(params.get("allow_sending_without_reply"))
    else:
        target_id, allow = p.int("reply_to_message_id"), p.bool("allow_sending_without_reply")
    if target_id is None:
        return None
    target = world.message(chat, target_id)
    if target is None:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return strip_reply(target.data)


def target(world: World, chat_id: Any) -> Chat | Group:
    """The private chat or supergroup a Bot API ``chat_id`` names (a group only while the bot
    is a member of it)."""
    group = world.groups.get(chat_id)
    if group is not None:
        return world.groups.for_bot(group)
    return world.chat(chat_id)


def _writable(world: World, chat: Chat | Group) -> None:
    """403 when the user has blocked the bot (sending, editing, chat actions) or the bot is no
    longer a member of the group."""
    if isinstance(chat, Group):
        world.groups.for_bot(chat)
    elif chat.user.id in world.blocked:
        raise ApiError(403, BLOCKED)


def _flood(world: World, chat: Chat | Group) -> None:
    if world.flood_enabled:
        world.flood.check(chat.id)


def _send(world: World, chat: Chat | Group, p: Params, content: dict[str, Any]) -> dict[str, Any]:
    if isinstance(chat, Group):
        return _send_to_group(world, chat, p, content)
    _writable(world, chat)
    if p.has("message_thread_id"):
        raise bad_request("message thread not found")
    markup = check_markup(p.json("reply_markup"))
    reply = _reply_to(world, chat, p)
    if reply is not None:
        content["reply_to_message"] = reply
    _flood(world, chat)
    return world.add_message(chat, True, content, markup).data


def _send_to_group(
    world: World, group: Group, p: Params, content: dict[str, Any]
) -> dict[str, Any]:
    """A bot message into a supergroup: into ``message_thread_id``'s topic, or the topic of the
    message it replies to; a closed topic needs the right to manage topics."""
    world.groups.for_bot(group)
    markup = check_markup(p.json("reply_markup"))
    topic = world.groups.topic(group, p.int("message_thread_id"))
    params = p.json("reply_parameters")
    if isinstance(params, dict):
        target_id, allow = params.get("message_id"), bool(params.get("allow_sending_without_reply"))
    else:
        target_id, allow = p.int("reply_to_message_id"), p.bool("allow_sending_without_reply")
    reply = world.message(group, target_id) if target_id is not None else None
    if reply is not None:
        thread = reply.data.get("message_thread_id") if reply.data.get("is_topic_message") else None
        if topic is None and thread is not None:
            topic = group.topics.get(thread)
        elif (topic.thread_id if topic else None) != thread:
            reply = None  # not in this topic: Telegram finds no such message there
    if target_id is not None and reply is None and not allow:
        raise bad_request("message to be replied not found")
    if reply is not None and topic is not None and reply.message_id == topic.thread_id:
        reply = None  # a reply to the topic's first message is a message in the topic
    if topic is not None and topic.closed and not group.bot.may("can_manage_topics"):
        raise bad_request("TOPIC_CLOSED")
    _flood(world, group)
    return world.groups.post(group, None, content, topic=topic, reply=reply, markup=markup).data


def _caption(p: Params) -> dict[str, Any]:
    caption = p.str("caption")
    if not caption:
        return {}
    plain, ents = format_text(
        caption, p.str("parse_mode"), p.json("caption_entities"), CAPTION_LIMIT, caption=True
    )
    content: dict[str, Any] = {"caption": plain} if plain else {}
    if ents:
        content["caption_entities"] = ents
    return content


def _editable(world: World, p: Params) -> tuple[Chat | Group, Message]:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = target(world, p.required("chat_id"))
    msg = world.message(chat, p.int("message_id"))
    if msg is None:
        raise bad_request("message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    _writable(world, chat)
    return chat, msg


def _apply_edit(world: World, msg: Message, fields: dict[str, Any], markup: Any) -> None:
    """Replace content fields and the inline keyboard, or fail with 'not modified'."""
    inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
    before = ({k: msg.data.get(k) for k in fields}, msg.data.get("reply_markup"))
    after = ({k: v or None for k, v in fields.items()}, inline)
    if before == after:
        raise bad_request(NOT_MODIFIED)
    for k, v in fields.items():
        if v:
            msg.data[k] = v
        else:
            msg.data.pop(k, None)
    if inline:
        msg.data["reply_markup"] = inline
        msg.markup = inline
    else:
        msg.data.pop("reply_markup", None)
        if msg.markup and "inline_keyboard" in msg.markup:
            msg.markup = None
    msg.data["edit_date"] = int(world.clock())
    msg.edited = True
    world.changed(msg)


def _new_upload(world: World, up: Upload, kind: str, default_name: str) -> StoredFile:
    if not up.data:
        raise bad_request("file must be non-empty")
    limit = PHOTO_UPLOAD_LIMIT if kind == "photos" else FILE_UPLOAD_LIMIT
    if len(up.data) > limit:
        raise ApiError(400, TOO_LARGE)
    name = up.filename or default_name
    mime = up.content_type
    if not mime or mime == "application/octet-stream":
        mime = mimetypes.guess_type(name)[0] or mime or "application/octet-stream"
    return world.store_file(up.data, kind, name, mime)


# ---------------------------------------------------------------- methods
@method("getMe")
async def get_me(world: World, p: Params) -> Any:
    return {
        **world.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


@method("getUpdates")
async def get_updates(world: World, p: Params) -> Any:
    if world.webhook_url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    offset = p.int("offset")
    limit = min(100, max(1, p.int("limit", 100) or 100))
    timeout = min(MAX_POLL_TIMEOUT, max(0.0, p.float("timeout", 0.0)))
    _set_allowed_updates(world, p)
    world.poll_generation += 1
    generation = world.poll_generation
    world.updates_signal.fire()  # an earlier long poll wakes up and finds itself terminated
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = world.take_updates(offset, limit)
        remaining = deadline - loop.time()
        if result or remaining <= 0 or world.closing or world.webhook_url:
            return result
        await world.updates_signal.wait(remaining)
        if world.poll_generation != generation:
            raise ApiError(409, POLL_CONFLICT)


def _set_allowed_updates(world: World, p: Params) -> None:
    """Remember ``allowed_updates`` when given (absent: the previous setting stays)."""
    if not p.has("allowed_updates"):
        return
    kinds = p.json("allowed_updates")
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise bad_request("can't parse allowed_updates JSON array")
    world.allowed_updates = [k for k in kinds if k in ALL_UPDATE_TYPES]


def _check_webhook_url(world: World, url: str) -> None:
    """Telegram: an HTTPS URL on port 443, 80, 88 or 8443 (unless the sandbox allows http)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if world.allow_insecure_webhook:
        return
    if parts.scheme != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    try:
        port = parts.port or 443
    except ValueError:
        raise bad_request("bad webhook: Wrong port number specified in the URL") from None
    if port not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


@method("setWebhook")
async def set_webhook(world: World, p: Params) -> Any:
    url = p.str("url") or ""
    secret = p.str("secret_token")
    if url:
        _check_webhook_url(world, url)
    if secret and not _SECRET_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    _set_allowed_updates(world, p)
    if p.has("max_connections"):  # Telegram clamps it to 1..100
        world.webhook_max_connections = min(100, max(1, p.int("max_connections", 40) or 1))
    if p.bool("drop_pending_updates"):
        world.updates.clear()
    world.webhook_url, world.webhook_secret = url, secret or None
    world.webhook_last_error = None
    world.updates_signal.fire()
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, p: Params) -> Any:
    if p.bool("drop_pending_updates"):
        world.updates.clear()
    world.webhook_url, world.webhook_secret = "", None
    world.updates_signal.fire()
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, p: Params) -> Any:
    info: dict[str, Any] = {
        "url": world.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates),
    }
    if world.webhook_url:
        info["max_connections"] = world.webhook_max_connections
        if world.allowed_updates:
            info["allowed_updates"] = list(world.allowed_updates)
    if world.webhook_last_error:
        info["last_error_date"], info["last_error_message"] = world.webhook_last_error
    return info


@method("sendMessage")
async def send_message(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    text, ents = format_text(
        p.str("text") or "", p.str("parse_mode"), p.json("entities"), TEXT_LIMIT
    )
    content: dict[str, Any] = {"text": text}
    if ents:
        content["entities"] = ents
    return _send(world, chat, p, content)


@method("sendPhoto")
async def send_photo(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    inp = p.input_file("photo")
    if isinstance(inp, Upload):
        f = _new_upload(world, inp, "photos", "photo.jpg")
    elif isinstance(inp, str):
        f = world.file(inp)
        if not f.file_path.startswith("photos/"):
            raise bad_request("type of file mismatch")
    else:
        raise bad_request("there is no photo in the request")
    content = {"photo": world.photo_sizes(f), **_caption(p)}
    return _send(world, chat, p, content)


@method("sendDocument")
async def send_document(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    inp = p.input_file("document")
    if isinstance(inp, Upload):
        f = _new_upload(world, inp, "documents", "document")
    elif isinstance(inp, str):
        f = world.file(inp)
    else:
        raise bad_request("there is no document in the request")
    doc = {
        "file_id": f.file_id,
        "file_unique_id": f.file_unique_id,
        "file_name": f.file_name or "document",
        "mime_type": f.mime_type or "application/octet-stream",
        "file_size": len(f.data),
    }
    return _send(world, chat, p, {"document": doc, **_caption(p)})


def _media_file(world: World, p: Params, kind: str) -> StoredFile:
    """The file of a sendVoice/sendVideo/sendVideoNote/sendAudio call: a new upload (its duration and size
    parameters kept as its metadata) or a file_id of the same kind."""
    folder, default_mime, _ = MEDIA_KINDS[kind]
    inp = p.input_file(kind)
    if isinstance(inp, Upload):
        f = _new_upload(world, inp, folder, f"{kind}{mimetypes.guess_extension(default_mime) or ''}")
        if f.mime_type == "application/octet-stream":
            f.mime_type = default_mime
        keys = ("duration", "length") if kind == "video_note" else ("duration", "width", "height")
        for key in keys:
            value = p.int(key)
            if value is not None:
                if value < 0:
                    raise bad_request(f"invalid {key} specified")
                f.meta[key] = value
        return f
    if isinstance(inp, str):
        if "://" in inp:
            if kind == "video_note":  # Telegram: "Sending video notes by a URL is unsupported"
                raise bad_request("wrong file identifier/HTTP URL specified")
            raise bad_request("failed to get HTTP URL content")
        f = world.file(inp)
        if not f.file_path.startswith(f"{folder}/"):
            raise bad_request("type of file mismatch")
        return f
    raise bad_request(f"there is no {kind.replace('_', ' ')} in the request")


async def _send_media(world: World, p: Params, kind: str) -> dict[str, Any]:
    chat = target(world, p.required("chat_id"))
    f = _media_file(world, p, kind)
    content: dict[str, Any] = {kind: world.media_object(kind, f)}
    if kind != "video_note":  # sendVideoNote takes no caption
        content.update(_caption(p))
    return _send(world, chat, p, content)


@method("sendVoice")
async def send_voice(world: World, p: Params) -> Any:
    return await _send_media(world, p, "voice")


@method("sendVideo")
async def send_video(world: World, p: Params) -> Any:
    return await _send_media(world, p, "video")


@method("sendAudio")
async def send_audio(world: World, p: Params) -> Any:
    return await _send_media(world, p, "audio")


@method("sendVideoNote")
async def send_video_note(world: World, p: Params) -> Any:
    return await _send_media(world, p, "video_note")


# Message fields a copy keeps; everything else (ids, sender, date, reply, markup) is new
_COPIED = ("text", "entities", "photo", "document", "voice", "video", "video_note", "audio",
           "sticker", "contact", "location", "caption", "caption_entities")
_CAPTIONED = ("photo", "document", "voice", "video", "audio")


@method("copyMessage")
async def copy_message(world: World, p: Params) -> Any:
    """A copy without a link to the original; returns a MessageId. A new caption replaces the
    original's (media only); a text message ignores ``caption``, as on Telegram."""
    chat = target(world, p.required("chat_id"))
    source_chat = target(world, p.required("from_chat_id"))
    if p.int("message_id") is None:
        raise bad_request("message identifier is not specified")
    source = world.message(source_chat, p.int("message_id"))
    if source is None:
        raise bad_request("message to copy not found")
    content = {k: copy.deepcopy(v) for k, v in source.data.items() if k in _COPIED}
    if not content:
        raise bad_request("the message can't be copied")
    if any(k in content for k in _CAPTIONED) and (p.has("caption") or p.has("caption_entities")):
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(_caption(p))
    sent = _send(world, chat, p, content)
    return {"message_id": sent["message_id"]}


@method("sendChatAction")
async def send_chat_action(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    _writable(world, chat)
    if isinstance(chat, Group):
        world.groups.topic(chat, p.int("message_thread_id"))
    if p.str("action") not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


@method("editMessageText")
async def edit_message_text(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    if "text" not in msg.data:
        raise bad_request("there is no text in the message to edit")
    text, ents = format_text(
        p.str("text") or "", p.str("parse_mode"), p.json("entities"), TEXT_LIMIT
    )
    markup = check_markup(p.json("reply_markup"))
    _flood(world, chat)
    _apply_edit(world, msg, {"text": text, "entities": ents}, markup)
    return msg.data


@method("editMessageCaption")
async def edit_message_caption(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    if "text" in msg.data:
        raise bad_request("there is no caption in the message to edit")
    cap = _caption(p)
    markup = check_markup(p.json("reply_markup"))
    _flood(world, chat)
    _apply_edit(
        world,
        msg,
        {"caption": cap.get("caption"), "caption_entities": cap.get("caption_entities")},
        markup,
    )
    return msg.data


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    markup = check_markup(p.json("reply_markup"))
    _flood(world, chat)
    _apply_edit(world, msg, {}, markup)
    return msg.data


@method("deleteMessage")
async def delete_message(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    msg = world.message(chat, p.int("message_id"))
    if msg is None:
        raise bad_request("message to delete not found")
    if isinstance(chat, Group) and not msg.from_bot and not chat.bot.may("can_delete_messages"):
        raise bad_request("message can't be deleted")
    if world.clock() - msg.data["date"] > 48 * 3600:
        raise bad_request("message can't be deleted for everyone")
    msg.deleted = True
    world.changed(msg)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(world: World, p: Params) -> Any:
    query = world.callbacks.get(p.str("callback_query_id") or "")
    if query is None or query.answered or world.clock() - query.created > CALLBACK_TTL:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.str("text")
    if text and len(text) > CALLBACK_TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    answer: dict[str, Any] = {
        "callback_query_id": query.id,
        "text": text,
        "show_alert": p.bool("show_alert"),
    }
    if p.has("url"):
        answer["url"] = p.str("url")
    world.answers[query.user_id].append(answer)
    return True


@method("getFile")
async def get_file(world: World, p: Params) -> Any:
    f = world.files.get(p.str("file_id") or "")
    if f is None:
        raise bad_request("invalid file_id")
    if len(f.data) > DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return f.file_dict()


def _commands_key(p: Params) -> str:
    scope = p.json("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True) + "|" + (p.str("language_code") or "")


@method("setMyCommands")
async def set_my_commands(world: World, p: Params) -> Any:
    commands = p.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for c in commands:
        if not isinstance(c, dict) or not _COMMAND_NAME_RE.fullmatch(str(c.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(c.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    world.commands[_commands_key(p)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


@method("getMyCommands")
async def get_my_commands(world: World, p: Params) -> Any:
    return world.commands.get(_commands_key(p), [])


@method("deleteMyCommands")
async def delete_my_commands(world: World, p: Params) -> Any:
    world.commands.pop(_commands_key(p), None)
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(world: World, p: Params) -> Any:
    if p.has("chat_id"):
        world.chat(p.values["chat_id"])
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(world: World, p: Params) -> Any:
    return {"type": "commands"}


@method("getChat")
async def get_chat(world: World, p: Params) -> Any:
    chat = target(world, p.required("chat_id"))
    return {
        **(chat.chat_dict() if isinstance(chat, Group) else chat.user.chat_dict()),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {  # required in ChatFullInfo since Bot API 9.0
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


@method("close")
async def close(world: World, p: Params) -> Any:
    return True


@method("logOut")
async def log_out(world: World, p: Params) -> Any:
    return True
