"""Loading and validating the policy file (TOML) into typed, read-only objects.

``load_policy(path)`` reads a file (the built-in ``default_policy.toml`` when ``path`` is None) and
returns a frozen :class:`Policy`; any problem raises :class:`PolicyError` whose message names the
file, the key (dotted, list items by index) and the problem. Types are strict: ``"7"`` is not a
number and ``1`` is not ``true``. Money fields are :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.rules.wording import tidy

DEFAULT_POLICY = Path(str(resources.files("bot.rules").joinpath("default_policy.toml")))

CONTRACT_TYPES = ("annual", "per_visit", "none")
ZONES = ("city", "suburb")
EVENTS = ("acceptance", "express", "freight", "sale")
KINDS = ("product", "project")

# clause ids the calculators cite; each must be present in the file's [clauses] table
REQUIRED_CLAUSES = (
    "warranty.return", "warranty.exchange", "warranty.repair", "warranty.lifetime",
    "warranty.sample_return", "warranty.repeat_return",
    "warranty.start.acceptance", "warranty.start.express", "warranty.start.freight", "warranty.start.sale",
    "warranty.software_year", "warranty.exclusions",
    "sla.first_response", "sla.answer", "sla.onsite.city", "sla.onsite.suburb", "sla.fix.general",
    "sla.fix.complex", "sla.depot.in_warranty", "sla.depot.out_of_warranty", "sla.loaner",
    "shipping.in_warranty", "shipping.out_of_warranty", "shipping.quality_fault",
    "fee.free_when_covered", "fee.onsite.city", "fee.onsite.suburb", "fee.onsite.contact_letters",
    "fee.labour.hour", "fee.phone.ordinary", "fee.phone.hard", "fee.remote.software", "fee.remote.system",
    "fee.training.basic", "fee.training.advanced", "fee.maintenance_contract", "fee.proxy_purchase",
    "payment.deposit", "payment.software", "payment.hardware", "payment.online_platform",
    "payment.paid_repair", "payment.private_deals",
    "complaint.repeat_fault", "complaint.multiple_faults", "duty.hours", "satisfaction.scores",
)


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; the message names the file, key and problem."""


def _decimal(value: Any) -> Decimal:
    """A money/percentage value: TOML integer, float or a decimal string ("123.45")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number")
    try:
        out = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a number") from None
    if not out.is_finite():
        raise ValueError("must be a finite number")
    return out


Money = Annotated[Decimal, BeforeValidator(_decimal), Field(ge=0)]
Percent = Annotated[Decimal, BeforeValidator(_decimal), Field(ge=0, le=100)]
Days = Annotated[int, Field(ge=0, le=3650)]
Count = Annotated[int, Field(ge=1, le=1000)]
Hours = Annotated[int, Field(ge=1, le=24 * 365)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- warranty ------------------------------------------------------------------------------------


class WarrantyStart(_Section):
    """Days after each event's date on which the warranty starts."""

    acceptance_days: Days
    express_days: Days
    freight_days: Days
    sale_days: Days


class SoftwareYear(_Section):
    """Software service year: from day 1 of the month ``start_month_offset`` after signing."""

    start_month_offset: Annotated[int, Field(ge=0, le=24)]
    months: Annotated[int, Field(ge=1, le=120)]


class Exclusion(_Section):
    """One "not covered" case, worded in both locales."""

    key: str
    zh: str
    en: str


class Warranty(_Section):
    """Warranty windows (policy §1)."""

    return_days: Count
    exchange_days: Count
    repair_years_product: Annotated[int, Field(ge=1, le=50)]
    repair_years_project: Annotated[int, Field(ge=1, le=50)]
    lifetime: bool
    sample_return_months: Annotated[int, Field(ge=0, le=120)]
    repeat_return_times: Count
    repeat_return_months: Annotated[int, Field(ge=1, le=120)]
    start: WarrantyStart
    software_year: SoftwareYear
    exclusions: list[Exclusion]


# --- SLA and contracts ---------------------------------------------------------------------------


SlaCalendarName = Literal["duty", "24x7"]
SLA_CLOCKS = ("first_response", "onsite", "fix", "loaner")


class SlaCalendar(_Section):
    """The service calendar each hour-counted SLA clause runs on (issue 14): ``duty`` counts only
    the duty window of the roster file (08:00–22:30 every day by default), ``24x7`` every hour."""

    first_response: SlaCalendarName = "duty"
    onsite: SlaCalendarName = "duty"
    fix: SlaCalendarName = "duty"
    loaner: SlaCalendarName = "duty"


class Sla(_Section):
    """Response and repair times (policy §2)."""

    calendar: SlaCalendar = SlaCalendar()

    first_response_hours: Hours
    answer_working_days: Count
    onsite_city_hours: Hours
    onsite_suburb_hours: Hours
    fix_general_hours: Hours
    fix_complex_hours: Hours
    depot_in_warranty_working_days: Count
    depot_out_of_warranty_days: Count
    loaner_after_hours: Hours


class ContractTerms(_Section):
    """What one contract type gets."""

    free_when_paid_up: bool
    loaner: bool


class Contracts(_Section):
    """Per customer contract type: annual contract, per visit, none."""

    annual: ContractTerms
    per_visit: ContractTerms
    none: ContractTerms


# --- fees ----------------------------------------------------------------------------------------


class OnsiteZone(_Section):
    """Per-visit prices of one zone."""

    districts: list[str]
    first_visit: Money
    extra_visit: Money
    transport_trip: Money


class Onsite(_Section):
    """Per-visit on-site prices by zone."""

    city: OnsiteZone
    suburb: OnsiteZone


class AnnualRow(_Section):
    """One annual-maintenance price: an item, optionally one tier of it (by count or size)."""

    item: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    by: Literal["count", "size"] | None = None
    min: Annotated[int, Field(ge=1)] | None = None
    max: Annotated[int, Field(ge=1)] | None = None
    price: Money
    clause: Annotated[str, Field(pattern=r"^fee\.annual\.[a-z0-9_]+$")]


class Fees(_Section):
    """Fees (policy §3)."""

    labour_hour: Money
    included_hours: Annotated[int, Field(ge=1, le=24)]
    contact_letters_max: Annotated[int, Field(ge=0, le=20)]
    phone_ordinary: Money
    phone_hard: Money
    remote_software: Money
    remote_system: Money
    training_basic: Money
    training_advanced: Money
    maintenance_software_pct: Percent
    maintenance_hardware_pct: Percent
    maintenance_from_year: Annotated[int, Field(ge=1, le=50)]
    proxy_pct: Percent
    onsite: Onsite
    annual: list[AnnualRow]


class Payment(_Section):
    """Payment terms (policy §3.4)."""

    deposit: Money
    software_pcts: Annotated[list[Percent], Field(min_length=1, max_length=12)]
    software_final_days: Days
    hardware_return_days: Days


Payer = Literal["customer", "company", "sender"]


class Shipping(_Section):
    """Who pays shipping of depot repairs."""

    in_warranty: Payer
    out_of_warranty: Payer
    quality_fault_company_legs: Annotated[int, Field(ge=0, le=2)]
    excluded: Payer


class Complaint(_Section):
    """When a report becomes a complaint automatically (policy §5)."""

    repeat_after_repairs: Count
    different_faults: Annotated[int, Field(ge=2, le=100)]
    within_months: Annotated[int, Field(ge=1, le=120)]


# --- dispatch / satisfaction (used by bot/dispatch/routing.py, bot/tickets/work.py) -----------------------------


EQUIPMENT_CATEGORIES = ("cctv", "network", "telephone", "access", "pos", "broadcast", "intrusion", "other")


class Dispatch(_Section):
    """Dispatch and escalation timing; the equipment categories a ticket (and a roster layer) may
    have (issue 18: routing by specialty)."""

    ack_timeout_minutes: Annotated[int, Field(ge=1, le=1440)]
    categories: list[str] = Field(default_factory=lambda: list(EQUIPMENT_CATEGORIES))


class Scores(_Section):
    """Satisfaction score of each rating (policy §5)."""

    very_satisfied: int
    satisfied: int
    average: int
    no_opinion: int
    dissatisfied: int


class Satisfaction(_Section):
    """Rating requests and their scores."""

    no_answer_days: Annotated[int, Field(ge=1, le=365)]
    scores: Scores


# Channels an escalation step may use (issue 18): the Telegram card always; "apprise" sends to the
# staff member's Apprise URLs too; "apprise_after_hours" only outside office hours of a working day.
CHANNELS = ("telegram", "apprise", "apprise_after_hours")
Channel = Literal["telegram", "apprise", "apprise_after_hours"]


def _telegram_only() -> list[Channel]:
    return ["telegram"]


class StepChannels(_Section):
    """Which channels each step of the acknowledgement chain uses (``[escalation.channels]``)."""

    dispatch: list[Channel] = Field(default_factory=_telegram_only)
    remind: list[Channel] = Field(default_factory=_telegram_only)
    next: list[Channel] = Field(default_factory=_telegram_only)
    supervisors: list[Channel] = Field(default_factory=_telegram_only)
    repeat: list[Channel] = Field(default_factory=_telegram_only)

    def of(self, step: str) -> tuple[Channel, ...]:
        """The channels of ``step`` (``dispatch``, ``remind``, ``next``, ``supervisors``, ``repeat``)."""
        found: list[Channel] = getattr(self, step)
        return tuple(found)


class Escalation(_Section):
    """The acknowledgement chain: after each ack timeout one step (issue 5, policy §4); then the
    supervisors are reminded every ``repeat_minutes`` (issue 14); a passed response promise is
    renewed to the customer with ``recommit_minutes``; ``channels``: where each step goes."""

    reminders: int = Field(default=1, ge=0, le=5)
    next_engineers: int = Field(default=1, ge=0, le=5)
    repeat_minutes: int = Field(default=30, ge=0, le=1440)  # 0: the supervisors are told once
    repeat_during_duty_hours: bool = True
    recommit_minutes: int = Field(default=60, ge=1, le=1440)
    channels: StepChannels = StepChannels()


class SlaWatch(_Section):
    """When a missed first-response / on-site / fix due time alerts the supervisors."""

    grace_minutes: int = Field(default=0, ge=0, le=1440)


class Report(_Section):
    """Limits of the fault report conversation."""

    symptom_max_chars: int = Field(default=2000, ge=100, le=3500)


class Duplicates(_Section):
    """When a report joins an open ticket instead of opening one (issue 14, bot/tickets/duplicates.py):
    a second report of one customer whose symptom is at least ``similarity`` alike (character-bigram
    Jaccard of the normalised texts, 0–1) to an open ticket's of the last ``similar_within_hours``
    asks "same problem?"; unanswered for ``ask_timeout_minutes`` it is opened as a new ticket."""

    enabled: bool = True  # false: every report opens a ticket of its own (benchmarks of independent faults)
    similar_within_hours: int = Field(default=24, ge=1, le=720)
    similarity: float = Field(default=0.5, gt=0, le=1)
    ask_timeout_minutes: int = Field(default=30, ge=1, le=1440)


class Clause(_Section):
    """A clause's seed reference and wording."""

    source: str
    zh: str
    en: str


class Policy(_Section):
    """The whole policy file."""

    warranty: Warranty
    sla: Sla
    contracts: Contracts
    fees: Fees
    payment: Payment
    shipping: Shipping
    complaint: Complaint
    dispatch: Dispatch
    satisfaction: Satisfaction
    escalation: Escalation = Escalation()
    sla_watch: SlaWatch = SlaWatch()
    report: Report = Report()
    duplicates: Duplicates = Duplicates()
    clauses: dict[str, Clause]

    def clause(self, clause_id: str) -> Clause | None:
        """Wording and source of ``clause_id`` (annual rows: a generated entry)."""
        found = self.clauses.get(clause_id)
        if found is None and any(row.clause == clause_id for row in self.fees.annual):
            return Clause(source="S4 按年维护", zh=clause_id, en=clause_id)
        return found

    def clause_text(self, clause_id: str, locale: str = "zh") -> str:
        """The clause's wording in ``locale`` with ``{dotted.key}`` placeholders filled from the file."""
        found = self.clause(clause_id)
        if found is None:
            raise KeyError(clause_id)
        text = found.en if locale == "en" else found.zh
        filled = PLACEHOLDER.sub(lambda m: _show(self.value(m.group(1)), locale), text)
        return tidy(filled, locale)

    def value(self, key: str) -> Any:
        """The value at dotted ``key`` (``fees.onsite.city.first_visit``); KeyError if absent."""
        node: Any = self
        for part in key.split("."):
            if isinstance(node, BaseModel) and part in type(node).model_fields:
                node = getattr(node, part)
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise KeyError(key)
        return node

    def annual_items(self) -> list[str]:
        """Item keys of the annual price list, in file order."""
        return list(dict.fromkeys(row.item for row in self.fees.annual))


PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")


def _show(value: Any, locale: str) -> str:
    """A value inside a clause's wording: 400, 299.50, 20/40/40, 罗湖、福田."""
    if isinstance(value, bool):
        return ("是" if value else "否") if locale != "en" else ("yes" if value else "no")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, list):
        if all(isinstance(v, Decimal) for v in value):
            return "/".join(_show(v, locale) for v in value)
        return ("、" if locale != "en" else ", ").join(_show(v, locale) for v in value)
    return str(value)


# --- cross-field checks --------------------------------------------------------------------------


def _problems(policy: Policy) -> list[tuple[str, str]]:
    """(key, problem) pairs a field-by-field check cannot see."""
    out: list[tuple[str, str]] = []
    w = policy.warranty
    if w.exchange_days <= w.return_days:
        out.append(("warranty.exchange_days", f"must be greater than warranty.return_days ({w.return_days})"))
    keys = [e.key for e in w.exclusions]
    if len(set(keys)) != len(keys):
        out.append(("warranty.exclusions", "duplicate key"))
    total = sum(policy.payment.software_pcts, Decimal(0))
    if total != 100:
        out.append(("payment.software_pcts", f"must add up to 100 (they add up to {total})"))
    out += _annual_problems(policy.fees.annual)
    listed = set(policy.clauses)
    for cid in REQUIRED_CLAUSES:
        if cid not in listed:
            out.append((f"clauses.{cid}", "missing clause"))
    annual_ids = {row.clause for row in policy.fees.annual}
    for cid in listed - set(REQUIRED_CLAUSES) - annual_ids:
        out.append((f"clauses.{cid}", "unknown clause id"))
    for cid, clause in policy.clauses.items():
        for lang in ("zh", "en"):
            for key in PLACEHOLDER.findall(getattr(clause, lang)):
                try:
                    found = policy.value(key)
                except KeyError:
                    out.append((f"clauses.{cid}.{lang}", f"{{{key}}} is not a key of this file"))
                    continue
                if isinstance(found, BaseModel | dict):
                    out.append((f"clauses.{cid}.{lang}", f"{{{key}}} is a section, not a value"))
    cats = policy.dispatch.categories
    if not cats or len(set(cats)) != len(cats) or any(not c or not c.isidentifier() for c in cats):
        out.append(("dispatch.categories", "must be distinct, non-empty names (letters, digits, _)"))
    for step in type(policy.escalation.channels).model_fields:
        chosen = policy.escalation.channels.of(step)
        if "telegram" not in chosen:
            out.append((f"escalation.channels.{step}", "must include \"telegram\" (the card to acknowledge)"))
        if len(set(chosen)) != len(chosen):
            out.append((f"escalation.channels.{step}", "duplicate channel"))
    city = set(policy.fees.onsite.city.districts)
    if city & set(policy.fees.onsite.suburb.districts):
        out.append(("fees.onsite.suburb.districts", "a district is in both zones"))
    return out


def _annual_problems(rows: list[AnnualRow]) -> list[tuple[str, str]]:
    """Tiers of one item: same ``by``, start at 1, contiguous, no overlap, only the last open."""
    out: list[tuple[str, str]] = []
    by_item: dict[str, list[tuple[int, AnnualRow]]] = {}
    seen_clauses: dict[str, int] = {}
    for i, row in enumerate(rows):
        by_item.setdefault(row.item, []).append((i, row))
        if row.clause in seen_clauses:
            out.append((f"fees.annual.{i}.clause", f"duplicate clause id (also row {seen_clauses[row.clause]})"))
        seen_clauses.setdefault(row.clause, i)
    for item, group in by_item.items():
        first_i = group[0][0]
        if {r.by for _, r in group} != {group[0][1].by}:
            out.append((f"fees.annual.{first_i}.by", f"all rows of {item!r} need the same 'by'"))
            continue
        if group[0][1].by is None:
            if len(group) > 1:
                out.append((f"fees.annual.{group[1][0]}.item", f"{item!r} has no 'by' but more than one row"))
            for i, r in group:
                if r.min is not None or r.max is not None:
                    out.append((f"fees.annual.{i}.min", f"{item!r} has no 'by': min/max not allowed"))
            continue
        tiers = sorted(group, key=lambda ir: ir[1].min or 0)
        expected = 1
        for n, (i, r) in enumerate(tiers):
            if r.min is None:
                out.append((f"fees.annual.{i}.min", "a tier needs min"))
                break
            if r.max is not None and r.max < r.min:
                out.append((f"fees.annual.{i}.max", f"max {r.max} is below min {r.min}"))
                break
            if r.min < expected:
                out.append((f"fees.annual.{i}.min",
                            f"tier {r.min}–{r.max or ''} of {item!r} overlaps the tier ending at {expected - 1}"))
                break
            if r.min > expected:
                out.append((f"fees.annual.{i}.min", f"gap in the tiers of {item!r}: nothing covers {expected}–{r.min - 1}"))
                break
            if r.max is None and n != len(tiers) - 1:
                out.append((f"fees.annual.{i}.max", f"only the last tier of {item!r} may be open-ended"))
                break
            expected = (r.max or 0) + 1
    return out


def parse_policy(raw: dict[str, Any], file: Path | str = "<policy>") -> Policy:
    """Validate a parsed TOML mapping; PolicyError("file: key: problem") on the first problem."""
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "missing key"
        elif "input" in err and err["type"] != "missing":
            msg = f"{msg} (got {err['input']!r})"
        raise PolicyError(f"{file}: {key}: {msg}") from None
    problems = _problems(policy)
    if problems:
        key, msg = problems[0]
        raise PolicyError(f"{file}: {key}: {msg}")
    return policy


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and validate a policy file (the built-in default when ``path`` is None)."""
    file = Path(path) if path else DEFAULT_POLICY
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{file}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{file}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}") from None
    return parse_policy(raw, file)
