"""What the answerer read from the question, stated first in every numeric answer, and the
"Why?" explanation (the clauses applied, with their policy wording and seed source).

A misread amount or quantity is then visible to the customer ("按您说的计算：金额 50,000 元")
instead of hidden in a confident total; the explanation serves customers who doubt and
supervisors who audit (``sdbot ask --explain`` prints the same).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.core.i18n import render
from bot.rules.policy import Policy

AMOUNT_KEYS = ("amount", "software_amount", "hardware_amount")


def grouped(value: Any) -> str:
    """An amount with thousands separators: 50000 → "50,000", 12.5 → "12.50"."""
    d = Decimal(str(value))
    return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"


def _label(locale: str, name: str) -> str:
    return render(locale, f"answers/labels#{name}")


def read_line(intent: str, params: dict[str, Any], locale: str) -> str:
    """One line: the parameters the answer was computed from (empty when there are none)."""
    zone = params.get("zone")
    items = [
        render(locale, "answers/text#read_item", item=i["item"], qty=i.get("qty", "?"), size=i.get("size"),
               label=_label(locale, f"item_{i['item']}"))
        for i in params.get("items") or [] if intent == "fee.annual"
    ]
    event = "delivered" if params.get("delivered") else params.get("event")
    if locale == "en" and params.get("district"):
        params = {**params, "district": _pinyin_name(params["district"])}
    return render(
        locale, "answers/text#read", p=params, intent=intent, items=items,
        zone_label=_label(locale, f"zone_name_{zone}") if zone else "",
        level_label=_label(locale, f"level_{params['level']}") if params.get("level") and intent == "fee.training" else "",
        event_label=_label(locale, f"event_{event}") if event else "",
        amounts={k: grouped(params[k]) if k in params else "" for k in AMOUNT_KEYS},
    )


def _pinyin_name(district: str) -> str:
    """罗湖 → Luohu (for English answers)."""
    from bot.rules.extract import DISTRICTS

    return next((k.title() for k, v in DISTRICTS.items() if v == district and k.isascii() and k.isalpha()),
                district)


def explain(policy: Policy, clauses: list[str], locale: str) -> str:
    """The clauses applied, each with its source (S0–S4) and its wording from the policy file."""
    rows = []
    for cid in clauses:
        found = policy.clause(cid)
        if found is None:
            continue
        try:
            text = policy.clause_text(cid, locale)
        except KeyError:
            text = found.en if locale == "en" else found.zh
        rows.append({"id": cid, "source": found.source, "text": text})
    return render(locale, "answers/text#why", clauses=rows)
