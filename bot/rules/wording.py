"""Tidy policy wording for display: Chinese punctuation in Chinese, English plurals in English.

Operators type clause wording into the policy file with whatever keyboard they have; "…联络函;设备…"
and "1 year(s)" are what a customer would otherwise read. Hand-written (three regexes): a
typography library would be heavier than the problem.
"""

from __future__ import annotations

import re

_CJK = r"[\u3400-\u9fff]"
_ZH_PUNCT = {",": "，", ";": "；", ":": "：", "(": "（", ")": "）", "?": "？", "!": "！"}
_ZH_AFTER = re.compile(rf"(?<={_CJK})\s*([,;:?!])\s*")
_ZH_BEFORE = re.compile(rf"\s*([,;:])(?={_CJK})")
_ZH_PARENS = re.compile(rf"\(([^()]*{_CJK}[^()]*)\)")
_PLURAL = re.compile(r"\b(\d+(?:\.\d+)?) ([a-z]+(?: [a-z]+)?)\(s\)")


def zh_punctuation(text: str) -> str:
    """Half-width , ; : ? ! ( ) next to Chinese characters → full-width."""
    text = _ZH_PARENS.sub(r"（\1）", text)
    text = _ZH_AFTER.sub(lambda m: _ZH_PUNCT[m.group(1)], text)
    return _ZH_BEFORE.sub(lambda m: _ZH_PUNCT[m.group(1)], text)


def en_plurals(text: str) -> str:
    """"1 year(s)" → "1 year", "2 year(s)" → "2 years"."""

    def repl(m: re.Match[str]) -> str:
        words = m.group(2)
        if m.group(1) == "1":
            return f"1 {words}"
        return f"{m.group(1)} {words}{'es' if words.endswith(('s', 'x', 'ch')) else 's'}"

    return _PLURAL.sub(repl, text).replace("(s)", "s")


def tidy(text: str, locale: str) -> str:
    """The wording as a customer should read it in ``locale``."""
    return en_plurals(text) if locale == "en" else zh_punctuation(text)
