"""Logging set-up that never lets a secret through."""

from __future__ import annotations

import json
import logging
import re

from bot.core import uow as uow_mod

_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
# +country numbers, and Chinese mobile numbers (11 digits, 13x–19x; also 86…/0086…); never ids or tokens
# not inside an ASCII word (ids, tokens), but right after Chinese text ("电话138…") or a JSON \uXXXX escape
_AFTER = r"(?:(?<=\\u[0-9a-fA-F]{4})|(?<![A-Za-z0-9_:%s]))"
_PHONE_RE = re.compile(_AFTER % "-" + r"(\+\d{2,4}[ -]?|(?:00)?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")
_INTL_RE = re.compile(_AFTER % "" + r"\+(\d{1,3})[\d -]{4,12}(\d{3})(?!\d)")
_TICKET_RE = re.compile(r"\bSD-\d{4}-\d{4,}\b")
# staff invite codes: whatever is typed after /register, and codes as issued (10 of A–Z 2–9 without I/O,
# at least one letter) e.g. in the reply to the admin who asked for one
_INVITE_RE = re.compile(
    r"(?i:(/register(?:@\w+)?\s+)[^\s\"'<\\]+)|(?:(?<=\\u[0-9a-fA-F]{4})|(?<![A-Za-z0-9]))(?=[2-9]*[A-HJ-NP-Z])[A-HJ-NP-Z2-9]{10}(?![A-Za-z0-9])"
)


def mask_phones(text: str) -> str:
    """Keep only the prefix and last digits of phone numbers: +86138****0001."""
    text = _PHONE_RE.sub(lambda m: f"{(m.group(1) or '').strip()}{m.group(2)}****{m.group(3)}", text)
    return _INTL_RE.sub(lambda m: f"+{m.group(1)}****{m.group(2)}", text)


def _context() -> dict[str, object]:
    """The update being processed (if any): its id, for correlating log lines."""
    try:

        current = uow_mod._current.get()
    except Exception:  # logging must never fail
        return {}
    if current is None or current.update_id is None:
        return {}
    return {"update_id": current.update_id}


class RedactFilter(logging.Filter):
    """Replaces bot tokens (and any configured secret) in log records."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]

    def redact(self, text: str) -> str:
        """``text`` without configured secrets, tokens and full phone numbers."""
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        text = _INVITE_RE.sub(lambda m: f"{m.group(1) or ''}<redacted>", text)
        return mask_phones(_TOKEN_RE.sub("<redacted>", text))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:  # tracebacks too (the plain formatter prints exc_text)
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in _context().items():
            setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("update_id", "ticket"):
            if getattr(record, key, None) is not None:
                data[key] = getattr(record, key)
        if "ticket" not in data and (found := _TICKET_RE.search(data["message"])):
            data["ticket"] = found.group(0)
        if record.exc_info:
            data["exc"] = record.exc_text or mask_phones(_TOKEN_RE.sub("<redacted>", self.formatException(record.exc_info)))
        return json.dumps(data, ensure_ascii=False)


def setup_logging(level: str = "INFO", *, json_lines: bool = False, secrets: list[str] | None = None) -> None:
    """Configure the root logger once, with redaction on its handler."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactFilter(secrets))
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
