"""Typed attachments: legacy photo ids still read, counts, and the call that forwards each kind."""

from __future__ import annotations

from bot.tickets import attachments
from bot.tickets.attachments import Attachment
from storage.models import Ticket


def test_a_report_begun_before_typed_attachments_keeps_its_photos() -> None:
    assert attachments.of_report({"photos": ["P1"]}) == [Attachment("photo", "P1")]
    typed = {"attachments": [{"kind": "voice", "file_id": "V1", "duration": 3}, {"kind": "photo"}]}
    assert attachments.of_report(typed) == [Attachment("voice", "V1", duration=3)]


def test_a_ticket_row_with_photos_only_reads_as_photo_attachments() -> None:
    old = Ticket(photos=["P1", "P2"], attachments=[])
    assert [a.kind for a in attachments.on_ticket(old)] == ["photo", "photo"]
    attachments.add(old, [Attachment("document", "D1", name="a.pdf", size=10)])
    assert [a["kind"] for a in old.attachments] == ["photo", "photo", "document"]
    assert old.photos == ["P1", "P2"]
    attachments.add(old, [Attachment("photo", "P3")])
    assert old.photos == ["P1", "P2", "P3"]


def test_counts_follow_the_kinds_order() -> None:
    items = [Attachment("voice", "V"), Attachment("photo", "P"), Attachment("photo", "Q")]
    assert attachments.counts(items) == [("photo", 2), ("voice", 1)]


def test_each_kind_is_forwarded_by_its_own_method() -> None:
    calls = {k: attachments.forward_payload(7, Attachment(k, "F"), "SD-1") for k in attachments.KINDS}
    assert {k: m for k, (m, _) in calls.items()} == {
        "photo": "sendPhoto", "document": "sendDocument", "voice": "sendVoice", "video": "sendVideo",
        "video_note": "sendVideoNote", "audio": "sendAudio",
    }
    assert "caption" not in calls["video_note"][1]  # Telegram: a video note takes no caption
    assert calls["document"][1] == {"chat_id": 7, "document": "F", "caption": "SD-1"}
    assert len(attachments.forward_payload(7, Attachment("photo", "F"), "x" * 2000)[1]["caption"]) == 1024
