"""The sandbox's in-memory world: users, chats, messages, files, updates, faults, flood limits.

Pure Python plus asyncio (for change notification); the HTTP layer lives in ``server.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import math
import mimetypes
import random
import re
import secrets
import struct
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.groups import Group, Groups
from bot.sandbox.html import utf16_len
from bot.sandbox.model import (
    ApiError,
    Message,
    NotMember,
    PressRefused,
    User,
    UserBlocked,
    bad_request,
    keyboard_rows,
    strip_reply,
    unseen,
    view_message,
)

BOT_FIRST_NAME = "ServiceDesk Sandbox"
BOT_USERNAME = "servicedesk_sandbox_bot"
CALLBACK_TTL = 60.0  # seconds a callback query may be answered
BLOCKED = "Forbidden: bot was blocked by the user"
# what Telegram delivers when allowed_updates was never given (or given as [])
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post",
        "business_connection", "business_message", "edited_business_message",
        "deleted_business_messages", "inline_query", "chosen_inline_result", "callback_query",
        "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer",
        "my_chat_member", "chat_join_request", "chat_boost", "removed_chat_boost",
    }
)
# delivered only when asked for by name
ALL_UPDATE_TYPES = DEFAULT_UPDATE_TYPES | {"chat_member", "message_reaction", "message_reaction_count"}
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
# a user's voice note, video or video note: Message field -> (file folder, mime, default bytes)
MEDIA_KINDS: dict[str, tuple[str, str, bytes]] = {
    "voice": ("voice", "audio/ogg", b"OggS\x00fake-voice"),
    "video": ("videos", "video/mp4", b"\x00\x00\x00\x18ftypmp42fake-video"),
    "video_note": ("video_notes", "video/mp4", b"\x00\x00\x00\x18ftypmp42fake-note"),
    "audio": ("music", "audio/mpeg", b"ID3fake-audio"),
}
# a 1x1 transparent PNG, used for `"photo": true`
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def update_type(payload: dict[str, Any]) -> str | None:
    """The update's kind (``message``, ``callback_query``…): its one key besides update_id."""
    return next((k for k in payload if k != "update_id"), None)


def update_chat_key(payload: dict[str, Any]) -> str:
    """Telegram's webhook queue of an update: its chat (one delivery in flight per chat)."""
    obj = payload.get(update_type(payload) or "")
    if isinstance(obj, dict):
        chat = obj.get("chat") or (obj.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return f"chat:{chat['id']}"
        sender = obj.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return f"user:{sender['id']}"
    return f"update:{payload.get('update_id')}"


def keyboard_data(markup: dict[str, Any] | None) -> list[str]:
    """The callback_data of every button of an inline keyboard."""
    rows = (markup or {}).get("inline_keyboard") or []
    return [str(b["callback_data"]) for row in rows for b in row if "callback_data" in b]


class Signal:
    """Broadcast 'something changed' to any number of waiters."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def wait(self, timeout: float) -> Coroutine[None, None, None]:
        """Wait until the next :meth:`fire` or ``timeout`` seconds (a fire after this call
        counts even if the coroutine starts later, e.g. as a task)."""
        return self._wait(self._event, timeout)

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), max(0.0, timeout))


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    meta: dict[str, int] = field(default_factory=dict)  # duration, width, height, length

    def file_dict(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class Chat:
    user: User
    messages: dict[int, Message] = field(default_factory=dict)
    last_message_id: int = 0
    cursors: dict[int, int] = field(default_factory=dict)  # last_id handed out -> change seq

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class PendingUpdate:
    update_id: int
    payload: dict[str, Any]
    forced: bool = False  # re-delivered: handed out once more regardless of offset
    delivered: bool = False


@dataclass
class Fault:
    method: str  # lower-case method name or "*"
    remaining: int
    kind: str
    retry_after: int


@dataclass
class RateFault:
    method: str
    rate: float
    kinds: list[str]
    retry_after: int
    rng: random.Random


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    created: float
    answered: bool = False


class TokenBucket:
    """Classic token bucket driven by an injectable clock."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def wait_needed(self, now: float) -> float:
        """Seconds until one token is available (0 if available now)."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class FloodLimiter:
    """Telegram's limits: ~30 messages/s per bot, ~1 message/s per chat (burst 3), and at most
    20 messages a minute into one group (negative chat ids)."""

    GLOBAL_RATE, GLOBAL_BURST = 30.0, 30.0
    CHAT_RATE, CHAT_BURST = 1.0, 3.0
    GROUP_RATE, GROUP_BURST = 20 / 60, 20.0

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.global_bucket = TokenBucket(self.GLOBAL_RATE, self.GLOBAL_BURST, clock())
        self.chats: dict[int, TokenBucket] = {}
        self.groups: dict[int, TokenBucket] = {}

    def check(self, chat_id: int | None) -> None:
        """Take one message slot or raise a 429 :class:`ApiError`."""
        now = self.clock()
        buckets = [self.global_bucket]
        if chat_id is not None:
            if chat_id not in self.chats:
                self.chats[chat_id] = TokenBucket(self.CHAT_RATE, self.CHAT_BURST, now)
            buckets.append(self.chats[chat_id])
        if chat_id is not None and chat_id < 0:
            if chat_id not in self.groups:
                self.groups[chat_id] = TokenBucket(self.GROUP_RATE, self.GROUP_BURST, now)
            buckets.append(self.groups[chat_id])
        wait = max(b.wait_needed(now) for b in buckets)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
        for b in buckets:
            b.take()


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; a plausible default otherwise."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w, h
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + seg_len
    return 800, 600


class World:
    """Everything the fake Telegram knows. Single-threaded (one asyncio loop)."""

    def __init__(self, clock: Callable[[], float], *, start_ids: tuple[int, int] = (1, 1)) -> None:
        self.clock = clock
        self.bot_id = 0
        # (first update id, first message id of each chat): a restart on a bot's database
        # continues above the ids it has seen, as Telegram does
        self.next_update_id, self.first_message_id = start_ids  # never reset: offsets stay valid
        self.seq = 0  # change sequence for messages, never reset
        self.updates_signal = Signal()
        self.messages_signal = Signal()
        self.delay_ms = 0.0
        self.flood_enabled = False
        self.closing = False  # set on server stop: long polls return at once
        # an explicit test option: webhooks on plain http and any port (Telegram: https only)
        self.allow_insecure_webhook = False
        self.poll_generation = 0  # bumped by every getUpdates: an older long poll is terminated
        self._id_counter = 0
        self.reset()

    # ---------------------------------------------------------------- lifecycle
    def reset(self) -> None:
        """Forget everything except the update-id and change-seq counters."""
        self.users: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.updates: list[PendingUpdate] = []
        self.history: dict[int, dict[str, Any]] = {}  # every update ever queued, for redeliver
        self.faults: list[Fault] = []
        self.rate_faults: list[RateFault] = []
        self.flood = FloodLimiter(self.clock)
        self.callbacks: dict[str, CallbackQuery] = {}
        self.answers: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_last_error: tuple[int, str] | None = None
        self.webhook_max_connections = 40
        self.allowed_updates: list[str] = []  # [] = Telegram's default set
        self.blocked: set[int] = set()  # users who have blocked the bot
        self.dropped_updates = 0  # not queued: their type is not in allowed_updates
        self.calls: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.updates_delivered = 0
        self.groups = Groups(self)
        self.updates_signal.fire()
        self.messages_signal.fire()

    def reset_flood(self) -> None:
        self.flood = FloodLimiter(self.clock)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "errors": dict(self.errors),
            "updates_delivered": self.updates_delivered,
            "pending_updates": len(self.updates),
            "dropped_updates": self.dropped_updates,
        }

    def _new_id(self, prefix: str) -> str:
        self._id_counter += 1
        return f"{prefix}{self._id_counter:06d}{secrets.token_urlsafe(12)}"

    def bump(self) -> int:
        self.seq += 1
        return self.seq

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    # ---------------------------------------------------------------- users and chats
    def touch_user(self, user_id: int, profile: dict[str, Any]) -> User:
        """Create or update a user (and their private chat) from a control-API body."""
        user = self.users.get(user_id)
        if user is None:
            user = User(user_id, str(profile.get("first_name") or f"User{user_id}"))
            self.users[user_id] = user
            self.chats[user_id] = Chat(user, last_message_id=self.first_message_id - 1)
        for key in ("first_name", "last_name", "username", "language_code"):
            if profile.get(key):
                setattr(user, key, str(profile[key]))
        return user

    def chat(self, chat_id: Any) -> Chat:
        """The chat for a Bot API ``chat_id`` (int, numeric string or @username)."""
        chat: Chat | None = None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            chat = next(
                (c for c in self.chats.values() if (c.user.username or "").lower() == name), None
            )
        else:
            try:
                chat = self.chats.get(int(chat_id))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def message(self, chat: Chat | Group, message_id: Any) -> Message | None:
        try:
            msg = chat.messages.get(int(message_id))
        except (TypeError, ValueError):
            return None
        return None if msg is None or msg.deleted else msg

    def add_message(
        self, chat: Chat, from_bot: bool, content: dict[str, Any], markup: dict[str, Any] | None
    ) -> Message:
        chat.last_message_id += 1
        data: dict[str, Any] = {
            "message_id": chat.last_message_id,
            "from": self.bot_user if from_bot else chat.user.to_dict(),
            "chat": chat.user.chat_dict(),
            "date": int(self.clock()),
            **content,
        }
        if from_bot and markup and keyboard_rows(markup):
            data["reply_markup"] = markup
        seq = self.bump()
        msg = Message(chat.user.id, chat.last_message_id, from_bot, data, seq, seq, markup)
        chat.messages[msg.message_id] = msg
        self.messages_signal.fire()
        return msg

    def changed(self, msg: Message) -> None:
        msg.changed_seq = self.bump()
        self.messages_signal.fire()

    # ---------------------------------------------------------------- files
    def store_file(
        self, data: bytes, kind: str, file_name: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        """Keep uploaded bytes; ``kind`` is the Telegram folder (photos, documents…)."""
        n = len(self.files) + 1
        ext = ""
        if file_name and "." in file_name:
            ext = file_name[file_name.rfind(".") :]
        elif mime_type:
            ext = mimetypes.guess_extension(mime_type) or ""
        f = StoredFile(
            self._new_id("F"),
            secrets.token_urlsafe(9),
            data,
            f"{kind}/file_{n}{ext}",
            mime_type,
            file_name,
        )
        self.files[f.file_id] = f
        self.files_by_path[f.file_path] = f
        return f

    def file(self, file_id: str) -> StoredFile:
        f = self.files.get(file_id)
        if f is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return f

    def photo_sizes(self, f: StoredFile) -> list[dict[str, Any]]:
        """Several PhotoSize entries (all backed by the same bytes)."""
        w, h = image_size(f.data)
        sizes, seen = [], set()
        for limit in (90, 320, 800, 1280):
            scale = min(1.0, limit / max(w, h, 1))
            dims = (max(1, round(w * scale)), max(1, round(h * scale)))
            if dims in seen:
                continue
            seen.add(dims)
            # each size needs its own id; they all resolve to the same stored bytes
            alias = StoredFile(
                self._new_id("P"), secrets.token_urlsafe(9), f.data, f.file_path, f.mime_type
            )
            self.files[alias.file_id] = alias
            sizes.append(
                {
                    "file_id": alias.file_id,
                    "file_unique_id": alias.file_unique_id,
                    "width": dims[0],
                    "height": dims[1],
                    "file_size": len(f.data),
                }
            )
        return sizes

    def media_object(self, kind: str, f: StoredFile) -> dict[str, Any]:
        """The Bot API object of a stored voice note, video or video note (``kind`` is the
        Message field), with the metadata kept when it was first uploaded."""
        obj: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id}
        m = f.meta
        if kind == "voice":
            obj.update(duration=m.get("duration", 1), mime_type=f.mime_type or "audio/ogg")
        elif kind == "video":
            obj.update(width=m.get("width", 640), height=m.get("height", 360),
                       duration=m.get("duration", 1))
            if f.file_name:
                obj["file_name"] = f.file_name
            obj["mime_type"] = f.mime_type or "video/mp4"
        elif kind == "video_note":
            obj.update(length=m.get("length", 240), duration=m.get("duration", 1))
        elif kind == "audio":
            obj["duration"] = m.get("duration", 1)
            if f.file_name:
                obj["file_name"] = f.file_name
            obj["mime_type"] = f.mime_type or "audio/mpeg"
        obj["file_size"] = len(f.data)
        return obj

    def user_media(self, kind: str, raw: Any) -> dict[str, Any]:
        """A voice note, video or video note a user sends: ``true`` or an object with
        ``content`` (bytes), ``duration``, ``width``/``height`` (video), ``length`` (video note),
        ``file_name``, ``mime_type``."""
        spec = raw if isinstance(raw, dict) else {}
        folder, default_mime, default_data = MEDIA_KINDS[kind]
        data = spec.get("content") or default_data
        name = spec.get("file_name")
        mime = str(spec.get("mime_type") or default_mime)
        f = self.store_file(data, folder, str(name) if name else None, mime)
        for key in ("duration", "width", "height", "length"):
            if spec.get(key) is not None:
                value = int(spec[key])
                if value < 0:
                    raise ValueError(f"{kind}.{key} must not be negative")
                f.meta[key] = value
        return self.media_object(kind, f)

    # ---------------------------------------------------------------- updates
    def accepts(self, kind: str | None) -> bool:
        """Whether the bot's allowed_updates let an update of this kind be queued."""
        allowed = self.allowed_updates or DEFAULT_UPDATE_TYPES
        return kind is None or kind in allowed

    def queue_update(self, payload: dict[str, Any]) -> int:
        """Append an update (assigning an update_id when missing).

        Like Telegram, an update whose kind is not in the bot's ``allowed_updates`` is not kept
        (it still uses up an update_id).
        """
        if not isinstance(payload.get("update_id"), int):
            payload["update_id"] = self.next_update_id
        self.next_update_id = max(self.next_update_id, payload["update_id"] + 1)
        if not self.accepts(update_type(payload)):
            self.dropped_updates += 1
            return payload["update_id"]
        self.history[payload["update_id"]] = payload
        self.updates.append(PendingUpdate(payload["update_id"], payload))
        self.updates_signal.fire()
        return payload["update_id"]

    def redeliver(self, update_id: int) -> bool:
        payload = self.history.get(update_id)
        if payload is None:
            return False
        self.updates.insert(0, PendingUpdate(update_id, copy.deepcopy(payload), forced=True))
        self.updates_signal.fire()
        return True

    def take_updates(self, offset: int | None, limit: int) -> list[dict[str, Any]]:
        """getUpdates semantics: confirm below ``offset``, hand out up to ``limit``."""
        if offset is not None and offset < 0:
            keep = self.updates[offset:]
            self.updates = keep
        elif offset:
            self.updates = [
                u
                for u in self.updates
                if u.update_id >= offset or (u.forced and not u.delivered)
            ]
        batch = self.updates[:limit]
        for u in batch:
            if not u.delivered:
                u.delivered = True
                self.updates_delivered += 1
        return [copy.deepcopy(u.payload) for u in batch]

    def confirm_webhook(self, pending: PendingUpdate) -> None:
        """A webhook delivery succeeded."""
        self.updates = [u for u in self.updates if u is not pending]
        self.updates_delivered += 1
        self.webhook_last_error = None

    # ---------------------------------------------------------------- user actions
    def user_message_content(self, user: User, body: dict[str, Any]) -> dict[str, Any]:
        """Build Message fields from a /sandbox/send body (raises ValueError if empty)."""
        content: dict[str, Any] = {}
        text = body.get("text")
        if body.get("photo") is not None:
            raw = body["photo"]
            data = raw if isinstance(raw, bytes) else TINY_PNG
            f = self.store_file(data, "photos", mime_type="image/jpeg")
            content["photo"] = self.photo_sizes(f)
            caption = body.get("caption", text)
            if caption:
                content["caption"] = str(caption)
                content["caption_entities"] = command_entities(str(caption)) or None
            text = None
        if body.get("document") is not None:
            doc = body["document"]
            name = str(doc.get("file_name") or "document.bin")
            mime = doc.get("mime_type") or mimetypes.guess_type(name)[0]
            mime = mime or "application/octet-stream"
            f = self.store_file(doc.get("content", b""), "documents", name, mime)
            content["document"] = {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "file_name": name,
                "mime_type": mime,
                "file_size": len(f.data),
            }
            caption = body.get("caption", text)
            if caption:
                content["caption"] = str(caption)
            text = None
        if body.get("contact") is not None:
            c = body["contact"]
            contact: dict[str, Any] = {
                "phone_number": str(c.get("phone_number", "")),
                "first_name": str(c.get("first_name") or user.first_name),
            }
            if c.get("last_name"):
                contact["last_name"] = str(c["last_name"])
            uid = c.get("user_id", user.id)  # explicit null: someone else's contact
            if uid is not None:
                contact["user_id"] = int(uid)
            content["contact"] = contact
        if body.get("sticker"):
            f = self.store_file(TINY_PNG, "stickers", mime_type="image/webp")
            content["sticker"] = {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
                "file_size": len(f.data),
            }
        for kind in MEDIA_KINDS:
            if body.get(kind):
                content[kind] = self.user_media(kind, body[kind])
                caption = body.get("caption", text)
                if caption and kind == "video_note":
                    raise ValueError("a video note has no caption")
                if caption:
                    content["caption"] = str(caption)
                    content["caption_entities"] = command_entities(str(caption)) or None
                text = None
        if body.get("location") is not None:
            loc = body["location"]
            content["location"] = {
                "latitude": float(loc["latitude"]),
                "longitude": float(loc["longitude"]),
            }
        if text is not None and str(text) != "":
            content["text"] = str(text)
            entities = command_entities(str(text))
            if entities:
                content["entities"] = entities
        if not content:
            raise ValueError("nothing to send: give text, photo, document, contact, …")
        return {k: v for k, v in content.items() if v is not None}

    def _not_blocked(self, user_id: int) -> None:
        if user_id in self.blocked:
            raise UserBlocked(
                f"user {user_id} has blocked the bot: /sandbox/unblock first "
                "(a Telegram user cannot write to a bot they blocked)"
            )

    def user_send(self, user_id: int, body: dict[str, Any]) -> tuple[int, int]:
        """A user writes to the bot; returns (update_id, message_id)."""
        self._not_blocked(user_id)
        user = self.touch_user(user_id, body)
        chat = self.chats[user_id]
        content = self.user_message_content(user, body)
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None:
            target = self.message(chat, reply_to)
            if target is None:
                raise LookupError(f"message {reply_to} not found in chat {user_id}")
            content["reply_to_message"] = strip_reply(target.data)
        msg = self.add_message(chat, False, content, None)
        update_id = self.queue_update({"message": copy.deepcopy(msg.data)})
        return update_id, msg.message_id

    def user_press(
        self, user_id: int, message_id: int, data: str, *, forge: bool = False,
        chat_id: int | None = None,
    ) -> tuple[int, str]:
        """A user presses an inline button of a bot message (in a group when ``chat_id``
        names one the user is a member of).

        ``data`` must be the callback_data of a button on the message's current keyboard, as on
        Telegram; ``forge=True`` (a security test playing a modified client) skips that check.
        """
        where: Chat | Group | None
        if chat_id is None or chat_id == user_id:
            self._not_blocked(user_id)
            where = self.chats.get(user_id)
            chat_key = user_id
        else:
            where = self.groups.known(chat_id)
            if not where.member(user_id).active:
                raise NotMember(f"user {user_id} is not a member of group {chat_id}")
            chat_key = chat_id
        msg = self.message(where, message_id) if where else None
        user = self.users.get(user_id)
        if where is None or msg is None or user is None:
            raise LookupError(f"message {message_id} not found in chat {chat_key}")
        if not forge:
            shown = keyboard_data(msg.data.get("reply_markup") if msg.from_bot else None)
            if data not in shown:
                raise PressRefused(
                    f"message {message_id} has no button with data {data!r} "
                    f"(its keyboard: {shown}); pass forge=true to send forged data"
                )
        query_id = str(random.getrandbits(63))
        self.callbacks[query_id] = CallbackQuery(query_id, user_id, self.clock())
        update_id = self.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_dict(),
                    "message": copy.deepcopy(msg.data),
                    "chat_instance": str(abs(hash(("chat", chat_key))) % 10**18),
                    "data": data,
                }
            }
        )
        return update_id, query_id

    def set_blocked(self, user_id: int, blocked: bool) -> int | None:
        """The user blocks (or unblocks) the bot: queues Telegram's ``my_chat_member`` update.

        Returns its update_id, or None when nothing changed.
        """
        chat = self.chats.get(user_id)
        if chat is None:
            raise LookupError(f"user {user_id} unknown")
        if (user_id in self.blocked) == blocked:
            return None
        member = {"user": self.bot_user, "status": "member"}
        kicked = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        if blocked:
            self.blocked.add(user_id)
        else:
            self.blocked.discard(user_id)
        return self.queue_update(
            {
                "my_chat_member": {
                    "chat": chat.user.chat_dict(),
                    "from": chat.user.to_dict(),
                    "date": int(self.clock()),
                    "old_chat_member": member if blocked else kicked,
                    "new_chat_member": kicked if blocked else member,
                }
            }
        )

    def user_edit(self, user_id: int, message_id: int, text: str) -> int:
        """A user edits one of their own earlier text messages."""
        self._not_blocked(user_id)
        chat = self.chats.get(user_id)
        msg = self.message(chat, message_id) if chat else None
        if chat is None or msg is None or msg.from_bot:
            raise LookupError(f"user message {message_id} not found in chat {user_id}")
        msg.data["text"] = text
        entities = command_entities(text)
        if entities:
            msg.data["entities"] = entities
        else:
            msg.data.pop("entities", None)
        msg.data["edit_date"] = int(self.clock())
        msg.edited = True
        self.changed(msg)
        return self.queue_update({"edited_message": copy.deepcopy(msg.data)})

    def inject(self, update: dict[str, Any]) -> int:
        """Queue a raw update; registers the private chat it mentions, if any."""
        for key in ("message", "edited_message", "callback_query"):
            obj = update.get(key)
            if isinstance(obj, dict):
                sender = obj.get("from")
                if (
                    isinstance(sender, dict)
                    and isinstance(sender.get("id"), int)
                    and sender["id"] not in self.users
                ):
                    self.touch_user(sender["id"], sender)
        return self.queue_update(update)

    # ---------------------------------------------------------------- faults
    def add_fault(self, body: dict[str, Any]) -> None:
        method = str(body.get("method", "*")).lower()
        retry_after = max(1, int(body.get("retry_after", 1)))
        if "rate" in body:
            kinds = [str(k) for k in body.get("kinds") or ["500"]]
            rng = random.Random(body.get("seed", 0))
            self.rate_faults.append(RateFault(method, float(body["rate"]), kinds, retry_after, rng))
            return
        kind = str(body.get("kind", "500"))
        if kind not in ("413", "429", "500", "timeout"):
            raise ValueError("kind must be 413, 429, 500 or timeout")
        self.faults.append(Fault(method, int(body.get("count", 1)), kind, retry_after))

    def take_fault(self, method: str) -> tuple[str, int] | None:
        """The fault to inject into this call of ``method`` (lower-case), if any."""
        for fault in self.faults:
            if fault.remaining > 0 and fault.method in ("*", method):
                fault.remaining -= 1
                return fault.kind, fault.retry_after
        self.faults = [f for f in self.faults if f.remaining > 0]
        for rf in self.rate_faults:
            if rf.method in ("*", method) and rf.rng.random() < rf.rate:
                return rf.rng.choice(rf.kinds), rf.retry_after
        return None

    # ---------------------------------------------------------------- control view
    def view_messages(
        self, user_id: int, since: int, include_user: bool, base_url: str
    ) -> tuple[list[dict[str, Any]], int]:
        """Messages for /sandbox/messages and the chat's last message id."""
        chat = self.chats.get(user_id)
        if chat is None:
            return [], 0
        result = [
            view_message(m, base_url)
            for m in unseen(chat.messages, chat.cursors, since)
            if m.from_bot or include_user
        ]
        return result, chat.last_message_id

    def remember_cursor(self, user_id: int, last_id: int) -> None:
        """Edits seen by a reader holding ``last_id`` need not be shown to it again."""
        chat = self.chats.get(user_id)
        if chat is not None:
            chat.cursors[last_id] = max(chat.cursors.get(last_id, 0), self.seq)


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities for every /command in ``text`` (UTF-16 offsets)."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _COMMAND_RE.finditer(text)
    ]
