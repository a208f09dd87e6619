"""The figures an answer states as *the* result (amounts, dates), for audits and the benchmark.

A listing (the price table, both zones, every level) states no figure; a computed answer states
the values it worked out: a total and its extra lines, a fee, a date. The accuracy benchmark
compares these with the hand-computed value of a labelled question: a question whose figures do
not contain the expected value is a *wrong number*, one without figures is *no number*.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any


def plain(value: Any) -> str:
    """One spelling per value: Decimal("1200.00") → "1200", "12.50" → "12.5", dates as ISO."""
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        text = format(Decimal(str(value)).normalize(), "f")
        return text
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value)
    try:
        return plain(Decimal(text))
    except ArithmeticError:
        return text


def _values(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for v in values:
        if v is None:
            continue
        p = plain(v)
        if p not in out:
            out.append(p)
    return out


def figures(intent: str, r: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """The computed values of ``intent``'s answer context ``r`` (empty for a listing)."""
    if intent == "warranty.start":
        if r.get("software"):
            return _values([r.get("start"), r.get("end")])
        return _values([(r.get("computed") or {}).get("start")])
    if intent == "warranty.status":
        out: list[Any] = []
        for e in r.get("entries", []):
            out += [e.get("start"), e.get("end")]
            if e.get("stage") == "return":
                out.append(e.get("return_end"))
            if e.get("stage") in ("return", "exchange"):
                out.append(e.get("exchange_end"))
        return _values(out)
    if intent in ("fee.onsite", "fee.annual"):
        if r.get("total") is None:
            return []
        lines = r.get("lines", [])[1:] if intent == "fee.onsite" else []
        return _values([r["total"], *(ln.get("amount") for ln in lines)])
    if intent == "fee.remote":
        kind = r.get("kind")
        return _values([r.get(kind)]) if kind in ("software", "system") else []
    if intent == "fee.phone":
        return _values([r.get("hard")]) if params.get("phone_kind") == "hard" else []
    if intent in ("fee.training", "fee.maintenance_contract"):
        return _values([r.get("total")])
    if intent == "fee.proxy_purchase":
        return _values([r.get("fee")])
    if intent == "payment.deposit":
        return _values([r.get("amount")])
    if intent == "payment.software":
        return _values(r.get("installments") or [])
    return []
