"""Logging set-up that never lets a secret through."""

from __future__ import annotations

import json
import logging
import re
from typing import TextIO

from bot.core import uow as uow_mod

_TOKEN_RE = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
# full-width digits and signs (１３８－…, ＋８６) read as ASCII before matching
_FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)} | {
    0xFF0B: "+", 0xFF0D: "-", 0xFF0E: ".", 0xFF08: "(", 0xFF09: ")", 0x3000: " "
}
# not inside an ASCII word (ids, tokens), but right after Chinese text ("电话138…"), "tel:" or a
# JSON \uXXXX escape
_AFTER = r"(?:(?<=\\u[0-9a-fA-F]{4})|(?<=[Tt][Ee][Ll]:)|(?<![A-Za-z0-9_:%s]))"
_SEP = r"[ .-]?"
# Chinese mobile numbers (11 digits, 13x–19x; also +86…/0086…/86…)
_PHONE_RE = re.compile(
    _AFTER % "-" + rf"(\+\d{{2,4}}{_SEP}|(?:00)?86{_SEP})?(1[3-9]\d){_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)"
)
# landlines with their area code: 0755-88776655, (0755) 8877 6655, 010-12345678, 075588776655
_LANDLINE_RE = re.compile(_AFTER % "-" + rf"(\(?0\d{{2,3}}\)?){_SEP}\d{{3,4}}{_SEP}(\d{{4}})(?!\d)")
# any +country number
_INTL_RE = re.compile(_AFTER % "" + r"\+(\d{1,3})[\d .()-]{4,12}(\d{3})(?!\d)")
_TICKET_RE = re.compile(r"\bSD-\d{4}-\d{4,}\b")
# staff invite codes: whatever is typed after /register, and codes as issued (10 of A–Z 2–9 without
# I/O, at least one letter) e.g. in the reply to the admin who asked for one; typed in lower or
# mixed case they need a digit too (so that plain words stay)
_CODE_CHARS = "A-HJ-NP-Za-hj-np-z2-9"
_INVITE_RE = re.compile(
    r"(?i:(/register(?:@\w+)?\s+)[^\s\"'<\\]+)"
    r"|(?:(?<=\\u[0-9a-fA-F]{4})|(?<![A-Za-z0-9]))"
    rf"(?=[{_CODE_CHARS}]{{0,9}}[A-HJ-NP-Za-hj-np-z])"
    rf"(?:[A-HJ-NP-Z2-9]{{10}}|(?=[{_CODE_CHARS}]{{0,9}}[2-9])[{_CODE_CHARS}]{{10}})(?![A-Za-z0-9])"
)
# the secret in a calendar subscription URL (/ical/<token>.ics, bot.staff.ical_tokens)
_ICAL_RE = re.compile(r"(/ical/)[A-Za-z0-9_-]+")
# any URL in a record of the Apprise library: its notification URLs carry keys and passwords (issue 18)
_URL_RE = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31})://[^\s'\"<>]+")
APPRISE_LOGGER = "apprise"
#: Loggers whose records below WARNING are SQL with its parameters and result rows (names,
#: addresses, phones): written only when SQL logging is asked for (``LOG_SQL``).
SQL_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "aiosqlite", "asyncpg")


def redact_tokens(text: str) -> str:
    """``text`` with every bot token (``123456:ABC…``) replaced by ``<redacted>``."""
    return _TOKEN_RE.sub("<redacted>", text)


def mask_phones(text: str) -> str:
    """Keep only the prefix and last digits of phone numbers: +86138****0001, 0755****6655."""
    text = text.translate(_FULL_WIDTH)
    text = _PHONE_RE.sub(lambda m: f"{(m.group(1) or '').strip(' .-')}{m.group(2)}****{m.group(3)}", text)
    text = _LANDLINE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _INTL_RE.sub(lambda m: f"+{m.group(1)}****{m.group(2)}", text)


def _withheld(arg: object) -> object:
    """A log argument that is a payload (a dict, a list, a Telegram object) → a placeholder.

    Libraries log whole requests and updates at DEBUG (python-telegram-bot: "Calling Bot API
    endpoint … with parameters {…}", "Processing update …"): names and addresses in them cannot
    be recognised by a pattern, so payloads are never written; their kind and size are.
    """
    if isinstance(arg, BaseException):
        return arg
    if type(arg).__module__.split(".")[0] == "telegram":
        update_id = getattr(arg, "update_id", None)
        return f"<{type(arg).__name__}{'' if update_id is None else f' {update_id}'}>"
    if isinstance(arg, dict | list | set | frozenset):
        return f"<{type(arg).__name__} of {len(arg)} withheld>"
    return arg


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
    """Keeps personal data and secrets out of log records: bot tokens, configured secrets, phone
    numbers, invite codes, payloads (see ``_withheld``) and, unless ``sql``, SQL records."""

    def __init__(self, secrets: list[str] | None = None, *, sql: bool = False) -> None:
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s]
        self.sql = sql

    def redact(self, text: str) -> str:
        """``text`` without configured secrets, tokens and full phone numbers."""
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        text = _INVITE_RE.sub(lambda m: f"{m.group(1) or ''}<redacted>", text)
        text = _ICAL_RE.sub(r"\1<redacted>", text)
        return mask_phones(redact_tokens(text))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.sql and record.levelno < logging.WARNING and record.name.startswith(SQL_LOGGERS):
            record.msg, record.args = "<SQL withheld>", None  # what other handlers see, too
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_withheld(a) for a in record.args)
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.name.startswith(APPRISE_LOGGER):  # notification URLs hold secrets (issue 18)
            record.msg = _URL_RE.sub(r"\1://<redacted>", record.msg)
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


def setup_logging(
    level: str = "INFO", *, json_lines: bool = False, secrets: list[str] | None = None,
    sql: bool = False, stream: TextIO | None = None,
) -> None:
    """Configure the root logger once, with redaction on its handler.

    ``sql`` (``LOG_SQL``) writes SQL statements at INFO and rows at DEBUG; parameters also need
    the database opened with ``log_params`` (the app does both from the one setting).
    """
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter(secrets, sql=sql))
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiohttp.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in SQL_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if sql else logging.WARNING)
    # every 429 is handed to the outbox, which logs it; the limiter's own traceback is noise
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
