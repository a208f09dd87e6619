"""Per-intent answer contexts computed with the policy calculators (every number from the policy).

Each builder takes ``(policy, params, *, today, customer, hours)`` and returns the context of the
intent's template block plus ``clauses``: the clause ids applied. The policy is read only through
``bot.rules.qa_facts`` (the adapter over the policy file and its calculators).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bot.core.i18n import render
from bot.roster.model import Hours
from bot.rules import qa_facts as facts
from bot.rules.extract import items as items_in
from bot.rules.normalize import normalize
from bot.rules.policy import Policy

Builder = Callable[..., dict[str, Any]]
BUILDERS: dict[str, Builder] = {}


def builder(intent: str) -> Callable[[Builder], Builder]:
    """Register the context builder of ``intent``."""

    def deco(fn: Builder) -> Builder:
        BUILDERS[intent] = fn
        return fn

    return deco


def _label(locale: str, name: str, **ctx: Any) -> str:
    return render(locale, f"answers/labels#{name}", **ctx)


def _covered(policy: Policy, customer: Any, today: dt.date) -> bool:
    """Maintenance paid up under a contract that makes service free (the customer's own record)."""
    if customer is None:
        return False
    return facts.covered(policy, customer.contract_type, customer.maintenance_paid_until, today)


# --- warranty -------------------------------------------------------------------------------


@builder("warranty.period")
def _warranty_period(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.warranty_terms(policy)


@builder("warranty.start")
def _warranty_start(policy: Policy, p: dict[str, Any], *, locale: str, **_: Any) -> dict[str, Any]:
    if p.get("software") and not p.get("event"):
        signed = dt.date.fromisoformat(p["date"]) if p.get("date") else None
        return {**facts.service_year(policy, signed, locale), "software": True}
    rules = facts.start_rules(policy)
    for rule in rules:
        rule["label"] = _label(locale, f"event_{rule['event']}")
    out: dict[str, Any] = {"rules": rules, "computed": None, "event": p.get("event"),
                           "clauses": [r["clause"] for r in rules if p.get("event") in (None, r["event"])]}
    if p.get("event") and p.get("date"):
        start, clause = facts.warranty_start(policy, p["event"], dt.date.fromisoformat(p["date"]))
        out["computed"] = {"label": _label(locale, f"event_{p['event']}"), "date": p["date"],
                           "start": start.isoformat()}
        out["clauses"] = [clause]
    return out


@builder("warranty.status")
def _warranty_status(
    policy: Policy, p: dict[str, Any], *, locale: str, today: dt.date, customer: Any = None, **_: Any
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    clauses: list[str] = []
    own = bool(customer and customer.equipment and not p.get("date"))
    assumed = None
    sources: list[dict[str, Any]]
    if own:
        sources = _matching(customer.equipment, p.get("items") or [])
    else:
        event = p.get("event") or "sale"
        if p.get("delivered"):
            assumed = _label(locale, "event_delivered")
        elif not p.get("event"):
            assumed = _label(locale, "event_sale")
        kind = p.get("kind") or ("project" if event == "acceptance" else "product")
        item = (p.get("items") or [{}])[0].get("item")
        label = _label(locale, f"item_{item}") if item else p["date"]
        sources = [{"label": label, "kind": kind, "event": event, "date": p["date"]}]
    for src in sources:
        st = facts.warranty_stage(policy, src["kind"], src["event"], dt.date.fromisoformat(src["date"]), today)
        items.append({**st, "label": src["label"], "stage_label": _label(locale, f"stage_{st['stage']}", lifetime=st["lifetime"])})
        clauses += [c for c in st["clauses"] if c not in clauses]
    return {"entries": items, "own": own, "customer": customer.name if own else "", "on": today.isoformat(),
            "assumed": assumed, "clauses": clauses}


def _matching(equipment: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registered equipment of the kinds named in the question (all of it when none match)."""

    wanted = {i["item"] for i in items}
    if not wanted:
        return list(equipment)
    hits = [e for e in equipment if wanted & {i["item"] for i in items_in(normalize(e["label"]))}]
    return hits or list(equipment)


@builder("warranty.exclusions")
def _exclusions(policy: Policy, p: dict[str, Any], *, locale: str, **_: Any) -> dict[str, Any]:
    return facts.exclusions(policy, locale)


@builder("return.policy")
def _return(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**facts.warranty_terms(policy, returns=True), "day": p.get("day")}


@builder("exchange.policy")
def _exchange(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    terms = facts.warranty_terms(policy)
    clauses = [c for c in terms["clauses"] if c in ("warranty.return", "warranty.exchange")]
    return {**terms, "clauses": clauses, "day": p.get("day")}


# --- service ---------------------------------------------------------------------------------


@builder("repair.turnaround")
def _turnaround(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.depot(policy)


@builder("shipping.cost")
def _shipping(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.shipping(policy)


@builder("sla.response")
def _sla(policy: Policy, p: dict[str, Any], *, locale: str, customer: Any = None, **_: Any) -> dict[str, Any]:
    zone = facts.zone_of(policy, p.get("district"), p.get("zone")) or (customer.zone if customer else None)
    out = facts.sla(policy, zone)
    out["zone"] = zone
    out["zone_label"] = _label(locale, f"zone_name_{zone}") if zone else ""
    return out


@builder("service.hours")
def _hours(policy: Policy, p: dict[str, Any], *, hours: Hours | None = None, **_: Any) -> dict[str, Any]:
    return facts.service_hours(policy, hours)


@builder("loaner")
def _loaner(policy: Policy, p: dict[str, Any], *, locale: str, customer: Any = None, **_: Any) -> dict[str, Any]:
    out = facts.loaner(policy, customer.contract_type if customer else None)
    out["contract_label"] = _label(locale, f"contract_{customer.contract_type}") if customer else ""
    return out


# --- fees ------------------------------------------------------------------------------------


@builder("fee.onsite")
def _onsite(
    policy: Policy, p: dict[str, Any], *, locale: str, today: dt.date, customer: Any = None, **_: Any
) -> dict[str, Any]:
    zone = facts.zone_of(policy, p.get("district"), p.get("zone")) or (customer.zone if customer else None)
    covered = _covered(policy, customer, today)
    labour = facts.labour_rate(policy)
    if zone is None:
        table = facts.onsite_table(policy)
        for row in table:
            row["label"] = _label(locale, f"zone_name_{row['zone']}")
        return {"covered": False, "lines": [], "table": table, "total": None, "labour": labour,
                "zone_label": "", "clauses": [c for row in table for c in row["clauses"]] + labour["clauses"]}
    included = labour["included_hours"]
    extra_hours = p.get("extra_hours", 0)
    if "hours_worked" in p:  # "worked 10 hours": the hours beyond what a visit includes
        extra_hours = max(0, p["hours_worked"] - included)
    engineers = p.get("engineers", 1)
    if p.get("days", 1) > 1 or (engineers > 1 and extra_hours):
        # per-day or per-engineer overtime is not priced by the policy: state the prices, no total
        table = [row for row in facts.onsite_table(policy) if row["zone"] == zone]
        for row in table:
            row["label"] = _label(locale, f"zone_name_{row['zone']}")
        return {"covered": False, "lines": [], "table": table, "total": None, "labour": labour,
                "zone_label": "", "unsure": True,
                "clauses": [c for row in table for c in row["clauses"]] + labour["clauses"]}
    res = facts.onsite(
        policy, zone, extra_visits=p.get("extra_visits", 0), transport_trips=p.get("transport_trips", 0),
        extra_hours=extra_hours, covered=covered, engineers=engineers,
    )
    for line in res["lines"]:
        line["label"] = _label(locale, f"line_{line['key']}", hours=res.get("included_hours"))
    # the contact-letter rounds (联络函) are the desk's internal procedure, not part of a quote
    extra = [] if covered else [c for c in labour["clauses"] if c not in res["clauses"]]
    return {**res, "covered": covered, "table": [], "zone_label": _label(locale, f"zone_name_{zone}"),
            "labour": None if covered else labour, "clauses": [*res["clauses"], *extra]}


@builder("fee.remote")
def _remote(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**facts.remote(policy), "kind": p.get("remote_kind")}


@builder("fee.phone")
def _phone(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.phone(policy)


@builder("fee.training")
def _training(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    out = facts.training(policy)
    level = p.get("level")
    out.update(level=level, people=p.get("people", 1), days=p.get("days", 1), total=None, unit=None)
    if level and ("people" in p or "days" in p):
        cost = facts.training_cost(policy, level, out["people"], out["days"])
        out.update(total=cost["total"], unit=cost["unit"], clauses=cost["clauses"])
    return out


@builder("fee.out_of_warranty")
def _out_of_warranty(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.out_of_warranty(policy)


@builder("fee.annual")
def _annual(policy: Policy, p: dict[str, Any], *, locale: str, **_: Any) -> dict[str, Any]:
    items = p.get("items") or []
    if not items:
        table = facts.annual_table(policy)
        for row in table:
            row["label"] = _label(locale, f"item_{row['item']}") + (f" {row['range']}" if row.get("range") else "")
        return {"lines": [], "table": table, "total": None, "note": None,
                "clauses": sorted({c for row in table for c in row["clauses"]})}
    res = facts.annual(policy, items)
    for line in res["lines"]:
        line["label"] = _label(locale, f"item_{line['item']}")
    if p.get("unpriced"):  # something counted that no price row took: no total that leaves it out
        return {**res, "total": None, "unpriced": True, "table": [], "note": res.get("note")}
    return {**res, "table": [], "note": res.get("note"), "unpriced": False}


@builder("fee.maintenance_contract")
def _maintenance(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    soft = Decimal(p["software_amount"]) if "software_amount" in p else None
    hard = Decimal(p["hardware_amount"]) if "hardware_amount" in p else None
    return facts.maintenance(policy, soft, hard)


@builder("fee.proxy_purchase")
def _proxy(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.proxy(policy, Decimal(p["amount"]) if "amount" in p else None)


# --- payments --------------------------------------------------------------------------------


@builder("payment.deposit")
def _deposit(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.deposit(policy)


@builder("payment.software")
def _software(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.software_payments(policy, Decimal(p["amount"]) if "amount" in p else None)


@builder("payment.hardware")
def _hardware(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.hardware_payments(policy)


@builder("payment.channels")
def _channels(policy: Policy, p: dict[str, Any], **_: Any) -> dict[str, Any]:
    return facts.channels(policy)
