"""What a customer is promised when a report is submitted, from the policy (no Telegram, no DB).

Every number comes from H1's calculators (``bot.rules.calculators``): first response and on-site
hours for the customer's zone, the warranty stage of the chosen equipment, whether a visit would be
charged (warranty or a paid-up maintenance contract makes it free) and the first-visit fee. An
unverified reporter gets only the general promise: nothing that depends on registered data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz

from bot.customers.registry import normalize
from bot.rules import calculators as calc
from bot.rules.result import RulesError

SAME_FAULT_SCORE = 60  # fuzzy similarity of two symptom texts that counts as "the same fault"


@dataclass(frozen=True)
class Promise:
    """The response promise and the cost terms shown on the confirmation."""

    first_response_hours: int
    onsite_hours: int | None  # for the customer's zone (verified only)
    onsite_city_hours: int
    onsite_suburb_hours: int
    fix_hours: int
    loaner_after_hours: int | None
    warranty: str | None  # return|exchange|repair|expired, or None (no registered equipment)
    warranty_end: dt.date | None
    charged: bool | None  # None: the desk confirms (unverified, or equipment not registered)
    free_because: str | None  # warranty|contract
    visit_fee: Decimal | None


@dataclass(frozen=True)
class Facts:
    """Registered facts about the reporter's customer and equipment (verified reports only)."""

    zone: str | None = None
    contract_type: str = "none"
    maintenance_paid_until: dt.date | None = None
    kind: str | None = None
    start_event: str | None = None
    start_event_date: dt.date | None = None


def warranty_of(policy: Any, facts: Facts, today: dt.date) -> Any | None:
    """The calculator's WarrantyStatus of the equipment, or None when unknown."""
    if not (facts.kind and facts.start_event and facts.start_event_date):
        return None
    try:
        return calc.warranty_stage(policy, facts.kind, facts.start_event, facts.start_event_date, today)
    except RulesError:  # registered with a future date: the desk checks
        return None


def promise(policy: Any, facts: Facts | None, today: dt.date) -> Promise:
    """The promise for a report made ``today``; ``facts`` None for an unverified reporter."""
    general = calc.sla_promises(policy)
    if facts is None:
        base = calc.response_promise(policy, None, "none")
        return Promise(
            first_response_hours=base.first_response_hours, onsite_hours=None,
            onsite_city_hours=general.onsite_city_hours, onsite_suburb_hours=general.onsite_suburb_hours,
            fix_hours=base.fix_hours, loaner_after_hours=None, warranty=None, warranty_end=None,
            charged=None, free_because=None, visit_fee=None,
        )
    zone = facts.zone if facts.zone in ("city", "suburb") else None
    base = calc.response_promise(policy, zone, facts.contract_type)
    status = warranty_of(policy, facts, today)
    in_warranty = bool(status and status.in_warranty)
    cover = calc.coverage(policy, facts.contract_type, in_warranty=in_warranty,
                          maintenance_paid_until=facts.maintenance_paid_until, on=today)
    fee = calc.onsite_fee(policy, zone).total if zone and not cover.free else None
    return Promise(
        first_response_hours=base.first_response_hours, onsite_hours=base.onsite_hours,
        onsite_city_hours=general.onsite_city_hours, onsite_suburb_hours=general.onsite_suburb_hours,
        fix_hours=base.fix_hours, loaner_after_hours=base.loaner_after_hours,
        warranty=status.stage if status else None, warranty_end=status.warranty_end if status else None,
        charged=None if (status is None and not cover.free) else not cover.free,
        free_because=("warranty" if in_warranty else "contract") if cover.free else None,
        visit_fee=fee,
    )


def same_fault(a: str, b: str) -> bool:
    """Whether two fault descriptions describe the same fault (fuzzy, normalised)."""
    x, y = normalize(a), normalize(b)
    return bool(x and y) and fuzz.partial_ratio(x, y) >= SAME_FAULT_SCORE


def complaint(policy: Any, symptom: str, history: list[tuple[dt.date, str, bool]], today: dt.date) -> str | None:
    """Policy §5 on a new report: the rule that makes it a complaint, or None.

    ``history`` holds the equipment's earlier faults (date, description, repaired/replaced).
    Descriptions similar to ``symptom`` count as the same fault; every other one as its own.
    """
    past = [
        calc.PastFault(date=day, fault="same" if same_fault(symptom, text) else f"other-{i}", repaired=repaired)
        for i, (day, text, repaired) in enumerate(history)
    ]
    check = calc.complaint_check(policy, "same", past, today)
    return check.rule if check.complaint else None
