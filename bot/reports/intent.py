"""A supervisor's plain-language question → the matching report command (or None).

"昨晚谁值班" → log yesterday; "这个月有几单超时" → stats this month; "what is still open" → open.
The period words are left in the returned argument text for the command's own parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TICKET_NO = re.compile(r"\bSD-\d{4}-\d{6}\b", re.IGNORECASE)
_PERIOD_HINT = re.compile(
    r"月|周|星期|昨|今|前天|\d{4}-\d|month|week|yesterday|today|night|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)

# (command, pattern) in order of precedence.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("export", re.compile(r"导出|下载|表格|excel|xlsx|csv|export|spreadsheet|download", re.I)),
    ("chart", re.compile(r"图表|图|趋势|chart|graph|plot|trend", re.I)),
    ("complaints", re.compile(r"投诉|不满意|差评|complain|dissatisf|unhappy", re.I)),
    ("overdue", re.compile(r"超时|逾期|超期|过期|晚了|迟了|overdue|late|breach|sla", re.I)),
    ("stats", re.compile(r"统计|满意度|评分|报表|多少|几单|几个|怎么样|如何|表现|stat|how many|how did|"
                         r"satisfaction|score|rating|performance|summary", re.I)),
    ("open", re.compile(r"未完成|未解决|没解决|未关闭|没关|待处理|还有|还在|进行中|open|pending|unresolved|still", re.I)),
    ("log", re.compile(r"值班|日志|做了什么|干了什么|处理了|谁|duty|on call|log|what did|who", re.I)),
]


@dataclass(frozen=True)
class Intent:
    """The command a question maps to and the argument text to give it."""

    command: str
    args: str


def intent_of(text: str) -> Intent | None:
    """The report command ``text`` asks for, else None."""
    text = text.strip()
    if not text:
        return None
    number = TICKET_NO.search(text)
    if number:
        return Intent("ticket", number.group(0).upper())
    for command, pattern in _RULES:
        if pattern.search(text):
            return _refine(command, text)
    return None


def _refine(command: str, text: str) -> Intent:
    has_period = bool(_PERIOD_HINT.search(text))
    if command == "overdue" and has_period:
        return Intent("stats", text)  # "how many were late this month" is a statistic
    if command in ("open", "overdue"):
        return Intent(command, "")
    if command == "stats" and not has_period:
        return Intent("stats", "")
    return Intent(command, text)
