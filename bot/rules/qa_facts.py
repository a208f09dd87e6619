"""Adapter between the answer templates and the policy: values and calculations, with clause ids.

Every number is read from the loaded policy file through ``value(policy, key)``; nothing here is a
policy number. Each function returns a plain dict for a template plus ``clauses``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


class PolicyGap(LookupError):
    """The loaded policy has no value where the answer needs one."""


def value(policy: Any, key: str) -> Any:
    """The policy value at dotted ``key`` (attribute or mapping access at each step)."""
    node = policy
    for part in key.split("."):
        try:
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        except (KeyError, AttributeError):
            raise PolicyGap(key) from None
    return node


def _money(x: Any) -> Decimal:
    return Decimal(str(x)).quantize(CENT, rounding=ROUND_HALF_UP)


def as_dict(node: Any) -> dict[str, Any]:
    """A mapping, a pydantic model or a plain object as a dict of its fields."""
    if isinstance(node, dict):
        return dict(node)
    if hasattr(node, "model_dump"):
        return dict(node.model_dump())
    return dict(vars(node))


def pct(x: Any) -> str:
    """A percentage for display: 20 → "20", 12.50 → "12.5"."""
    return format(Decimal(str(x)).normalize(), "f")


def add_years(day: dt.date, years: int) -> dt.date:
    """Same calendar date ``years`` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- warranty ----------------------------------------------------------------------------------


def warranty_terms(policy: Any, *, returns: bool = False) -> dict[str, Any]:
    """Return / exchange windows, repair years, lifetime maintenance (and, for returns, the rest)."""
    out = {
        "return_days": value(policy, K["return_days"]),
        "exchange_from": value(policy, K["return_days"]) + 1,
        "exchange_to": value(policy, K["exchange_days"]),
        "repair_years_product": value(policy, K["repair_years_product"]),
        "repair_years_project": value(policy, K["repair_years_project"]),
        "lifetime": bool(value(policy, K["lifetime"])),
        "clauses": ["warranty.return", "warranty.exchange", "warranty.repair", "warranty.lifetime"],
    }
    if returns:
        out.update(
            sample_months=value(policy, K["sample_months"]),
            repeat_times=value(policy, K["repeat_times"]),
            repeat_months=value(policy, K["repeat_months"]),
            clauses=["warranty.return", "warranty.sample_return", "warranty.repeat_return"],
        )
    return out


EVENTS = ("acceptance", "express", "freight", "sale")


def start_rules(policy: Any) -> list[dict[str, Any]]:
    """How each event starts the warranty: days after the event date, with the clause id."""
    return [
        {"event": e, "days": value(policy, K[f"start_{e}_days"]), "clause": f"warranty.start.{e}"}
        for e in EVENTS
    ]


def warranty_start(policy: Any, event: str, date: dt.date) -> tuple[dt.date, str]:
    """The warranty start date for ``event`` on ``date`` and the clause applied."""
    return date + dt.timedelta(days=value(policy, K[f"start_{event}_days"])), f"warranty.start.{event}"


def warranty_stage(policy: Any, kind: str, event: str, date: dt.date, on: dt.date) -> dict[str, Any]:
    """Stage on ``on`` (return/exchange/repair/expired) with start and last covered days."""
    start, start_clause = warranty_start(policy, event, date)
    years = value(policy, K["repair_years_project" if kind == "project" else "repair_years_product"])
    end = add_years(start, years) - dt.timedelta(days=1)
    return_end = start + dt.timedelta(days=value(policy, K["return_days"]) - 1)
    exchange_end = start + dt.timedelta(days=value(policy, K["exchange_days"]) - 1)
    if on <= return_end:
        stage, clause = "return", "warranty.return"
    elif on <= exchange_end:
        stage, clause = "exchange", "warranty.exchange"
    elif on <= end:
        stage, clause = "repair", "warranty.repair"
    else:
        stage, clause = "expired", "warranty.lifetime"
    return {
        "stage": stage, "start": start.isoformat(), "end": end.isoformat(),
        "return_end": return_end.isoformat(), "exchange_end": exchange_end.isoformat(),
        "clauses": [start_clause, clause],
    }


def exclusions(policy: Any, locale: str) -> dict[str, Any]:
    """The exclusion list in ``locale`` (wording lives in the policy file)."""
    items = value(policy, K["exclusions"])
    return {"entries": [_localised(i, locale) for i in items], "clauses": ["warranty.exclusions"]}


def _localised(item: Any, locale: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return str(item.get(locale) or item.get("zh") or next(iter(item.values())))
    return str(getattr(item, locale, None) or getattr(item, "zh", item))


# --- service levels ------------------------------------------------------------------------------


def depot(policy: Any) -> dict[str, Any]:
    """Depot turnaround in and out of warranty."""
    return {
        "in_warranty_days": value(policy, K["depot_in_days"]),
        "out_days": value(policy, K["depot_out_days"]),
        "clauses": ["sla.depot.in_warranty", "sla.depot.out_of_warranty"],
    }


def shipping(policy: Any) -> dict[str, Any]:
    """Who pays shipping for depot repairs (wording in the template, clause ids here)."""
    return {"clauses": list(K["shipping_clauses"])}


def sla(policy: Any) -> dict[str, Any]:
    """Response, on-site and fix times."""
    return {
        "first_response_hours": value(policy, K["first_response_hours"]),
        "answer_days": value(policy, K["answer_days"]),
        "onsite_city_hours": value(policy, K["onsite_city_hours"]),
        "onsite_suburb_hours": value(policy, K["onsite_suburb_hours"]),
        "fix_general_hours": value(policy, K["fix_general_hours"]),
        "fix_complex_hours": value(policy, K["fix_complex_hours"]),
        "clauses": ["sla.first_response", "sla.answer", "sla.onsite.city", "sla.onsite.suburb",
                    "sla.fix.general", "sla.fix.complex"],
    }


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def service_hours(policy: Any, hours: Any) -> dict[str, Any]:
    """Office and duty hours (from the roster's ``[hours]``, the duty clause id)."""
    if hours is None:
        from bot.roster import DEFAULT_ROSTER, load_roster

        hours = load_roster(DEFAULT_ROSTER).hours
    return {
        "office_start": _hhmm(hours.office_start), "office_end": _hhmm(hours.office_end),
        "duty_start": _hhmm(hours.duty_start), "duty_end": _hhmm(hours.duty_end),
        "clauses": ["duty.hours"],
    }


def loaner(policy: Any, contract_type: str | None) -> dict[str, Any]:
    """Loaner rule; ``eligible`` for an identified customer's contract type."""
    return {
        "hours": value(policy, K["loaner_hours"]),
        "contract": contract_type,
        "eligible": bool(contract_type and contract_terms(policy, contract_type).get("loaner")),
        "clauses": ["sla.loaner"],
    }


def contract_terms(policy: Any, contract_type: str) -> dict[str, Any]:
    """What a contract type gets (``loaner``, ``free_when_paid_up``); empty when unknown."""
    try:
        terms = value(policy, f"{K['contracts']}.{contract_type}")
    except PolicyGap:
        return {}
    return as_dict(terms)


# --- fees ----------------------------------------------------------------------------------------


def city_districts(policy: Any) -> tuple[str, ...]:
    """Districts the policy puts in the city zone (empty list in the file: the built-in default)."""
    from bot.rules.extract import CITY_DISTRICTS

    try:
        listed = tuple(value(policy, K["city_districts"]))
    except PolicyGap:
        listed = ()
    return listed or CITY_DISTRICTS


def zone_of(policy: Any, district: str | None, fallback: str | None) -> str | None:
    """The zone of a named district per the policy, else ``fallback``."""
    if not district:
        return fallback
    return "city" if district in city_districts(policy) else "suburb"


def onsite_table(policy: Any) -> list[dict[str, Any]]:
    """Per-visit prices of both zones."""
    return [
        {
            "zone": z,
            "first": _money(value(policy, K[f"onsite_{z}_first"])),
            "extra": _money(value(policy, K[f"onsite_{z}_extra"])),
            "transport": _money(value(policy, K[f"onsite_{z}_transport"])),
            "clauses": [f"fee.onsite.{z}"],
        }
        for z in ("city", "suburb")
    ]


def onsite(
    policy: Any, zone: str, *, extra_visits: int = 0, transport_trips: int = 0, extra_hours: int = 0,
    covered: bool = False,
) -> dict[str, Any]:
    """Per-visit fee: first visit, extra visits, transport trips, extra labour hours; 0 if covered."""
    if covered:
        return {"total": _money(0), "lines": [], "clauses": ["fee.free_when_covered"]}
    lines = [("first_visit", 1, value(policy, K[f"onsite_{zone}_first"]))]
    if extra_visits:
        lines.append(("extra_visit", extra_visits, value(policy, K[f"onsite_{zone}_extra"])))
    if transport_trips:
        lines.append(("transport", transport_trips, value(policy, K[f"onsite_{zone}_transport"])))
    if extra_hours:
        lines.append(("extra_hour", extra_hours, value(policy, K["labour_hour"])))
    out = [{"key": k, "qty": q, "unit": _money(u), "amount": _money(Decimal(str(u)) * q)} for k, q, u in lines]
    clauses = [f"fee.onsite.{zone}"] + (["fee.labour.hour"] if extra_hours else [])
    return {"total": _money(sum(line["amount"] for line in out)), "lines": out, "clauses": clauses,
            "included_hours": value(policy, K["included_hours"])}


def remote(policy: Any) -> dict[str, Any]:
    """Remote fix prices."""
    return {"software": _money(value(policy, K["remote_software"])),
            "system": _money(value(policy, K["remote_system"])),
            "clauses": ["fee.remote.software", "fee.remote.system"]}


def phone(policy: Any) -> dict[str, Any]:
    """Phone support prices."""
    return {"hard": _money(value(policy, K["phone_hard"])),
            "clauses": ["fee.phone.ordinary", "fee.phone.hard"]}


def training(policy: Any) -> dict[str, Any]:
    """Training prices per person per day."""
    return {"basic": _money(value(policy, K["training_basic"])),
            "advanced": _money(value(policy, K["training_advanced"])),
            "clauses": ["fee.training.basic", "fee.training.advanced"]}


def training_cost(policy: Any, level: str, people: int, days: int) -> dict[str, Any]:
    """people × days × the level's price."""
    unit = _money(value(policy, K[f"training_{level}"]))
    return {"unit": unit, "total": _money(unit * people * days), "clauses": [f"fee.training.{level}"]}


def out_of_warranty(policy: Any) -> dict[str, Any]:
    """Lifetime maintenance after the warranty."""
    return {"lifetime": bool(value(policy, K["lifetime"])),
            "clauses": ["warranty.lifetime", "payment.paid_repair"]}


def annual_rows(policy: Any) -> list[dict[str, Any]]:
    """Annual-maintenance price rows: item, tier bounds (count or size), price, clause id."""
    return [as_dict(row) for row in value(policy, K["annual_rows"])]


def _tier(rows: list[dict[str, Any]], item: str, measure: int | None) -> dict[str, Any] | None:
    for row in rows:
        if row["item"] != item:
            continue
        if row.get("min") is None and row.get("max") is None:
            return row
        if measure is None:
            return None
        if (row.get("min") is None or measure >= row["min"]) and (row.get("max") is None or measure <= row["max"]):
            return row
    return None


def annual_table(policy: Any) -> list[dict[str, Any]]:
    """The price list (one row per item and tier) for a general answer."""
    out = []
    for row in annual_rows(policy):
        lo, hi = row.get("min"), row.get("max")
        rng = "" if lo is None and hi is None else (f"{lo}+" if hi is None else f"{lo or 0}–{hi}")
        out.append({"item": row["item"], "range": rng, "price": _money(row["price"]),
                    "clauses": [row["clause"]]})
    return out


def annual(policy: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Annual quote: switches tiered by the total count (all at that tier), PBX/amplifier by size."""
    rows = annual_rows(policy)
    by = {row["item"]: row.get("by") for row in rows}
    totals: dict[str, int] = {}
    for it in items:
        totals[it["item"]] = totals.get(it["item"], 0) + int(it.get("qty") or 0)
    lines, clauses = [], []
    for it in items:
        qty = int(it.get("qty") or 0)
        measure = totals[it["item"]] if by.get(it["item"]) == "count" else it.get("size")
        row = _tier(rows, it["item"], measure)
        if row is None or qty <= 0:
            continue
        unit = _money(row["price"])
        lines.append({"item": it["item"], "qty": qty, "size": it.get("size"), "unit": unit,
                      "amount": _money(unit * qty)})
        if row["clause"] not in clauses:
            clauses.append(row["clause"])
    return {"total": _money(sum((line["amount"] for line in lines), Decimal(0))), "lines": lines,
            "clauses": clauses}


def maintenance(policy: Any, software: Decimal | None, hardware: Decimal | None) -> dict[str, Any]:
    """Yearly maintenance contract from the second year: a share of software and hardware prices."""
    sp, hp = Decimal(str(value(policy, K["maint_software_pct"]))), Decimal(str(value(policy, K["maint_hardware_pct"])))
    out: dict[str, Any] = {"software_pct": pct(sp), "hardware_pct": pct(hp), "total": None,
                           "software": software, "hardware": hardware, "clauses": ["fee.maintenance_contract"]}
    if software is not None or hardware is not None:
        s, h = software or Decimal(0), hardware or Decimal(0)
        out.update(software=_money(s), hardware=_money(h), total=_money(s * sp / 100 + h * hp / 100))
    return out


def proxy(policy: Any, amount: Decimal | None) -> dict[str, Any]:
    """Proxy-purchase service fee."""
    proxy_pct = Decimal(str(value(policy, K["proxy_pct"])))
    fee = _money(amount * proxy_pct / 100) if amount is not None else None
    return {"pct": pct(proxy_pct), "amount": _money(amount) if amount is not None else None, "fee": fee,
            "clauses": ["fee.proxy_purchase"]}


def deposit(policy: Any) -> dict[str, Any]:
    """Contract deposit."""
    return {"amount": _money(value(policy, K["deposit"])), "clauses": ["payment.deposit"]}


def software_payments(policy: Any, amount: Decimal | None) -> dict[str, Any]:
    """Software instalments (the last one takes the rounding remainder so they add up)."""
    pcts = [Decimal(str(p)) for p in value(policy, K["software_pcts"])]
    out: dict[str, Any] = {"pcts": [pct(p) for p in pcts], "final_days": value(policy, K["software_final_days"]),
                           "amount": None, "installments": [],
                           "clauses": ["payment.software", "payment.online_platform"]}
    if amount is not None:
        parts = [_money(amount * p / 100) for p in pcts[:-1]]
        parts.append(_money(amount) - sum(parts, Decimal(0)))
        out.update(amount=_money(amount), installments=parts)
    return out


def hardware_payments(policy: Any) -> dict[str, Any]:
    """Hardware payment terms."""
    return {"return_days": value(policy, K["hardware_return_days"]),
            "clauses": ["payment.hardware", "payment.paid_repair"]}


def channels(policy: Any) -> dict[str, Any]:
    """Official payment channels."""
    return {"clauses": ["payment.private_deals"]}


# Where each value lives in the policy file (dotted path); the only place that knows its layout.
K: dict[str, Any] = {
    "return_days": "warranty.return_days",
    "exchange_days": "warranty.exchange_days",
    "repair_years_product": "warranty.repair_years_product",
    "repair_years_project": "warranty.repair_years_project",
    "lifetime": "warranty.lifetime",
    "sample_months": "warranty.sample_return_months",
    "repeat_times": "warranty.repeat_return_times",
    "repeat_months": "warranty.repeat_return_months",
    "start_acceptance_days": "warranty.start.acceptance_days",
    "start_express_days": "warranty.start.express_days",
    "start_freight_days": "warranty.start.freight_days",
    "start_sale_days": "warranty.start.sale_days",
    "exclusions": "warranty.exclusions",
    "depot_in_days": "sla.depot_in_warranty_working_days",
    "depot_out_days": "sla.depot_out_of_warranty_days",
    "first_response_hours": "sla.first_response_hours",
    "answer_days": "sla.answer_working_days",
    "onsite_city_hours": "sla.onsite_city_hours",
    "onsite_suburb_hours": "sla.onsite_suburb_hours",
    "fix_general_hours": "sla.fix_general_hours",
    "fix_complex_hours": "sla.fix_complex_hours",
    "loaner_hours": "sla.loaner_after_hours",
    "city_districts": "fees.onsite.city.districts",
    "onsite_city_first": "fees.onsite.city.first_visit",
    "onsite_city_extra": "fees.onsite.city.extra_visit",
    "onsite_city_transport": "fees.onsite.city.transport_trip",
    "onsite_suburb_first": "fees.onsite.suburb.first_visit",
    "onsite_suburb_extra": "fees.onsite.suburb.extra_visit",
    "onsite_suburb_transport": "fees.onsite.suburb.transport_trip",
    "labour_hour": "fees.labour_hour",
    "included_hours": "fees.included_hours",
    "remote_software": "fees.remote_software",
    "remote_system": "fees.remote_system",
    "phone_hard": "fees.phone_hard",
    "training_basic": "fees.training_basic",
    "training_advanced": "fees.training_advanced",
    "annual_rows": "fees.annual",
    "maint_software_pct": "fees.maintenance_software_pct",
    "maint_hardware_pct": "fees.maintenance_hardware_pct",
    "proxy_pct": "fees.proxy_pct",
    "deposit": "payment.deposit",
    "software_pcts": "payment.software_pcts",
    "software_final_days": "payment.software_final_days",
    "hardware_return_days": "payment.hardware_return_days",
    "contracts": "contracts",
    "shipping_clauses": ("shipping.in_warranty", "shipping.out_of_warranty", "shipping.quality_fault"),
}
