"""Callback data of inline buttons: one codec builds and parses every button's data (no Telegram).

The wire format is ``<prefix>:<action>:<field>:...`` (``<prefix>:<field>:...`` for the prefixes
without actions), at most 64 bytes (Telegram's limit). ``SPECS`` lists every known button with its
typed fields. Parsing is strict — a known prefix and action, exactly the fields declared, ids
ASCII digits in range, words from a small alphabet — and anything else parses to ``None``, which
handlers answer as a stale button. The data is untrusted even when it parses: handlers still check
the role and the state of what it names at press time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.i18n import LOCALES

MAX_BYTES = 64  # Telegram's limit on callback_data
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: str.isdecimal() would take "²" and "١"
_WORD = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_TICKET_NO = re.compile(r"SD-[0-9]{4}-[0-9]{4,12}", re.IGNORECASE)

Value = int | str


@dataclass(frozen=True)
class Field:
    """One typed field of a button's data: an id (int within bounds) or a text of a given shape."""

    kind: str  # "int", "word", "token", "ticket_no" or "choice"
    low: int = 1
    high: int = 999_999_999_999
    choices: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # words an "int" field also takes (``rp:eq:none``)

    def parse(self, text: str) -> Value | None:
        """The field's value, or ``None`` when ``text`` is not of its kind."""
        if text in self.also:
            return text
        if self.kind == "int":
            if not _DIGITS.fullmatch(text):
                return None
            number = int(text)
            return number if self.low <= number <= self.high else None
        if self.kind == "choice":
            return text if text in self.choices else None
        if self.kind == "ticket_no":
            return text.upper() if _TICKET_NO.fullmatch(text) else None
        pattern = _WORD if self.kind == "word" else _TOKEN
        return text if pattern.fullmatch(text) else None

    def format(self, value: Value) -> str:
        """``value`` on the wire; a value this field would not parse back is a programming error."""
        text = str(value)
        if isinstance(value, bool) or self.parse(text) != value:
            raise ValueError(f"{value!r} is not a valid {self.kind} field")
        return text


ID = Field("int")
PAGE = Field("int", low=0, high=99_999)
WORD = Field("word")
TOKEN = Field("token")
TICKET_NO = Field("ticket_no")

NO_ACTION = ""  # the action of prefixes whose data is ``<prefix>:<fields>``

SPECS: dict[tuple[str, str], tuple[Field, ...]] = {
    ("lang", NO_ACTION): (Field("choice", choices=LOCALES),),
    # the report conversation (handlers/report.py): what each answer button carries
    ("rp", "eq"): (Field("int", also=("none",)),),
    ("rp", "cat"): (WORD,),
    ("rp", "field"): (WORD,),
    ("rp", "sev"): (WORD,),
    ("rp", "as"): (Field("choice", choices=("yes", "no")),),
    ("rp", "cancel"): (),
    ("rp", "hint"): (),
    ("rp", "submit"): (),
    ("rp", "edit"): (),
    ("rp", "same"): (),  # "same problem?" (duplicates): yes, link it
    ("rp", "other"): (),  # … no, a different problem
    ("dup", "diff"): (ID,),  # *This is a different problem* under a linked report: the ticket id
    ("tk", "cancel"): (TICKET_NO,),
    ("rt", NO_ACTION): (ID, WORD),  # ticket id, rating key
    ("qa", "v"): (TOKEN,),
    ("qa", "why"): (TOKEN,),
    ("qa", "report"): (),
    ("qa", "human"): (),
    ("sr", NO_ACTION): (ID,),
    **{("dp", action): (ID,) for action in (
        "ack", "contact", "resolve", "handover", "pause_customer", "pause_parts", "resume",
    )},
    ("as", "menu"): (ID,),
    ("as", "to"): (ID, ID),  # ticket id, staff id
    ("wk", "kind"): (WORD,),
    ("sw", "ok"): (ID,),
    ("sw", "no"): (ID,),
    ("fu", "reopen"): (ID,),
    ("fu", "no"): (ID,),
    ("sv", "pg"): (ID, PAGE),  # page set id, page index
    # relay (handlers/relay.py): staff write to the customer, pick a canned reply, add a note;
    # the customer's Reply under a relayed message
    **{("rl", action): (ID,) for action in ("msg", "canned", "note", "reply")},
    ("rl", "send"): (ID, WORD),  # ticket id, canned reply key
}
PREFIXES = frozenset(prefix for prefix, _ in SPECS)


@dataclass(frozen=True)
class Press:
    """A parsed button press: its prefix, action (``""`` if the prefix has none) and typed fields."""

    prefix: str
    action: str
    fields: tuple[Value, ...]

    def num(self, index: int) -> int:
        """Field ``index`` as an id (the spec says it is one)."""
        value = self.fields[index]
        if not isinstance(value, int):
            raise TypeError(f"field {index} of {self.prefix}:{self.action} is not an id")
        return value

    def text(self, index: int) -> str:
        """Field ``index`` as text (a word, token, ticket number, choice — or an int field's word)."""
        return str(self.fields[index])


def encode(prefix: str, action: str, *fields: Value) -> str:
    """The data of a button; raises ``ValueError`` for an unknown button, a malformed field or
    data over 64 bytes (bugs in the caller, never user input)."""
    spec = SPECS.get((prefix, action))
    if spec is None or len(spec) != len(fields):
        raise ValueError(f"unknown button {prefix}:{action} with {len(fields)} fields")
    parts = [prefix, *([action] if action else []), *(f.format(v) for f, v in zip(spec, fields, strict=True))]
    data = ":".join(parts)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {prefix}:{action}")
    return data


def decode(data: str | None, prefix: str | None = None) -> Press | None:
    """The press ``data`` describes, or ``None`` for anything not built by ``encode`` (unknown
    prefix or action, missing, extra or malformed fields, over 64 bytes) or, with ``prefix``,
    data of another prefix."""
    if not data or len(data.encode(errors="replace")) > MAX_BYTES:
        return None
    parts = data.split(":")
    if prefix is not None and parts[0] != prefix:
        return None
    if (parts[0], NO_ACTION) in SPECS:
        action, rest = NO_ACTION, parts[1:]
    elif len(parts) >= 2 and (parts[0], parts[1]) in SPECS:
        action, rest = parts[1], parts[2:]
    else:
        return None
    spec = SPECS[(parts[0], action)]
    if len(rest) != len(spec):
        return None
    values: list[Value] = []
    for field, text in zip(spec, rest, strict=True):
        value = field.parse(text)
        if value is None:
            return None
        values.append(value)
    return Press(parts[0], action, tuple(values))
