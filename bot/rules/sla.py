"""Service levels (policy §2): promises by zone and contract type, due times of a report, depot
turnaround and the loaner rule. Hour promises are counted on the service calendar each clause names
(``[sla.calendar]``: the daily duty window, or 24×7) by ``add_service_time``, the one business-time
arithmetic of the desk; working-day promises follow the official calendar (``bot.roster.calendar``)
unless ``is_workday`` is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.rules.contracts import contract_terms
from bot.rules.policy import ZONES, Policy
from bot.rules.result import Result, RulesError, WorkdayFn, add_working_days


@dataclass(frozen=True)
class ServiceWindow:
    """The daily window an SLA clock runs in: minutes since local midnight (``end`` may be 1440),
    in the time zone ``tz`` (the roster's). Every day of the year: duty covers rest days too."""

    start: int
    end: int
    tz: dt.tzinfo

    def bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The window's open and close instants on local date ``day``."""
        def at(minutes: int) -> dt.datetime:
            d = day + dt.timedelta(days=minutes // 1440)
            m = minutes % 1440
            return dt.datetime.combine(d, dt.time(m // 60, m % 60), tzinfo=self.tz)
        return at(self.start), at(self.end)


def add_service_time(start: dt.datetime, amount: dt.timedelta, window: ServiceWindow | None) -> dt.datetime:
    """``start`` plus ``amount`` of service time: only time inside ``window`` counts (None: every
    hour, 24×7). A start outside the window begins at its next opening. Hand-written: a daily window
    is a few lines of arithmetic, smaller than a business-hours library and its holiday model."""
    if window is None:
        return start + amount
    utc = dt.UTC
    cur = start.astimezone(window.tz)
    left = amount
    for _ in range(3700):  # ten years of days: a bound, never reached with policy-sized hours
        opens, closes = window.bounds(cur.date())
        if cur < opens:
            cur = opens
        if cur >= closes:
            cur = window.bounds(cur.date() + dt.timedelta(days=1))[0]
            continue
        avail = closes.astimezone(utc) - cur.astimezone(utc)
        if left <= avail:
            return (cur.astimezone(utc) + left).astimezone(window.tz).astimezone(start.tzinfo)
        left -= avail
        cur = window.bounds(cur.date() + dt.timedelta(days=1))[0]
    raise RulesError(f"service time {amount} does not fit the calendar")


def service_time_between(a: dt.datetime, b: dt.datetime, window: ServiceWindow | None) -> dt.timedelta:
    """How much service time of ``window`` (None: 24×7) lies in ``[a, b)``; zero when b <= a."""
    if b <= a:
        return dt.timedelta(0)
    if window is None:
        return b - a
    total = dt.timedelta(0)
    day = a.astimezone(window.tz).date()
    last = b.astimezone(window.tz).date()
    while day <= last:
        opens, closes = window.bounds(day)
        lo, hi = max(a, opens), min(b, closes)
        if hi > lo:
            total += hi - lo
        day += dt.timedelta(days=1)
    return total


def clock_of(policy: Policy, clock: str, window: ServiceWindow | None) -> ServiceWindow | None:
    """The window the SLA clock ``clock`` (first_response/onsite/fix/loaner) runs on: ``window``
    for a ``duty`` clause, None (24×7) for a ``24x7`` one."""
    return window if getattr(policy.sla.calendar, clock) == "duty" else None


@dataclass(frozen=True, kw_only=True)
class SlaPromises(Result):
    """Every SLA number, with the on-site promise of ``zone`` (None when unknown)."""

    zone: str | None
    contract_type: str
    first_response_hours: int
    answer_working_days: int
    onsite_hours: int | None
    onsite_city_hours: int
    onsite_suburb_hours: int
    fix_general_hours: int
    fix_complex_hours: int
    depot_in_warranty_working_days: int
    depot_out_of_warranty_days: int
    loaner: bool
    loaner_after_hours: int


@dataclass(frozen=True, kw_only=True)
class SlaDue(Result):
    """Due datetimes of one report (same tz as ``reported_at``; None when not applicable)."""

    reported_at: dt.datetime
    first_response: dt.datetime
    answer: dt.datetime
    onsite: dt.datetime | None
    fix: dt.datetime
    loaner: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class ResponsePromise(Result):
    """What the customer's ticket confirmation promises."""

    first_response_hours: int
    onsite_hours: int | None
    fix_hours: int
    loaner_after_hours: int | None


@dataclass(frozen=True, kw_only=True)
class DepotDue(Result):
    """When a returned unit goes back out."""

    received_on: dt.date
    due: dt.date
    working_days: bool
    days: int


def _zone(zone: str | None) -> str | None:
    if zone is not None and zone not in ZONES:
        raise RulesError(f"unknown zone {zone!r} (expected one of {', '.join(ZONES)})")
    return zone


def onsite_hours(policy: Policy, zone: str | None) -> int | None:
    """Hours to be on site in ``zone`` (None when the zone is unknown)."""
    z = _zone(zone)
    return None if z is None else int(getattr(policy.sla, f"onsite_{z}_hours"))


def sla_promises(policy: Policy, zone: str | None = None, contract_type: str | None = "none") -> SlaPromises:
    """All SLA commitments for a customer in ``zone`` with ``contract_type``."""
    s = policy.sla
    terms = contract_terms(policy, contract_type)
    kind = contract_type or "none"
    clauses = ["sla.first_response", "sla.answer"]
    clauses += [f"sla.onsite.{zone}"] if zone else ["sla.onsite.city", "sla.onsite.suburb"]
    clauses += ["sla.fix.general", "sla.fix.complex", "sla.depot.in_warranty", "sla.depot.out_of_warranty",
                "sla.loaner"]
    hours = onsite_hours(policy, zone)
    return SlaPromises(
        zone=zone, contract_type=kind, first_response_hours=s.first_response_hours,
        answer_working_days=s.answer_working_days, onsite_hours=hours, onsite_city_hours=s.onsite_city_hours,
        onsite_suburb_hours=s.onsite_suburb_hours, fix_general_hours=s.fix_general_hours,
        fix_complex_hours=s.fix_complex_hours, depot_in_warranty_working_days=s.depot_in_warranty_working_days,
        depot_out_of_warranty_days=s.depot_out_of_warranty_days, loaner=terms.loaner,
        loaner_after_hours=s.loaner_after_hours, clauses=clauses,
        reason=(f"response {s.first_response_hours} h, on site "
                f"{f'{hours} h' if hours else f'{s.onsite_city_hours}/{s.onsite_suburb_hours} h'}, fix "
                f"{s.fix_general_hours}/{s.fix_complex_hours} h; loaner: {'yes' if terms.loaner else 'no'}"),
    )


def sla_due_times(
    policy: Policy, reported_at: dt.datetime, zone: str | None = None, *, complex_fault: bool = False,
    contract_type: str | None = "none", is_workday: WorkdayFn | None = None,
    window: ServiceWindow | None = None,
) -> SlaDue:
    """Due times of a report: first response, answer (working days), on site (by zone), fix, loaner.

    Hour promises run on the calendar their clause names (``[sla.calendar]``): a ``duty`` clause
    counts only hours inside ``window`` (the roster's duty span), a ``24x7`` one every hour; with
    no ``window`` every clock runs 24×7."""
    s = policy.sla
    hours = onsite_hours(policy, zone)
    fix_h = s.fix_complex_hours if complex_fault else s.fix_general_hours
    terms = contract_terms(policy, contract_type)
    answer_day = add_working_days(reported_at.date(), s.answer_working_days, is_workday)
    answer = dt.datetime.combine(answer_day, reported_at.timetz())
    clauses = ["sla.first_response", "sla.answer"] + ([f"sla.onsite.{zone}"] if zone else [])
    clauses.append("sla.fix.complex" if complex_fault else "sla.fix.general")
    if terms.loaner:
        clauses.append("sla.loaner")
    def due(clock: str, n: int) -> dt.datetime:
        return add_service_time(reported_at, dt.timedelta(hours=n), clock_of(policy, clock, window))

    cal = "" if window is None else f" (duty {window.start // 60:02d}:{window.start % 60:02d}–{window.end // 60:02d}:{window.end % 60:02d})"
    return SlaDue(
        reported_at=reported_at, first_response=due("first_response", s.first_response_hours), answer=answer,
        onsite=due("onsite", hours) if hours is not None else None, fix=due("fix", fix_h),
        loaner=due("loaner", s.loaner_after_hours) if terms.loaner else None, clauses=clauses,
        reason=(f"response +{s.first_response_hours} h, on site "
                f"{f'+{hours} h' if hours is not None else 'unknown zone'}, fix +{fix_h} h{cal}"),
    )


def response_promise(policy: Policy, zone: str | None, contract_type: str | None = "none") -> ResponsePromise:
    """The promise for a ticket confirmation: first response, on site (zone), fix, loaner."""
    s = policy.sla
    hours = onsite_hours(policy, zone)
    terms = contract_terms(policy, contract_type)
    clauses = ["sla.first_response"] + ([f"sla.onsite.{zone}"] if zone else []) + ["sla.fix.general"]
    if terms.loaner:
        clauses.append("sla.loaner")
    return ResponsePromise(
        first_response_hours=s.first_response_hours, onsite_hours=hours, fix_hours=s.fix_general_hours,
        loaner_after_hours=s.loaner_after_hours if terms.loaner else None, clauses=clauses,
        reason=f"engineer responds within {s.first_response_hours} h"
               + (f", on site within {hours} h" if hours is not None else ""),
    )


def depot_due(
    policy: Policy, received_on: dt.date, *, in_warranty: bool, excluded: bool = False,
    is_workday: WorkdayFn | None = None,
) -> DepotDue:
    """In warranty: replacement out within N working days of receipt; otherwise repaired in N days."""
    s = policy.sla
    if in_warranty and not excluded:
        n = s.depot_in_warranty_working_days
        due = add_working_days(received_on, n, is_workday)
        return DepotDue(received_on=received_on, due=due, working_days=True, days=n,
                        clauses=["sla.depot.in_warranty"],
                        reason=f"in warranty: replacement shipped within {n} working day(s), by {due.isoformat()}")
    n = s.depot_out_of_warranty_days
    due = received_on + dt.timedelta(days=n)
    return DepotDue(received_on=received_on, due=due, working_days=False, days=n,
                    clauses=["sla.depot.out_of_warranty"],
                    reason=f"out of warranty or excluded: repaired and shipped within {n} days, by {due.isoformat()}")


def loaner_due(
    policy: Policy, contract_type: str | None, reported_at: dt.datetime, now: dt.datetime,
    window: ServiceWindow | None = None,
) -> bool:
    """True when a loaner is owed: the contract grants one and the fault is open past the limit
    (counted on the loaner clause's calendar, see ``sla_due_times``)."""
    if not contract_terms(policy, contract_type).loaner:
        return False
    limit = dt.timedelta(hours=policy.sla.loaner_after_hours)
    return now >= add_service_time(reported_at, limit, clock_of(policy, "loaner", window))
