"""Fee calculators (policy §3): on-site visits, remote/phone/training, labour, annual maintenance
quotes with tiers, the maintenance contract fee and the proxy-purchase fee. Money is exact.

Annual quote items are keyed as in ``[[fees.annual]]`` (see bot/rules/README.md): tiers
``by = "count"`` price ALL units of an item at the tier of their total count (12 switches →
12 × 320); ``by = "size"`` tiers price each unit by its size (PBX ports, amplifier watts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.rules.policy import ZONES, AnnualRow, Policy
from bot.rules.result import Result, RulesError, money, non_negative

Number = Decimal | int | str


@dataclass(frozen=True, kw_only=True)
class Line:
    """One priced line of a quote."""

    key: str
    qty: Decimal | int
    unit: Decimal
    amount: Decimal
    size: int | None = None
    clause: str | None = None


@dataclass(frozen=True, kw_only=True)
class Fee(Result):
    """A total with its lines."""

    total: Decimal
    lines: list[Line] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AnnualItem:
    """One item of an annual quote: key, quantity and (PBX ports / amplifier watts) size."""

    item: str
    qty: int
    size: int | None = None


@dataclass(frozen=True, kw_only=True)
class MaintenanceFee(Result):
    """Yearly maintenance contract fee from the second year."""

    software: Decimal
    hardware: Decimal
    software_pct: Decimal
    hardware_pct: Decimal
    software_fee: Decimal
    hardware_fee: Decimal
    total: Decimal
    from_year: int


@dataclass(frozen=True, kw_only=True)
class ProxyFee(Result):
    """Proxy-purchase (代购) service fee."""

    amount: Decimal
    pct: Decimal
    fee: Decimal


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesError(f"{name}: must be a whole number ≥ 0, got {value!r}")
    return value


def _line(key: str, qty: Any, unit: Decimal, clause: str, size: int | None = None) -> Line:
    return Line(key=key, qty=qty, unit=money(unit), amount=money(Decimal(qty) * unit), size=size, clause=clause)


def _total(lines: list[Line]) -> Decimal:
    return money(sum((line.amount for line in lines), Decimal(0)))


def zone_of(policy: Policy, district: str) -> str:
    """The on-site zone of a district: listed in a zone's ``districts``, else the open zone."""
    for name in ZONES:
        if district in getattr(policy.fees.onsite, name).districts:
            return name
    for name in ZONES:
        if not getattr(policy.fees.onsite, name).districts:
            return name
    raise RulesError(f"district {district!r} is in no zone")


def onsite_fee(
    policy: Policy, zone: str, *, extra_visits: int = 0, transport_trips: int = 0,
    extra_hours: Number = 0, covered: bool = False, engineers: int = 1,
) -> Fee:
    """Per-visit on-site fee: first visit (per engineer) + extra visits + transport trips + extra
    labour hours.

    ``covered`` (in warranty, or the maintenance fee paid up — see ``contracts.coverage``) → free.
    """
    if zone not in ZONES:
        raise RulesError(f"unknown zone {zone!r} (expected one of {', '.join(ZONES)})")
    extra_visits = _count("extra_visits", extra_visits)
    transport_trips = _count("transport_trips", transport_trips)
    engineers = _count("engineers", engineers)
    if engineers < 1:
        raise RulesError("engineers: at least 1")
    hours = non_negative("extra_hours", extra_hours).normalize()
    z = getattr(policy.fees.onsite, zone)
    clause = f"fee.onsite.{zone}"
    if covered:
        return Fee(total=money(0), lines=[], clauses=["fee.free_when_covered", clause],
                   reason="in warranty or maintenance paid up: on-site service is free")
    lines = [_line("first_visit", engineers, z.first_visit, clause)]
    if extra_visits:
        lines.append(_line("extra_visit", extra_visits, z.extra_visit, clause))
    if transport_trips:
        lines.append(_line("transport_trip", transport_trips, z.transport_trip, clause))
    clauses = [clause]
    if hours:
        lines.append(_line("extra_hour", hours, policy.fees.labour_hour, "fee.labour.hour"))
        clauses.append("fee.labour.hour")
    total = _total(lines)
    parts = " + ".join(f"{ln.qty} × {ln.unit} ({ln.key})" for ln in lines)
    return Fee(total=total, lines=lines, clauses=clauses, reason=f"{zone}: {parts} = {total}")


def labour_fee(policy: Policy, hours: Number) -> Fee:
    """Labour beyond the included time: hours × the hourly rate."""
    h = non_negative("hours", hours).normalize()
    lines = [_line("extra_hour", h, policy.fees.labour_hour, "fee.labour.hour")]
    total = _total(lines)
    return Fee(total=total, lines=lines, clauses=["fee.labour.hour"],
               reason=f"{h} h × {money(policy.fees.labour_hour)} = {total}")


def _simple(key: str, qty: int, unit: Decimal, clause: str, covered: bool, what: str) -> Fee:
    qty = _count("count", qty)
    if covered:
        return Fee(total=money(0), lines=[], clauses=["fee.free_when_covered", clause],
                   reason=f"in warranty or maintenance paid up: {what} is free")
    lines = [_line(key, qty, unit, clause)]
    total = _total(lines)
    return Fee(total=total, lines=lines, clauses=[clause], reason=f"{what}: {qty} × {money(unit)} = {total}")


def remote_fee(policy: Policy, kind: str, *, cases: int = 1, covered: bool = False) -> Fee:
    """Remote fix per case: ``kind`` software or system fault."""
    if kind not in ("software", "system"):
        raise RulesError(f"unknown remote kind {kind!r} (expected software or system)")
    unit = getattr(policy.fees, f"remote_{kind}")
    return _simple(f"remote_{kind}", cases, unit, f"fee.remote.{kind}", covered, f"remote {kind} fix")


def phone_fee(policy: Policy, kind: str, *, calls: int = 1, covered: bool = False) -> Fee:
    """Phone support per call: ``kind`` ordinary (free by default) or hard."""
    if kind not in ("ordinary", "hard"):
        raise RulesError(f"unknown phone kind {kind!r} (expected ordinary or hard)")
    unit = getattr(policy.fees, f"phone_{kind}")
    return _simple(f"phone_{kind}", calls, unit, f"fee.phone.{kind}", covered, f"phone support ({kind})")


def training_fee(policy: Policy, level: str, *, people: int = 1, days: int = 1) -> Fee:
    """Training: people × days × the level's price per person per day."""
    if level not in ("basic", "advanced"):
        raise RulesError(f"unknown training level {level!r} (expected basic or advanced)")
    people, days = _count("people", people), _count("days", days)
    unit = getattr(policy.fees, f"training_{level}")
    clause = f"fee.training.{level}"
    lines = [_line(f"training_{level}", people * days, unit, clause)]
    total = _total(lines)
    return Fee(total=total, lines=lines, clauses=[clause],
               reason=f"{level} training: {people} person(s) × {days} day(s) × {money(unit)} = {total}")


# --- annual maintenance ----------------------------------------------------------------------------


def _rows(policy: Policy, item: str) -> list[AnnualRow]:
    rows = [r for r in policy.fees.annual if r.item == item]
    if not rows:
        raise RulesError(f"unknown item {item!r} (items: {', '.join(policy.annual_items())})")
    return rows


def annual_row(policy: Policy, item: str, measure: int | None) -> AnnualRow:
    """The price row of ``item`` for ``measure`` (total count or unit size, per the row's ``by``)."""
    rows = _rows(policy, item)
    if rows[0].by is None:
        return rows[0]
    if measure is None:
        raise RulesError(f"{item}: needs a size ({'ports' if item == 'pbx' else 'watts' if item == 'amplifier' else 'size'})")
    for row in rows:
        if row.min is not None and measure >= row.min and (row.max is None or measure <= row.max):
            return row
    raise RulesError(f"{item}: no price tier for {measure}")


def annual_quote(policy: Policy, items: list[AnnualItem]) -> Fee:
    """Annual maintenance quote: one line per item (per size for sized items), with tiers."""
    totals: dict[str, int] = {}
    for it in items:
        if _count(f"{it.item} quantity", it.qty) == 0:
            raise RulesError(f"{it.item}: quantity must be at least 1")
        if it.size is not None and (isinstance(it.size, bool) or not isinstance(it.size, int) or it.size < 1):
            raise RulesError(f"{it.item}: size must be a whole number ≥ 1, got {it.size!r}")
        totals[it.item] = totals.get(it.item, 0) + it.qty
    lines: list[Line] = []
    clauses: list[str] = []
    for it in items:
        rows = _rows(policy, it.item)
        by = rows[0].by
        if by != "size" and it.size is not None:
            raise RulesError(f"{it.item}: has no size tiers (drop ':{it.size}')")
        row = annual_row(policy, it.item, totals[it.item] if by == "count" else it.size)
        lines.append(_line(it.item, it.qty, row.price, row.clause, size=it.size))
        if row.clause not in clauses:
            clauses.append(row.clause)
    total = _total(lines)
    parts = ", ".join(f"{ln.key}{f':{ln.size}' if ln.size else ''} {ln.qty} × {ln.unit}" for ln in lines)
    return Fee(total=total, lines=lines, clauses=clauses, reason=f"annual maintenance: {parts} = {total}")


def parse_annual_item(spec: str) -> AnnualItem:
    """``KEY[:SIZE]=QTY`` (e.g. ``switch=12``, ``pbx:80=1``) → AnnualItem; RulesError if malformed."""
    head, sep, qty = spec.partition("=")
    key, _, size = head.partition(":")
    key = key.strip().lower()
    if not sep or not key or not qty.strip().isdigit() or (size and not size.strip().isdigit()):
        raise RulesError(f"item {spec!r}: expected KEY[:SIZE]=QTY, e.g. switch=12 or pbx:80=1")
    return AnnualItem(item=key, qty=int(qty), size=int(size) if size else None)


# --- contract fees ------------------------------------------------------------------------------


def maintenance_fee(policy: Policy, software: Number = 0, hardware: Number = 0) -> MaintenanceFee:
    """From the second year: software price × 20 % + hardware price × 10 % (hardware bought from us)."""
    f = policy.fees
    sw, hw = non_negative("software", software), non_negative("hardware", hardware)
    sw_fee = money(sw * f.maintenance_software_pct / 100)
    hw_fee = money(hw * f.maintenance_hardware_pct / 100)
    total = sw_fee + hw_fee
    return MaintenanceFee(
        software=sw, hardware=hw, software_pct=f.maintenance_software_pct, hardware_pct=f.maintenance_hardware_pct,
        software_fee=sw_fee, hardware_fee=hw_fee, total=total, from_year=f.maintenance_from_year,
        clauses=["fee.maintenance_contract"],
        reason=(f"{sw} × {f.maintenance_software_pct} % + {hw} × {f.maintenance_hardware_pct} % = {total} "
                f"per year from year {f.maintenance_from_year}"),
    )


def proxy_fee(policy: Policy, amount: Number) -> ProxyFee:
    """Buying on the customer's behalf: the policy's percentage of the amount."""
    a = non_negative("amount", amount)
    pct = policy.fees.proxy_pct
    fee = money(a * pct / 100)
    return ProxyFee(amount=a, pct=pct, fee=fee, clauses=["fee.proxy_purchase"],
                    reason=f"{a} × {pct} % = {fee}")
