"""``sdbot rules …`` (the calculators from the command line) and ``sdbot policy check FILE``.

Every ``rules`` command takes ``--policy FILE`` (default: the POLICY_FILE setting, else the
built-in policy) and ``--json`` (amounts as numbers, dates as ISO strings). Bad arguments exit 2
with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.config import desk_today

PROG = "sdbot rules"


# --- argument types (argparse turns ArgumentTypeError into "error: …", exit 2) ------------------------


def _date(text: str) -> dt.date:
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"amount must be a number ≥ 0: {text!r}")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise argparse.ArgumentTypeError(f"amount has more than 2 decimals: {text!r}")
    return value


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number ≥ 0: {text!r}")
    return int(text)


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _item(text: str) -> Any:
    from bot.rules.fees import parse_annual_item
    from bot.rules.result import RulesError

    try:
        return parse_annual_item(text)
    except RulesError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _past(text: str) -> Any:
    from bot.rules.complaint import PastFault

    date, _, rest = text.partition(":")
    fault, _, flag = rest.partition(":")
    if not fault or flag not in ("", "unrepaired"):
        raise argparse.ArgumentTypeError(f"expected DATE:FAULT[:unrepaired], got {text!r}")
    return PastFault(date=_date(date), fault=fault, repaired=flag != "unrepaired")


# --- registration ---------------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``sdbot policy check`` and ``sdbot rules …`` to the parser."""
    p = sub.add_parser("policy", help="the service policy file")
    policy = p.add_subparsers(dest="policy_cmd", required=True)
    check = policy.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="print {ok, file, error}")
    check.add_argument("--roster", metavar="FILE",
                       help="also check this roster file's layer categories against the policy's")
    check.set_defaults(func=cmd_policy_check)

    rules = sub.add_parser("rules", help="warranty, fee, payment and SLA calculators").add_subparsers(
        dest="rules_cmd", required=True)

    def add(name: str, help_: str, func: Callable[[Any, argparse.Namespace], Any]) -> argparse.ArgumentParser:
        r = rules.add_parser(name, help=help_)
        r.add_argument("--policy", metavar="FILE", help="policy file (default: POLICY_FILE or built-in)")
        r.add_argument("--json", action="store_true", help="print JSON")
        r.set_defaults(func=_runner(func))
        return r

    r = add("service-year", "software service year from the signing date", _service_year)
    r.add_argument("--signed", type=_date, required=True, metavar="DATE")

    r = add("warranty", "warranty stage of equipment on a date", _warranty)
    r.add_argument("--kind", choices=("product", "project"), required=True)
    r.add_argument("--event", choices=("acceptance", "express", "freight", "sale"), required=True)
    r.add_argument("--date", type=_date, required=True, metavar="DATE", help="date of the event")
    r.add_argument("--on", type=_date, metavar="DATE", help="the day asked about (default: today)")

    r = add("onsite", "per-visit on-site fee", _onsite)
    r.add_argument("--zone", choices=("city", "suburb"), required=True)
    r.add_argument("--extra-visits", type=_count, default=0, metavar="N")
    r.add_argument("--transport-trips", type=_count, default=0, metavar="N")
    r.add_argument("--extra-hours", type=_amount, default=Decimal(0), metavar="H")
    r.add_argument("--covered", action="store_true", help="in warranty or maintenance fee paid up: free")

    r = add("annual", "annual maintenance quote", _annual)
    r.add_argument("--item", type=_item, action="append", required=True, metavar="KEY[:SIZE]=QTY",
                   help="e.g. switch=12, pbx:80=1 (ports), amplifier:1000=2 (watts); repeatable")

    r = add("maintenance", "maintenance contract fee (from the second year)", _maintenance)
    r.add_argument("--software", type=_amount, default=Decimal(0), metavar="AMOUNT")
    r.add_argument("--hardware", type=_amount, default=Decimal(0), metavar="AMOUNT")

    r = add("proxy", "proxy-purchase service fee", _proxy)
    r.add_argument("--amount", type=_amount, required=True)

    r = add("software-payments", "software instalments", _software_payments)
    r.add_argument("--amount", type=_amount, required=True)
    r.add_argument("--completed", type=_date, metavar="DATE", help="completion date (final due date)")

    add("deposit", "contract deposit", lambda pol, a: _calc().deposit(pol))
    r = add("hardware-payments", "hardware payment terms", lambda pol, a: _calc().hardware_terms(pol, custom=a.custom))
    r.add_argument("--custom", action="store_true", help="custom model (prepaid)")

    r = add("remote", "remote fix fee", lambda pol, a: _calc().remote_fee(pol, a.kind, cases=a.cases, covered=a.covered))
    r.add_argument("--kind", choices=("software", "system"), required=True)
    r.add_argument("--cases", type=_positive, default=1)
    r.add_argument("--covered", action="store_true")

    r = add("phone", "phone support fee", lambda pol, a: _calc().phone_fee(pol, a.kind, calls=a.calls, covered=a.covered))
    r.add_argument("--kind", choices=("ordinary", "hard"), required=True)
    r.add_argument("--calls", type=_positive, default=1)
    r.add_argument("--covered", action="store_true")

    r = add("training", "training fee", lambda pol, a: _calc().training_fee(pol, a.level, people=a.people, days=a.days))
    r.add_argument("--level", choices=("basic", "advanced"), required=True)
    r.add_argument("--people", type=_positive, default=1)
    r.add_argument("--days", type=_positive, default=1)

    r = add("sla", "response, on-site and fix promises", _sla)
    r.add_argument("--zone", choices=("city", "suburb"))
    r.add_argument("--contract", choices=("annual", "per_visit", "none"), default="none")
    r.add_argument("--reported", metavar="YYYY-MM-DDTHH:MM", help="also print the due times of this report")
    r.add_argument("--complex", action="store_true", help="complex fault (longer fix time)")

    r = add("shipping", "who pays shipping for a depot repair", _shipping)
    r.add_argument("--in-warranty", action="store_true")
    r.add_argument("--quality-fault", action="store_true")
    r.add_argument("--excluded", action="store_true", help="damage not covered (misuse, lightning …)")

    r = add("depot", "when a returned unit goes back out", _depot)
    r.add_argument("--received", type=_date, required=True, metavar="DATE")
    r.add_argument("--in-warranty", action="store_true")
    r.add_argument("--excluded", action="store_true")

    r = add("coverage", "what a contract type gets: free service, loaner", _coverage)
    r.add_argument("--contract", choices=("annual", "per_visit", "none"), required=True)
    r.add_argument("--in-warranty", action="store_true")
    r.add_argument("--paid-until", type=_date, metavar="DATE", help="maintenance fee paid up to")
    r.add_argument("--on", type=_date, metavar="DATE", help="the day asked about (default: today)")

    r = add("returns", "sample return window and repeat-replacement refund", _returns)
    r.add_argument("--delivered", type=_date, metavar="DATE", help="sample delivery date")
    r.add_argument("--replaced", type=_date, action="append", default=[], metavar="DATE",
                   help="date of a replacement (repeatable)")
    r.add_argument("--on", type=_date, metavar="DATE", help="the day asked about (default: today)")

    r = add("complaint", "is a new report a complaint?", _complaint)
    r.add_argument("--fault", required=True, help="the new fault (a short code or description)")
    r.add_argument("--past", action="append", default=[], type=_past, metavar="DATE:FAULT[:unrepaired]",
                   help="an earlier fault of the same equipment (repeatable)")
    r.add_argument("--on", type=_date, metavar="DATE", help="report date (default: today)")

    r = add("exclusions", "what the warranty does not cover", lambda pol, a: _calc().exclusions(pol, a.lang))
    r.add_argument("--lang", choices=("zh", "en"), default="zh")

    r = add("clauses", "every clause id with its source and wording", _clauses)
    r.add_argument("--lang", choices=("zh", "en"), default="zh")


# --- runners --------------------------------------------------------------------------------------


def _calc() -> Any:
    from bot.rules import calculators

    return calculators


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return 2


def _load(path: str | None) -> Any:
    """The policy: --policy FILE, else the POLICY_FILE setting, else the built-in one."""
    from bot.rules.policy import load_policy

    if path:
        return load_policy(path)
    from bot.config import load_settings

    return load_policy(load_settings().policy_file)


def _duty_window() -> Any:
    """The duty window of the desk's roster file (ROSTER_FILE, else the built-in one): the
    service calendar of the ``duty`` SLA clauses, as the desk itself uses it."""
    from zoneinfo import ZoneInfo

    from bot.config import load_settings
    from bot.roster import DEFAULT_ROSTER, load_roster

    roster = load_roster(load_settings().roster_file or DEFAULT_ROSTER)
    return _calc().ServiceWindow(roster.hours.duty_start, roster.hours.duty_end, ZoneInfo(roster.timezone))


def _runner(func: Callable[[Any, argparse.Namespace], Any]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from bot.config import ConfigError
        from bot.rules.policy import PolicyError
        from bot.rules.result import RulesError

        try:
            policy = _load(args.policy)
            result = func(policy, args)
        except (PolicyError, RulesError, ConfigError) as exc:
            return _fail(str(exc))
        _print(result, args.json)
        return 0

    return run


def _print(result: Any, as_json: bool) -> None:
    from bot.rules.result import jsonable

    data = jsonable(result)
    if as_json:
        print(json.dumps(data, ensure_ascii=False), flush=True)
        return
    reason = data.pop("reason", None) if isinstance(data, dict) else None
    clauses = data.pop("clauses", None) if isinstance(data, dict) else None
    if reason:
        print(reason)
    for key, value in (data.items() if isinstance(data, dict) else []):
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key}:")
            for row in value:
                print("  " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None))
        else:
            print(f"{key}: {value}")
    if clauses:
        print("clauses: " + ", ".join(clauses))


def _service_year(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().service_year(policy, a.signed)


def _warranty(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().warranty_stage(policy, a.kind, a.event, a.date, a.on or desk_today())


def _onsite(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().onsite_fee(policy, a.zone, extra_visits=a.extra_visits, transport_trips=a.transport_trips,
                              extra_hours=a.extra_hours, covered=a.covered)


def _annual(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().annual_quote(policy, a.item)


def _maintenance(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().maintenance_fee(policy, a.software, a.hardware)


def _proxy(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().proxy_fee(policy, a.amount)


def _software_payments(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().software_payments(policy, a.amount, completed_on=a.completed)


def _sla(policy: Any, a: argparse.Namespace) -> Any:
    from bot.rules.result import RulesError

    calc = _calc()
    if a.reported is None:
        return calc.sla_promises(policy, a.zone, a.contract)
    try:
        reported = dt.datetime.fromisoformat(a.reported)
    except ValueError:
        raise RulesError(f"--reported: not a date and time (YYYY-MM-DDTHH:MM): {a.reported!r}") from None
    window = _duty_window()
    if reported.tzinfo is None:  # a wall-clock time of the desk: the roster's zone
        reported = reported.replace(tzinfo=window.tz)
    return calc.sla_due_times(policy, reported, a.zone, complex_fault=a.complex, contract_type=a.contract,
                              window=window)


def _shipping(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().shipping_cost(policy, in_warranty=a.in_warranty, quality_fault=a.quality_fault,
                                 excluded=a.excluded)


def _depot(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().depot_due(policy, a.received, in_warranty=a.in_warranty, excluded=a.excluded)


def _coverage(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().coverage(policy, a.contract, in_warranty=a.in_warranty, maintenance_paid_until=a.paid_until,
                            on=a.on or desk_today())


def _returns(policy: Any, a: argparse.Namespace) -> Any:
    calc, on = _calc(), a.on or desk_today()
    repeat = calc.repeat_return(policy, a.replaced, on)
    out: dict[str, Any] = {"repeat_return": repeat.as_json(), "clauses": list(repeat.clauses)}
    if a.delivered:
        sample = calc.sample_return(policy, a.delivered, on)
        out["sample_return"] = sample.as_json()
        out["clauses"] = sample.clauses + out["clauses"]
    return out


def _complaint(policy: Any, a: argparse.Namespace) -> Any:
    return _calc().complaint_check(policy, a.fault, a.past, a.on or desk_today())


def _clauses(policy: Any, a: argparse.Namespace) -> Any:
    rows = [{"id": cid, "source": c.source, "text": policy.clause_text(cid, a.lang)}
            for cid, c in policy.clauses.items()]
    rows += [{"id": r.clause, "source": "S4 按年维护", "text": f"{r.item} {r.min or ''}–{r.max or ''} {r.price}"}
             for r in policy.fees.annual]
    return {"clauses": [r["id"] for r in rows], "entries": rows}


def cmd_policy_check(args: argparse.Namespace) -> int:
    """Validate one policy file; exit 2 with the problem (file, key, problem) when it is invalid."""
    from bot.roster.loader import load_roster
    from bot.roster.model import RosterError
    from bot.rules.policy import PolicyError, load_policy

    try:
        policy = load_policy(args.file)
        if getattr(args, "roster", None):  # categories not in the policy are refused (issue 18)
            load_roster(args.roster, policy.dispatch.categories)
    except (PolicyError, RosterError) as exc:
        if args.json:
            print(json.dumps({"ok": False, "file": args.file, "error": str(exc)}, ensure_ascii=False))
        print(f"sdbot policy check: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"ok": True, "file": args.file, "error": None}))
    else:
        print(f"{args.file}: ok")
    return 0
