"""Typed attachments of a report and a ticket: photos, documents, voice, video and video notes.

Only Telegram's file ids are kept (the bot never downloads the file): forwarding a file by its id
works for any size, so nothing a customer sends is refused for being large. Stored as plain dicts
(JSON) in the report's conversation data, on the ticket (``tickets.attachments``) and in
``customer_info`` events. ``tickets.photos`` (the photo ids alone) is still written for readers
that know only photos, and rows from before attachments existed are read through it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from storage.models import Ticket

KINDS = ("photo", "document", "voice", "video", "video_note", "audio")
MAX_PER_REPORT = 10
# the Bot API method (and its file parameter) that re-sends a file of each kind by its id
SEND_METHOD = {
    "photo": ("sendPhoto", "photo"),
    "document": ("sendDocument", "document"),
    "voice": ("sendVoice", "voice"),
    "video": ("sendVideo", "video"),
    "video_note": ("sendVideoNote", "video_note"),
    "audio": ("sendAudio", "audio"),
}


@dataclass(frozen=True)
class Attachment:
    """One file a customer sent: its kind and what Telegram told about it."""

    kind: str
    file_id: str
    file_unique_id: str = ""
    name: str | None = None
    size: int | None = None
    mime: str | None = None
    duration: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Attachment:
        def opt_int(key: str) -> int | None:
            value = raw.get(key)
            return int(value) if isinstance(value, int | float) else None

        name, mime = raw.get("name"), raw.get("mime")
        return cls(
            kind=str(raw.get("kind") or "document"), file_id=str(raw["file_id"]),
            file_unique_id=str(raw.get("file_unique_id") or ""),
            name=str(name) if name else None, size=opt_int("size"), mime=str(mime) if mime else None,
            duration=opt_int("duration"),
        )


def legacy_photos(file_ids: Iterable[Any]) -> list[Attachment]:
    """Photo file ids from before attachments were typed."""
    return [Attachment("photo", str(f)) for f in file_ids if isinstance(f, str) and f]


def parse(raw: Iterable[Any] | None) -> list[Attachment]:
    """Stored dicts → attachments (entries without a file id are skipped)."""
    return [Attachment.from_dict(r) for r in raw or [] if isinstance(r, Mapping) and r.get("file_id")]


def of_report(data: Mapping[str, Any]) -> list[Attachment]:
    """A running report's attachments (a report begun before the upgrade kept photo ids only)."""
    if "attachments" in data:
        return parse(data["attachments"])
    return legacy_photos(data.get("photos") or [])


def on_ticket(ticket: Ticket) -> list[Attachment]:
    """A ticket's attachments: the typed list, or its photo ids for a row from before it."""
    typed = parse(ticket.attachments)
    return typed if typed else legacy_photos(ticket.photos or [])


def add(ticket: Ticket, items: Iterable[Attachment]) -> None:
    """Append ``items`` to the ticket (new lists, so the JSON columns are seen as changed)."""
    new = list(items)
    if not new:
        return
    ticket.attachments = dump([*on_ticket(ticket), *new])
    ticket.photos = [*(ticket.photos or []), *photo_ids(new)]


def dump(items: Iterable[Attachment]) -> list[dict[str, Any]]:
    return [a.to_dict() for a in items]


def photo_ids(items: Iterable[Attachment]) -> list[str]:
    """The photos' file ids (what ``tickets.photos`` holds)."""
    return [a.file_id for a in items if a.kind == "photo"]


def counts(items: Iterable[Attachment]) -> list[tuple[str, int]]:
    """How many of each kind, in the order of KINDS (for "2 photos, 1 file")."""
    c = Counter(a.kind for a in items)
    return [(k, c[k]) for k in KINDS if c[k]]


def forward_payload(chat_id: int, item: Attachment, caption: str) -> tuple[str, dict[str, Any]]:
    """The Bot API call that re-sends ``item`` to ``chat_id`` (a video note takes no caption)."""
    method, param = SEND_METHOD.get(item.kind, SEND_METHOD["document"])
    payload: dict[str, Any] = {"chat_id": chat_id, param: item.file_id}
    if item.kind != "video_note" and caption:
        payload["caption"] = caption[:1024]
    return method, payload
