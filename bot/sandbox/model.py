"""The sandbox's basic objects: Bot API errors, users, messages and their control-API view.

Shared by the world (``state.py``) and the supergroups built on it (``groups.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A Bot API error response (Telegram's code and description)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(text: str) -> ApiError:
    """400 with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {text}")


class PressRefused(ValueError):
    """A press names no button of the message's current inline keyboard (not forged)."""


class UserBlocked(ValueError):
    """A control-API action by a user who has blocked the bot."""


class NotMember(PermissionError):
    """A control-API action a group member may not take (not a member, a closed topic)."""



@dataclass
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d

    def chat_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.username:
            d["username"] = self.username
        return d


@dataclass
class Message:
    """One message in a private chat; ``data`` is the Telegram Message object."""

    chat_id: int
    message_id: int
    from_bot: bool
    data: dict[str, Any]
    created_seq: int
    changed_seq: int
    markup: dict[str, Any] | None = None
    edited: bool = False
    deleted: bool = False


def unseen(messages: Mapping[int, Message], cursors: Mapping[int, int], since: int) -> list[Message]:
    """The messages a reader holding ``since`` (the last message id it was given) has not seen, in
    id order: newer ones, and older ones changed after that cursor was handed out (without a
    remembered cursor: changed after the newest message it had was created)."""
    threshold = cursors.get(since)
    if threshold is None:
        threshold = max((m.created_seq for m in messages.values() if m.message_id <= since), default=0)
    return [
        m for m in sorted(messages.values(), key=lambda m: m.message_id)
        if m.message_id > since or m.changed_seq > threshold
    ]


def strip_reply(data: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in ``reply_to_message`` (no nested reply)."""
    d = copy.deepcopy(data)
    d.pop("reply_to_message", None)
    return d


def keyboard_rows(markup: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    """The non-empty rows of an inline keyboard (Telegram drops an empty keyboard)."""
    rows = (markup or {}).get("inline_keyboard") or []
    return [row for row in rows if row]


def _view_button(b: dict[str, Any]) -> dict[str, Any]:
    view = {"text": b.get("text"), "data": b.get("callback_data")}
    if b.get("url"):
        view["url"] = b["url"]
    return view


def view_message(m: Message, base_url: str) -> dict[str, Any]:
    """The control API's flat view of one message."""
    d = m.data
    markup = m.markup or {}
    buttons = [[_view_button(b) for b in row] for row in markup.get("inline_keyboard", [])]
    reply_keyboard = None
    if "keyboard" in markup:
        reply_keyboard = [
            [
                {"text": b, "request_contact": False}
                if isinstance(b, str)
                else {"text": b.get("text"), "request_contact": bool(b.get("request_contact"))}
                for b in row
            ]
            for row in markup["keyboard"]
        ]
    document = photo = None
    if "document" in d:
        doc = d["document"]
        document = {
            "file_name": doc.get("file_name"),
            "mime_type": doc.get("mime_type"),
            "size": doc.get("file_size"),
            "url": f"{base_url}/sandbox/files/{doc['file_id']}",
            "caption": d.get("caption"),
        }
    if "photo" in d:
        big = d["photo"][-1]
        photo = {
            "size": big.get("file_size"),
            "url": f"{base_url}/sandbox/files/{big['file_id']}",
            "caption": d.get("caption"),
            "width": big.get("width"),
            "height": big.get("height"),
        }
    view: dict[str, Any] = {
        "id": m.message_id,
        "chat_id": m.chat_id,
        "text": d.get("text") or d.get("caption") or "",
        "entities": d.get("entities") or d.get("caption_entities") or [],
        "buttons": buttons,
        "reply_keyboard": reply_keyboard,
        "remove_keyboard": bool(markup.get("remove_keyboard")),
        "document": document,
        "photo": photo,
        "edited": m.edited,
        "deleted": m.deleted,
        "date": d["date"],
        "from_user": not m.from_bot,
    }
    if "reply_to_message" in d:
        view["reply_to"] = d["reply_to_message"]["message_id"]
    for key in ("contact", "sticker", "voice", "video", "video_note", "audio", "location"):
        if key in d:
            view[key] = d[key]
    return view
