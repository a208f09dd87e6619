"""Homophone typos of the key terms (宝修 → 保修, 保故 → 保固), matched by toned pinyin.

Pinyin input methods make customers pick the wrong character of the right sound. A window of the
text whose toned syllables (pypinyin's TONE3 reading, shipped as ``bot.rules.homophone_table``)
equal a key term's, differing from it in exactly one character, is replaced by the term. Tones keep
报修 (bào, to report a repair) apart from 保修 (bǎo, warranty); a window that is itself a key term
is never touched.
"""

from __future__ import annotations

from bot.rules.homophone_table import SYLLABLE_CHARS

KEY_TERMS = ("保修", "保固", "报修", "上门", "维护", "维修", "培训", "远程", "收费", "代购",
             "定金", "质保", "退货", "换货", "费用", "维保", "备用机", "工程师", "值班", "过保")
_TERMS = frozenset(KEY_TERMS)


_SYLLABLE: dict[str, str] = {ch: s for s, chars in SYLLABLE_CHARS.items() for ch in chars}


def sound(word: str) -> tuple[str, ...]:
    """The toned syllables of ``word``; "" for a character read unlike every key-term character."""
    return tuple(_SYLLABLE.get(ch, "") for ch in word)


_BY_SOUND: dict[tuple[str, ...], str] = {sound(t): t for t in KEY_TERMS}
_LENGTHS = sorted({len(t) for t in KEY_TERMS}, reverse=True)


def fix_homophones(text: str) -> str:
    """``text`` with one-character homophone typos of the key terms corrected."""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    out = text
    for n in _LENGTHS:
        i = 0
        while i + n <= len(out):
            window = out[i:i + n]
            term = None if window in _TERMS else _BY_SOUND.get(sound(window))
            if term and sum(a != b for a, b in zip(window, term, strict=True)) == 1:
                out = out[:i] + term + out[i + n:]
                i += n
                continue
            i += 1
    return out
