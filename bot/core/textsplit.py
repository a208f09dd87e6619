"""Splitting an HTML message into parts that each fit Telegram's limit.

Telegram counts a message's length after entity parsing (tags take no room, ``&amp;`` is one
character) in UTF-16 code units, and refuses more than 4096 ("message is too long"). A part ends
at a line break when it can, else at a space, else anywhere between characters; never inside a
tag or an entity, and an element left open at a cut is closed there and opened again in the next
part, so every part is valid HTML on its own.

Hand-written: no library splits Telegram HTML by its parsed length; this is a ~60-line tokeniser.
"""

from __future__ import annotations

import html
import re

TEXT_LIMIT = 4096  # Telegram: characters of a message's text after entity parsing
CAPTION_LIMIT = 1024  # Telegram: characters of a caption

_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\n|[^<&\n]|[<&]")
_TAG = re.compile(r"<\s*(/)?\s*([a-zA-Z][a-zA-Z0-9-]*)")


def visible_length(text: str) -> int:
    """Length of HTML ``text`` as Telegram counts it (tags dropped, entities decoded, UTF-16)."""
    return sum(_weight(tok) for tok in _TOKEN.findall(text))


def _weight(token: str) -> int:
    if token.startswith("<") and len(token) > 1:
        return 0
    plain = html.unescape(token) if token.startswith("&") else token
    return len(plain.encode("utf-16-le")) // 2


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` as it is when it fits, else parts of at most ``limit`` visible characters."""
    if visible_length(text) <= limit:
        return [text]
    tokens = _TOKEN.findall(text)
    parts: list[str] = []
    start = 0  # the current part's first token
    opened: list[str] = []  # tags open at that token
    while start < len(tokens):
        end, cut = _cut(tokens, start, limit)
        body, still_open = _close(tokens[start:cut], opened)
        part = "".join(f"<{t}>" for t in opened) + body
        parts.append(part.strip("\n"))
        opened = still_open
        start = end
    return [p for p in parts if visible_length(p) > 0] or [""]


def _cut(tokens: list[str], start: int, limit: int) -> tuple[int, int]:
    """(next part's first token, this part's end): the last line break, else space, that fits."""
    size, line_end, space_end, i = 0, -1, -1, start
    while i < len(tokens):
        weight = _weight(tokens[i])
        if size + weight > limit:
            break
        size += weight
        if tokens[i] == "\n":
            line_end = i
        elif tokens[i] == " ":
            space_end = i
        i += 1
    if i >= len(tokens):
        return i, i
    if line_end > start:
        return line_end + 1, line_end
    if space_end > start:
        return space_end + 1, space_end
    return i, max(i, start + 1)


def _close(tokens: list[str], opened: list[str]) -> tuple[str, list[str]]:
    """The tokens as HTML with every element still open closed at the end; and those elements
    (their opening tags' inner text, to open them again in the next part)."""
    stack = list(opened)
    for tok in tokens:
        m = _TAG.match(tok)
        if m is None or tok.endswith("/>"):
            continue
        if m.group(1):
            name = m.group(2).lower()
            for k in range(len(stack) - 1, -1, -1):
                if _name(stack[k]) == name:
                    del stack[k]
                    break
        else:
            stack.append(tok[1:-1])
    closing = "".join(f"</{_name(t)}>" for t in reversed(stack))
    return "".join(tokens) + closing, stack


def _name(inner: str) -> str:
    return inner.strip().split(None, 1)[0].lower()
