"""The bridge between intents and the policy calculators: which parameters count, which are
missing, and the numbers each answer template shows (every number from the policy).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.roster.model import Hours
from bot.rules import qa_compose
from bot.rules.policy import Policy

# parameters each intent uses (the rest of what the extractor saw is noise for that intent)
RELEVANT: dict[str, tuple[str, ...]] = {
    "warranty.period": ("kind",),
    "warranty.start": ("event", "date", "software"),
    "warranty.status": ("date", "event", "kind", "items", "delivered"),
    "return.policy": ("day",),
    "exchange.policy": ("day",),
    "sla.response": ("zone", "district"),
    "fee.onsite": ("zone", "district", "extra_visits", "transport_trips", "extra_hours", "hours_worked",
                   "engineers", "days"),
    "fee.remote": ("remote_kind",),
    "fee.phone": ("phone_kind",),
    "fee.training": ("level", "people", "days"),
    "fee.annual": ("items", "unpriced"),
    "fee.maintenance_contract": ("software_amount", "hardware_amount", "split_needed"),
    "fee.proxy_purchase": ("amount", "amount_choices"),
    "payment.software": ("amount", "software_amount", "amount_choices"),
    "report_fault": ("items",),
}


SIZED = ("pbx", "amplifier")  # priced by ports / watts
# computed answers that a number nobody read could falsify: with one, they list the prices only
GUARDED = frozenset({"fee.onsite", "fee.training", "fee.annual", "fee.maintenance_contract",
                     "fee.proxy_purchase", "payment.software", "fee.remote", "fee.phone"})


def relevant(intent: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters ``intent`` uses (``general`` marks a follow-up that was skipped)."""
    keys = RELEVANT.get(intent, ()) + ("general",) + (("stray",) if intent in GUARDED else ())
    out = {k: v for k, v in params.items() if k in keys}
    if intent == "payment.software" and "software_amount" in out:
        out["amount"] = out.pop("software_amount")
    if intent == "fee.onsite" and "people" in params and "engineers" not in params:
        out["stray"] = [*out.get("stray", []), str(params["people"])]  # our engineers, or theirs?
    if intent == "warranty.status" and "items" in out:
        out["items"] = [{"item": i["item"]} for i in out["items"]]
    return out


def missing(intent: str, params: dict[str, Any], customer: Any) -> str | None:
    """The one parameter to ask for before answering, or None."""
    if params.get("general"):
        return None
    if intent in ("fee.proxy_purchase", "payment.software") and "amount" not in params and params.get(
        "amount_choices"
    ):
        return "amount"
    if intent == "fee.onsite" and "zone" not in params and not (customer and customer.zone):
        return "zone"
    if intent == "fee.annual" and any("qty" not in i for i in params.get("items") or []):
        return "qty"
    if intent == "fee.annual" and any(
        i["item"] in SIZED and "size" not in i for i in params.get("items") or []
    ):
        return "size"
    if intent == "fee.training" and ("people" in params or "days" in params) and "level" not in params:
        return "level"
    if intent == "warranty.status" and "date" not in params and not (customer and customer.equipment):
        return "date"
    return None


def general_params(intent: str, ask: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """Parameters for a general answer when a follow-up cannot be asked (mid-conversation)."""
    if ask == "date":
        return None
    out = dict(params)
    if ask == "amount":
        out.pop("amount_choices", None)
    if ask in ("qty", "size"):
        out.pop("items", None)
    out["general"] = True
    return out


def compute(
    policy: Policy, intent: str, params: dict[str, Any], *, locale: str, today: dt.date,
    customer: Any = None, hours: Hours | None = None,
) -> dict[str, Any]:
    """The template context of ``intent``'s answer, with ``clauses`` (ids applied)."""

    return qa_compose.BUILDERS[intent](
        policy, params, locale=locale, today=today, customer=customer, hours=hours
    )


def answerable(intent: str) -> bool:
    """True when a calculator-backed answer exists for ``intent``."""

    return intent in qa_compose.BUILDERS
