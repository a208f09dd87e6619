"""Splitting long HTML messages at Telegram's limit (bot/core/textsplit.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from bot.core.textsplit import TEXT_LIMIT, split_html, visible_length


class _Balance(HTMLParser):
    """Checks that every element opened in a part is closed in it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok = self.ok and bool(self.stack) and self.stack.pop() == tag


def _balanced(part: str) -> bool:
    parser = _Balance()
    parser.feed(part)
    parser.close()
    return parser.ok and not parser.stack


def test_short_text_is_one_part_unchanged() -> None:
    text = "<b>工单</b> SD-2026-000001 &amp; more"
    assert split_html(text) == [text]
    assert visible_length(text) == len("工单 SD-2026-000001 & more")


def test_lines_are_kept_whole_and_tags_never_split() -> None:
    lines = [f'<b>SD-2026-{i:06d}</b> <a href="tg://user?id={i}">客户 {i}</a> &lt;备注&gt; ' + "画面" * 40
             for i in range(120)]
    text = "\n".join(lines)
    parts = split_html(text)
    assert len(parts) > 1
    assert all(visible_length(p) <= TEXT_LIMIT and _balanced(p) for p in parts)
    assert [line for p in parts for line in p.split("\n")] == lines  # whole lines, none lost


def test_one_overlong_element_is_closed_and_reopened() -> None:
    text = "<pre>" + " ".join(f"第{i}行" for i in range(3000)) + "</pre>"
    parts = split_html(text)
    assert len(parts) > 1
    assert all(p.startswith("<pre>") and p.endswith("</pre>") and _balanced(p) for p in parts)
    assert all(visible_length(p) <= TEXT_LIMIT for p in parts)
    words = [w for p in parts for w in re.sub(r"</?pre>", "", p).split()]
    assert words == [f"第{i}行" for i in range(3000)]


def test_length_counts_utf16_like_telegram() -> None:
    emoji = "😀" * 2100  # 2 UTF-16 units each: 4200 > 4096
    parts = split_html(emoji)
    assert len(parts) == 2 and "".join(parts) == emoji
    assert all(visible_length(p) <= TEXT_LIMIT for p in parts)
