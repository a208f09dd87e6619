"""The complaint rule (policy §5): a report becomes a complaint when the same fault comes back
after ≥ 1 repair/replacement, or the same equipment has ≥ 2 different faults within a year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.rules.policy import Policy
from bot.rules.result import Result, add_months


@dataclass(frozen=True, kw_only=True)
class PastFault:
    """An earlier fault of the same equipment: when, which fault, and whether it was repaired/replaced."""

    date: dt.date
    fault: str
    repaired: bool = True


@dataclass(frozen=True, kw_only=True)
class ComplaintCheck(Result):
    """Whether a new report is a complaint, and by which rule."""

    complaint: bool
    rule: str | None  # repeat_fault | multiple_faults | None
    repairs_of_same_fault: int
    different_faults: int


def complaint_check(policy: Policy, fault: str, history: list[PastFault], on: dt.date) -> ComplaintCheck:
    """Apply both complaint rules to a new report of ``fault`` on ``on`` given the equipment's history."""
    c = policy.complaint
    repairs = sum(1 for h in history if h.fault == fault and h.repaired and h.date <= on)
    since = add_months(on, -c.within_months)
    distinct = {h.fault for h in history if since < h.date <= on} | {fault}
    if repairs >= c.repeat_after_repairs:
        return ComplaintCheck(complaint=True, rule="repeat_fault", repairs_of_same_fault=repairs,
                              different_faults=len(distinct), clauses=["complaint.repeat_fault"],
                              reason=f"the same fault is back after {repairs} repair(s)/replacement(s)")
    if len(distinct) >= c.different_faults:
        return ComplaintCheck(complaint=True, rule="multiple_faults", repairs_of_same_fault=repairs,
                              different_faults=len(distinct), clauses=["complaint.multiple_faults"],
                              reason=f"{len(distinct)} different faults since {since.isoformat()}")
    return ComplaintCheck(complaint=False, rule=None, repairs_of_same_fault=repairs,
                          different_faults=len(distinct),
                          clauses=["complaint.repeat_fault", "complaint.multiple_faults"],
                          reason="neither complaint rule applies")
