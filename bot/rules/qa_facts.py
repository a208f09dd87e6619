"""Adapter between the answer templates and the policy calculators (``bot.rules.calculators``).

Every number comes from the loaded policy through a calculator (or, for a listing, straight from
the policy's own table); nothing here is a policy number or a policy formula. Each function
returns a plain dict for a template, with ``clauses``: the clause ids applied.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from bot.roster import DEFAULT_ROSTER, load_roster
from bot.roster.model import Hours
from bot.rules import calculators as calc
from bot.rules.policy import Policy
from bot.rules.result import RulesError


class PolicyGap(LookupError):
    """The policy (or its calculators) cannot give the value an answer needs."""


def pct(x: Any) -> str:
    """A percentage for display: 20 → "20", 12.50 → "12.5"."""
    return format(Decimal(str(x)).normalize(), "f")


def _clauses(*results: Any) -> list[str]:
    out: list[str] = []
    for r in results:
        out += [c for c in r.clauses if c not in out]
    return out


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a calculator; its RulesError / a missing policy attribute becomes PolicyGap."""
    try:
        return fn(*args, **kwargs)
    except (RulesError, AttributeError, KeyError) as exc:
        raise PolicyGap(f"{getattr(fn, '__name__', fn)}: {exc}") from None


# --- warranty ------------------------------------------------------------------------------------


def warranty_terms(policy: Policy, *, returns: bool = False) -> dict[str, Any]:
    """Return / exchange windows, repair years, lifetime maintenance (and, for returns, the rest)."""
    w = _guard(lambda: policy.warranty)
    out = {
        "return_days": w.return_days,
        "exchange_from": w.return_days + 1,
        "exchange_to": w.exchange_days,
        "repair_years_product": _guard(calc.warranty_years, policy, "product"),
        "repair_years_project": _guard(calc.warranty_years, policy, "project"),
        "lifetime": bool(w.lifetime),
        "clauses": ["warranty.return", "warranty.exchange", "warranty.repair", "warranty.lifetime"],
    }
    if returns:
        out.update(
            sample_months=w.sample_return_months,
            repeat_times=w.repeat_return_times,
            repeat_months=w.repeat_return_months,
            clauses=["warranty.return", "warranty.sample_return", "warranty.repeat_return"],
        )
    return out


EVENTS = ("acceptance", "express", "freight", "sale")


def start_rules(policy: Policy) -> list[dict[str, Any]]:
    """How each event starts the warranty (days after the event date), with the clause id."""
    rules = []
    for event in EVENTS:
        probe = dt.date(2000, 1, 1)
        start = _guard(calc.warranty_start, policy, event, probe)
        rules.append({"event": event, "days": (start.warranty_start - probe).days, "clause": start.clauses[0]})
    return rules


def warranty_start(policy: Policy, event: str, date: dt.date) -> tuple[dt.date, str]:
    """The warranty start date for ``event`` on ``date`` and the clause applied."""
    r = _guard(calc.warranty_start, policy, event, date)
    return r.warranty_start, r.clauses[0]


def warranty_stage(policy: Policy, kind: str, event: str, date: dt.date, on: dt.date) -> dict[str, Any]:
    """Stage on ``on`` (return/exchange/repair/expired) with start and last covered days."""
    s = _guard(calc.warranty_stage, policy, kind, event, date, on)
    return {
        "stage": s.stage, "start": s.warranty_start.isoformat(), "end": s.warranty_end.isoformat(),
        "return_end": s.return_end.isoformat(), "exchange_end": s.exchange_end.isoformat(),
        "lifetime": bool(s.lifetime), "clauses": list(s.clauses),
    }


def service_year(policy: Policy, signed: dt.date | None, locale: str) -> dict[str, Any]:
    """Software service year from the signing date (or the rule's wording without a date)."""
    rule = _guard(calc.rule, policy, "warranty.software_year", locale)
    out: dict[str, Any] = {"rule": rule.text, "signed": None, "start": None, "end": None,
                           "clauses": list(rule.clauses)}
    if signed is not None:
        year = _guard(calc.service_year, policy, signed)
        out.update(signed=signed.isoformat(), start=year.start.isoformat(), end=year.end.isoformat())
    return out


def contact_letters(policy: Policy, locale: str) -> dict[str, Any]:
    """The contact-letter rule of on-site repairs, worded from the policy."""
    rule = _guard(calc.rule, policy, "fee.onsite.contact_letters", locale)
    return {"text": rule.text, "clauses": list(rule.clauses)}


def exclusions(policy: Policy, locale: str) -> dict[str, Any]:
    """The exclusion list worded in ``locale``."""
    r = _guard(calc.exclusions, policy, locale)
    return {"entries": list(r.entries), "clauses": list(r.clauses)}


# --- service levels --------------------------------------------------------------------------------


def sla(policy: Policy, zone: str | None = None) -> dict[str, Any]:
    """Response, on-site and fix times (``onsite_hours`` for ``zone``)."""
    s = _guard(calc.sla_promises, policy, zone)
    return {
        "first_response_hours": s.first_response_hours, "answer_days": s.answer_working_days,
        "onsite_city_hours": s.onsite_city_hours, "onsite_suburb_hours": s.onsite_suburb_hours,
        "onsite_hours": s.onsite_hours, "fix_general_hours": s.fix_general_hours,
        "fix_complex_hours": s.fix_complex_hours,
        "clauses": [c for c in s.clauses if not c.startswith(("sla.depot", "sla.loaner"))],
    }


def depot(policy: Policy) -> dict[str, Any]:
    """Depot turnaround in and out of warranty."""
    s = _guard(calc.sla_promises, policy)
    return {
        "in_warranty_days": s.depot_in_warranty_working_days,
        "out_days": s.depot_out_of_warranty_days,
        "clauses": ["sla.depot.in_warranty", "sla.depot.out_of_warranty"],
    }


def shipping(policy: Policy) -> dict[str, Any]:
    """Who pays shipping for depot repairs, in and out of warranty."""
    cases = {
        "in_warranty": _guard(calc.shipping_cost, policy, in_warranty=True),
        "quality_fault": _guard(calc.shipping_cost, policy, in_warranty=True, quality_fault=True),
        "out_of_warranty": _guard(calc.shipping_cost, policy, in_warranty=False),
        "excluded": _guard(calc.shipping_cost, policy, in_warranty=True, excluded=True),
    }
    out: dict[str, Any] = {k: {"inbound": v.inbound, "outbound": v.outbound} for k, v in cases.items()}
    out["clauses"] = _clauses(*cases.values())
    return out


def loaner(policy: Policy, contract_type: str | None) -> dict[str, Any]:
    """Loaner rule; ``eligible`` for an identified customer's contract type."""
    s = _guard(calc.sla_promises, policy, None, contract_type or "none")
    return {"hours": s.loaner_after_hours, "contract": contract_type,
            "eligible": bool(contract_type and s.loaner), "clauses": ["sla.loaner"]}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def service_hours(policy: Policy, hours: Hours | None) -> dict[str, Any]:
    """Office and duty hours (from the roster's ``[hours]``), with the duty clause id."""
    if hours is None:

        hours = load_roster(DEFAULT_ROSTER).hours
    return {
        "office_start": _hhmm(hours.office_start), "office_end": _hhmm(hours.office_end),
        "duty_start": _hhmm(hours.duty_start), "duty_end": _hhmm(hours.duty_end),
        "clauses": ["duty.hours"],
    }


# --- fees ----------------------------------------------------------------------------------------


def covered(policy: Policy, contract_type: str | None, paid_until: dt.date | None, on: dt.date) -> bool:
    """Service free for this contract with its maintenance fee paid up to ``on``."""
    return bool(_guard(calc.coverage, policy, contract_type, maintenance_paid_until=paid_until, on=on).free)


def city_districts(policy: Policy) -> tuple[str, ...]:
    """Districts the policy puts in the city zone."""
    return tuple(_guard(lambda: policy.fees.onsite.city.districts))


def zone_of(policy: Policy, district: str | None, fallback: str | None) -> str | None:
    """The zone of a named district per the policy, else ``fallback``."""
    if not district:
        return fallback
    try:
        return calc.zone_of(policy, district)
    except RulesError:
        return fallback


def _lines(fee: Any) -> list[dict[str, Any]]:
    return [{"key": ln.key, "item": ln.key, "qty": ln.qty, "size": ln.size, "unit": ln.unit,
             "amount": ln.amount} for ln in fee.lines]


def onsite_table(policy: Policy) -> list[dict[str, Any]]:
    """Per-visit prices of both zones (one visit, one extra visit, one transport trip)."""
    out = []
    for zone in ("city", "suburb"):
        fee = _guard(calc.onsite_fee, policy, zone, extra_visits=1, transport_trips=1)
        unit = {ln.key: ln.unit for ln in fee.lines}
        out.append({"zone": zone, "first": unit["first_visit"], "extra": unit["extra_visit"],
                    "transport": unit["transport_trip"], "clauses": list(fee.clauses)})
    return out


def onsite(
    policy: Policy, zone: str, *, extra_visits: int = 0, transport_trips: int = 0, extra_hours: int = 0,
    covered: bool = False, engineers: int = 1,
) -> dict[str, Any]:
    """Per-visit fee: first visit, extra visits, transport trips, extra labour hours; 0 if covered."""
    fee = _guard(calc.onsite_fee, policy, zone, extra_visits=extra_visits,
                 transport_trips=transport_trips, extra_hours=extra_hours, covered=covered,
                 engineers=engineers)
    return {"total": fee.total, "lines": _lines(fee), "clauses": list(fee.clauses),
            "included_hours": _guard(lambda: policy.fees.included_hours)}


def labour_rate(policy: Policy) -> dict[str, Any]:
    """Labour beyond the hours a visit includes, per hour."""
    fee = _guard(calc.labour_fee, policy, 1)
    return {"hour": fee.total, "included_hours": _guard(lambda: policy.fees.included_hours),
            "clauses": list(fee.clauses)}


def complaint_rules(policy: Policy, locale: str) -> dict[str, Any]:
    """When a report becomes a complaint automatically, worded from the policy."""
    rules = [_guard(calc.rule, policy, c, locale) for c in ("complaint.repeat_fault", "complaint.multiple_faults")]
    return {"rules": [r.text for r in rules], "clauses": _clauses(*rules)}


def remote(policy: Policy) -> dict[str, Any]:
    """Remote fix prices per case."""
    sw, sy = _guard(calc.remote_fee, policy, "software"), _guard(calc.remote_fee, policy, "system")
    return {"software": sw.total, "system": sy.total, "clauses": _clauses(sw, sy)}


def phone(policy: Policy) -> dict[str, Any]:
    """Phone support prices per call."""
    ordinary, hard = _guard(calc.phone_fee, policy, "ordinary"), _guard(calc.phone_fee, policy, "hard")
    return {"ordinary": ordinary.total, "hard": hard.total, "clauses": _clauses(ordinary, hard)}


def training(policy: Policy) -> dict[str, Any]:
    """Training prices per person per day."""
    basic, adv = _guard(calc.training_fee, policy, "basic"), _guard(calc.training_fee, policy, "advanced")
    return {"basic": basic.total, "advanced": adv.total, "clauses": _clauses(basic, adv)}


def training_cost(policy: Policy, level: str, people: int, days: int) -> dict[str, Any]:
    """people × days × the level's price."""
    fee = _guard(calc.training_fee, policy, level, people=people, days=days)
    unit = _guard(calc.training_fee, policy, level).total
    return {"unit": unit, "total": fee.total, "clauses": list(fee.clauses)}


def out_of_warranty(policy: Policy) -> dict[str, Any]:
    """Lifetime maintenance after the warranty."""
    lifetime = bool(_guard(lambda: policy.warranty.lifetime))
    labour = _guard(calc.labour_fee, policy, 1)
    clauses = ["warranty.lifetime"] if lifetime else list(labour.clauses)
    return {"lifetime": lifetime, "labour_hour": labour.total, "clauses": [*clauses, "payment.paid_repair"]}


def annual_table(policy: Policy) -> list[dict[str, Any]]:
    """The price list (one row per item and tier), straight from the policy's table."""
    out = []
    for row in _guard(lambda: policy.fees.annual):
        lo, hi = row.min, row.max
        rng = "" if lo is None and hi is None else (f"{lo}+" if hi is None else f"{lo or 1}–{hi}")
        out.append({"item": row.item, "range": rng, "price": row.price, "clauses": [row.clause]})
    return out


def annual(policy: Policy, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Annual quote (switch tiers by total count, PBX/amplifier by size) by the calculator."""
    wanted = [calc.AnnualItem(item=i["item"], qty=int(i["qty"]), size=i.get("size")) for i in items]
    fee = _guard(calc.annual_quote, policy, wanted)
    return {"total": fee.total, "lines": _lines(fee), "clauses": list(fee.clauses)}


def maintenance(policy: Policy, software: Decimal | None, hardware: Decimal | None) -> dict[str, Any]:
    """Yearly maintenance contract from the second year: a share of software and hardware prices."""
    fee = _guard(calc.maintenance_fee, policy, software or 0, hardware or 0)
    out: dict[str, Any] = {"software_pct": pct(fee.software_pct), "hardware_pct": pct(fee.hardware_pct),
                           "from_year": fee.from_year, "total": None, "software": None, "hardware": None,
                           "clauses": list(fee.clauses)}
    if software is not None or hardware is not None:
        out.update(software=fee.software, hardware=fee.hardware, total=fee.total)
    return out


def proxy(policy: Policy, amount: Decimal | None) -> dict[str, Any]:
    """Proxy-purchase service fee."""
    fee = _guard(calc.proxy_fee, policy, amount or 0)
    return {"pct": pct(fee.pct), "amount": fee.amount if amount is not None else None,
            "fee": fee.fee if amount is not None else None, "clauses": list(fee.clauses)}


def deposit(policy: Policy) -> dict[str, Any]:
    """Contract deposit."""
    d = _guard(calc.deposit, policy)
    return {"amount": d.amount, "refundable": d.refundable_on_cancel, "clauses": list(d.clauses)}


def software_payments(policy: Policy, amount: Decimal | None) -> dict[str, Any]:
    """Software instalments (exact; they add up to the amount)."""
    pay = _guard(calc.software_payments, policy, amount or 0)
    return {"pcts": [pct(p) for p in pay.pcts], "final_days": pay.final_days,
            "amount": pay.amount if amount is not None else None,
            "installments": list(pay.installments) if amount is not None else [],
            "clauses": [*pay.clauses, "payment.online_platform"]}


def hardware_payments(policy: Policy) -> dict[str, Any]:
    """Hardware payment terms."""
    standard, custom = _guard(calc.hardware_terms, policy), _guard(calc.hardware_terms, policy, custom=True)
    return {"return_days": standard.return_days, "standard": standard.when, "custom": custom.when,
            "clauses": [*standard.clauses, "payment.paid_repair"]}


def channels(policy: Policy) -> dict[str, Any]:
    """Official payment channels."""
    r = _guard(calc.rule, policy, "payment.private_deals")
    return {"clauses": list(r.clauses)}
