"""Telegram-style HTML parsing: validation, plain text and message entities.

Follows TDLib's rules closely: only Telegram's tags are allowed, tags must nest properly,
``&lt; &gt; &amp; &quot;`` and numeric character references are decoded, and any other
``&`` is kept literally (Telegram does not reject it). Entity offsets are UTF-16 code units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
}
ALLOWED_TAGS = frozenset(_ENTITY_TYPES) | {"a"}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(
    r"""\s*([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
)


class HtmlError(ValueError):
    """Malformed HTML; the message is Telegram's text after ``can't parse entities: ``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's entity unit)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    start: int
    attrs: dict[str, str] = field(default_factory=dict)


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (plain text, entities); raises :class:`HtmlError`."""
    out: list[str] = []
    pos16 = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _ENTITY_RE.match(src, i)
            if m:
                if m.group(3):
                    ch = _NAMED[m.group(3)]
                else:
                    code = int(m.group(1)) if m.group(1) else int(m.group(2), 16)
                    ch = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else ""
                out.append(ch)
                pos16 += utf16_len(ch)
                i = m.end()
                continue
        if c != "<":
            out.append(c)
            pos16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        if src.startswith("</", i):
            end = src.find(">", i)
            if end < 0:
                raise HtmlError(f"Unclosed end tag at byte offset {_byte_offset(src, i)}")
            name = src[i + 2 : end].strip().lower()
            if not stack:
                raise HtmlError(f"Unexpected end tag at byte offset {_byte_offset(src, i)}")
            top = stack.pop()
            if name != top.name:
                raise HtmlError(
                    f"Unmatched end tag at byte offset {_byte_offset(src, i)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            _close(top, pos16, stack, entities)
            i = end + 1
            continue
        m = _NAME_RE.match(src, i + 1)
        name = m.group(0).lower() if m else ""
        if name not in ALLOWED_TAGS:
            raise HtmlError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, i)}')
        assert m is not None
        j = m.end()
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise HtmlError(f"Unclosed start tag at byte offset {_byte_offset(src, i)}")
            if src[j] == ">" or src.startswith("/>", j):
                j += 1 if src[j] == ">" else 2
                break
            am = _ATTR_RE.match(src, j)
            if not am or am.end() == j:
                raise HtmlError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {_byte_offset(src, j)}"
                )
            value = am.group(2) or ""
            if value[:1] in "\"'":
                value = value[1:-1]
            attrs[am.group(1).lower()] = _ENTITY_RE.sub(
                lambda e: _NAMED.get(e.group(3) or "", e.group(0)), value
            )
            j = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError('Tag "span" must have class "tg-spoiler"')
        stack.append(_Open(name, pos16, attrs))
        i = j
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(tag: _Open, pos16: int, stack: list[_Open], entities: list[dict[str, Any]]) -> None:
    length = pos16 - tag.start
    if length <= 0:
        return
    entity: dict[str, Any] = {"offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            entity.update(type="text_mention", user={"id": int(user.group(1)), "is_bot": False,
                                                     "first_name": ""})
        elif href:
            entity.update(type="text_link", url=href)
        else:
            return
    elif tag.name == "code" and stack and stack[-1].name == "pre":
        lang = tag.attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1].attrs["language"] = lang.removeprefix("language-")
        return
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    else:
        entity["type"] = _ENTITY_TYPES[tag.name]
        if tag.name == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
    entities.append(entity)


def strip_entities(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, shifting and clipping entities."""
    stripped = text.lstrip()
    lead = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    total = utf16_len(stripped)
    result = []
    for e in entities:
        start = max(0, e["offset"] - lead)
        end = min(total, e["offset"] - lead + e["length"])
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    return stripped, result
