"""Text normalisation before intent matching: width, case, Traditional → Simplified, numerals.

* Traditional → Simplified by **phrase** with OpenCC's Taiwan profile (``tw2sp``: 甚至 stays 甚至,
  軟體 → 软件, 螢幕 → 屏幕), then the Hong Kong / Taiwan / Cantonese vocabulary OpenCC keeps
  (``bot.rules.vocab``).
* Chinese numerals → digits: the value from ``cn2an``; *whether* a numeral is a quantity is ours
  (``_replace_cn_numbers``: a counter or unit after it, or 万/千 inside it; 一下, 一直, 千万… are
  words). ASCII digits with 万/千 become the full number ("5万元" → "50000元").
* Homophone typos of the key terms (宝修, 保休 → 保修; 保故 → 保固) are matched by toned pinyin
  (``bot.rules.homophones``).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import cn2an
import opencc

from bot.rules.homophones import fix_homophones
from bot.rules.vocab import before_opencc, regional_to_common

_T2S = opencc.OpenCC("tw2sp")

_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
# a Chinese numeral directly followed by a counter / unit word is a quantity
_CN_FOLLOWERS = ("台", "个", "部", "套", "只", "支", "路", "门", "口", "点", "位", "人", "名", "天",
                 "次", "趟", "转", "年", "月", "日", "号", "小时", "钟头", "万", "千", "块", "元", "瓦", "w",
                 "端", "户", "周", "星期", "条", "张", "间", "层", "家", "倍", "成", "%", "％", "米")
_KEEP_WORDS = ("一下", "一直", "一样", "一般", "一起", "一共", "一次性", "万一", "一点", "十分",
               "一些", "一切", "统一", "一定", "唯一", "第一", "千万", "万万", "一旦", "一会", "一向",
               "一边", "一律", "一体", "一致", "一整", "一口气", "不一", "一个月内")
_EN_NUMBERS = {w: str(i) for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"))}
_EN_NUMBERS.update(thirty="30", forty="40", fifty="50", hundred="100")
_EN_NUMBER = re.compile(
    r"(?<![a-z])(" + "|".join(_EN_NUMBERS) + r")(?= (?!(?:on|of|is|for|and|or|to|in|at|by|with|more|"
    r"time|thing|way|question|another|other|that|this|which|you|we|i)(?![a-z]))[a-z])"
)
_ASCII_SCALED = re.compile(r"(\d+(?:\.\d+)?)\s*(万|千)(?!万)(\d(?![\d.万千]))?")


@lru_cache(maxsize=2048)
def chinese_number(text: str) -> int | None:
    """Value of a Chinese numeral such as 十二, 一百二十, 两千五, 两万五 (by cn2an); None if not one."""
    if not text or not _CN_NUMBER.fullmatch(text):
        return None
    try:
        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


def _replace_cn_numbers(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        start, end = m.span()
        token = m.group(0)
        context = text[max(0, start - 1):end + 2]
        if any(w in context for w in _KEEP_WORDS):
            return token
        if start and text[start - 1].isdigit():
            return token  # "5万": handled as an ASCII amount
        after = text[end:end + 2]
        scaled = any(u in token for u in "万千亿") and len(token) > 1
        if not scaled and not after.startswith(_CN_FOLLOWERS):
            return token
        value = chinese_number(token)
        return token if value is None else str(value)

    return _CN_NUMBER.sub(repl, text)


def _scale_ascii(m: re.Match[str]) -> str:
    try:
        unit = 10000 if m.group(2) == "万" else 1000
        value = Decimal(m.group(1)) * unit + Decimal(m.group(3) or 0) * unit / 10  # 3万8 = 38000
    except InvalidOperation:
        return m.group(0)
    return format(value.normalize(), "f")


def to_simplified(text: str) -> str:
    """Traditional → Simplified by phrase (OpenCC tw2sp), then regional vocabulary."""
    return regional_to_common(fix_homophones(_T2S.convert(before_opencc(text))))


def normalize(text: str) -> str:
    """Canonical form for matching: NFKC (full-width → ASCII), lower case, Simplified, digits.

    Chinese numerals that are quantities become Arabic digits ("十二台" → "12台", "两万五" →
    "25000"); thousands separators are dropped ("10,000" → "10000"); whitespace runs collapse.
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = to_simplified(text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)
    text = _replace_cn_numbers(text)
    text = _EN_NUMBER.sub(lambda m: _EN_NUMBERS[m.group(1)], text)
    text = _ASCII_SCALED.sub(_scale_ascii, text)
    text = text.replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()
