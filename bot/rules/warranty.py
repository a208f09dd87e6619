"""Warranty calculators (policy §1): start date, stage on a date, software service year,
exclusions, sample and repeat returns, and what a repair costs in each stage.

Day counting: the warranty start date is day 1; the return window is days 1..return_days, the
exchange window return_days+1..exchange_days; a warranty of N years starting on D covers up to and
including the day before the same date N years later (29 Feb start → 28 Feb end).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from bot.rules.policy import EVENTS, KINDS, Policy
from bot.rules.result import Result, RulesError, add_months, last_covered_day, money, non_negative

Stage = Literal["return", "exchange", "repair", "expired"]


@dataclass(frozen=True, kw_only=True)
class WarrantyStart(Result):
    """The warranty start date for an event."""

    event: str
    event_date: dt.date
    warranty_start: dt.date


@dataclass(frozen=True, kw_only=True)
class WarrantyStatus(Result):
    """The stage of a piece of equipment on a date, with its windows."""

    stage: Stage
    kind: str
    on: dt.date
    day: int  # day number of ``on`` in the warranty (start = day 1; ≤ 0 before the start)
    warranty_start: dt.date
    warranty_end: dt.date  # last covered day
    return_end: dt.date
    exchange_end: dt.date
    in_warranty: bool
    lifetime: bool  # after the warranty: parts at cost, no labour


@dataclass(frozen=True, kw_only=True)
class ServiceYear(Result):
    """A software contract's service year."""

    signed: dt.date
    start: dt.date
    end: dt.date  # last day of the year


@dataclass(frozen=True, kw_only=True)
class Exclusions(Result):
    """Cases not covered by the warranty, in one locale."""

    keys: list[str]
    entries: list[str]


@dataclass(frozen=True, kw_only=True)
class Eligibility(Result):
    """A yes/no rule with the deciding date."""

    eligible: bool
    deadline: dt.date | None = None
    count: int | None = None


@dataclass(frozen=True, kw_only=True)
class RepairCharge(Result):
    """What a repair costs the customer in a warranty stage."""

    stage: str
    parts: Decimal
    labour: Decimal
    total: Decimal


def _check_event(event: str) -> None:
    if event not in EVENTS:
        raise RulesError(f"unknown event {event!r} (expected one of {', '.join(EVENTS)})")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise RulesError(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})")


def warranty_start(policy: Policy, event: str, date: dt.date) -> WarrantyStart:
    """Warranty start: acceptance date, ship date + 3 (express) / + 5 (freight), sale date."""
    _check_event(event)
    days = getattr(policy.warranty.start, f"{event}_days")
    start = date + dt.timedelta(days=days)
    return WarrantyStart(
        event=event, event_date=date, warranty_start=start, clauses=[f"warranty.start.{event}"],
        reason=f"{event} on {date.isoformat()} + {days} day(s) → warranty starts {start.isoformat()}",
    )


def warranty_years(policy: Policy, kind: str) -> int:
    """Repair warranty in years: products or installed systems (projects)."""
    _check_kind(kind)
    w = policy.warranty
    return w.repair_years_project if kind == "project" else w.repair_years_product


def warranty_stage(policy: Policy, kind: str, event: str, date: dt.date, on: dt.date) -> WarrantyStatus:
    """Stage on ``on``: return (days 1–7), exchange (8–30), repair (to the last covered day), expired.

    A day before the warranty start (goods still on their way) counts as the return window; a day
    before the event itself is an error.
    """
    if on < date:
        raise RulesError(f"the day asked about ({on.isoformat()}) is before the {event} date ({date.isoformat()})")
    begin = warranty_start(policy, event, date)
    w, start = policy.warranty, begin.warranty_start
    years = warranty_years(policy, kind)
    end = last_covered_day(start, years=years)
    return_end = start + dt.timedelta(days=w.return_days - 1)
    exchange_end = start + dt.timedelta(days=w.exchange_days - 1)
    day = (on - start).days + 1
    stage: Stage
    if on <= min(return_end, end):
        stage, clause = "return", "warranty.return"
        why = f"day {day} is within days 1–{w.return_days}: full return"
    elif on <= min(exchange_end, end):
        stage, clause = "exchange", "warranty.exchange"
        why = f"day {day} is within days {w.return_days + 1}–{w.exchange_days}: exchange for new"
    elif on <= end:
        stage, clause = "repair", "warranty.repair"
        why = f"free repair until {end.isoformat()} ({years} year(s) for a {kind})"
    else:
        stage = "expired"
        clause = "warranty.lifetime" if w.lifetime else "warranty.repair"
        why = f"warranty ended {end.isoformat()}" + (
            "; lifetime maintenance: parts at cost, no labour" if w.lifetime else "")
    return WarrantyStatus(
        stage=stage, kind=kind, on=on, day=day, warranty_start=start, warranty_end=end,
        return_end=return_end, exchange_end=exchange_end, in_warranty=stage != "expired",
        lifetime=w.lifetime, clauses=[*begin.clauses, clause], reason=f"{on.isoformat()}: {why}",
    )


def service_year(policy: Policy, signed: dt.date) -> ServiceYear:
    """Software service year: from the 1st of the second month after the signing month, 12 months.

    Signed 13 May → 1 July – 30 June of the next year; signed in December → 1 February – 31 January.
    """
    sy = policy.warranty.software_year
    start = add_months(signed.replace(day=1), sy.start_month_offset)
    end = last_covered_day(start, months=sy.months)
    return ServiceYear(
        signed=signed, start=start, end=end, clauses=["warranty.software_year"],
        reason=f"signed {signed.isoformat()} → service year {start.isoformat()} – {end.isoformat()}",
    )


def exclusions(policy: Policy, locale: str = "zh") -> Exclusions:
    """The "not covered" list, worded in ``locale`` (zh or en)."""
    items = policy.warranty.exclusions
    return Exclusions(
        keys=[e.key for e in items], entries=[e.en if locale == "en" else e.zh for e in items],
        clauses=["warranty.exclusions"],
        reason="excluded damage is paid even inside warranty: parts charged, shipping both ways by the customer",
    )


def sample_return(policy: Policy, delivered: dt.date, on: dt.date, *, unused: bool = True) -> Eligibility:
    """An unused sample in perfect condition may be returned within the policy's months."""
    months = policy.warranty.sample_return_months
    deadline = last_covered_day(delivered, months=months)
    ok = unused and delivered <= on <= deadline
    why = "used samples cannot be returned" if not unused else (
        f"returnable until {deadline.isoformat()}" if ok else f"the window ended {deadline.isoformat()}")
    return Eligibility(eligible=ok, deadline=deadline, clauses=["warranty.sample_return"], reason=why)


def repeat_return(policy: Policy, replacements: list[dt.date], on: dt.date) -> Eligibility:
    """Replaced ≥ N times within M months (up to ``on``) → the customer may demand a refund."""
    w = policy.warranty
    since = add_months(on, -w.repeat_return_months)
    count = sum(1 for d in replacements if since < d <= on)
    ok = count >= w.repeat_return_times
    return Eligibility(
        eligible=ok, count=count, clauses=["warranty.repeat_return"],
        reason=f"{count} replacement(s) since {since.isoformat()}; a refund needs {w.repeat_return_times}",
    )


def repair_charge(
    policy: Policy, status: WarrantyStatus, *, parts_cost: Decimal | int | str = 0,
    labour_hours: Decimal | int | str = 0, excluded: bool = False,
) -> RepairCharge:
    """Cost of a repair: free in warranty; excluded damage pays parts; after the warranty parts at
    cost and no labour (lifetime maintenance), or parts and labour when lifetime is off."""
    parts = non_negative("parts_cost", parts_cost)
    hours = non_negative("labour_hours", labour_hours)
    zero = money(0)
    if excluded:
        return RepairCharge(stage=status.stage, parts=parts, labour=zero, total=parts,
                            clauses=["warranty.exclusions", "payment.paid_repair"],
                            reason="excluded damage: parts charged even inside warranty")
    if status.in_warranty:
        return RepairCharge(stage=status.stage, parts=zero, labour=zero, total=zero,
                            clauses=[status.clauses[-1]], reason="inside warranty: free")
    if policy.warranty.lifetime:
        return RepairCharge(stage=status.stage, parts=parts, labour=zero, total=parts,
                            clauses=["warranty.lifetime", "payment.paid_repair"],
                            reason="lifetime maintenance: parts at cost, no labour charge")
    labour = money(hours * policy.fees.labour_hour)
    return RepairCharge(stage=status.stage, parts=parts, labour=labour, total=parts + labour,
                        clauses=["fee.labour.hour", "payment.paid_repair"],
                        reason="out of warranty: parts and labour charged")
