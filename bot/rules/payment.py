"""Payment calculators (policy §3.4): deposit, software instalments, hardware terms, and the
fixed payment rules (online platform, paid repairs, official channels)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from bot.rules.policy import Policy
from bot.rules.result import Result, RulesError, money, non_negative


@dataclass(frozen=True, kw_only=True)
class Deposit(Result):
    """The per-contract deposit."""

    amount: Decimal
    refundable_on_cancel: bool


@dataclass(frozen=True, kw_only=True)
class SoftwarePayments(Result):
    """Software instalments: exact amounts that add up to the price."""

    amount: Decimal
    pcts: list[Decimal]
    installments: list[Decimal]
    final_days: int
    final_due: dt.date | None  # completion + final_days, when the completion date is known


@dataclass(frozen=True, kw_only=True)
class HardwareTerms(Result):
    """When hardware is paid, and the unsatisfied-return window."""

    custom: bool
    when: str  # on_delivery | prepaid
    return_days: int


@dataclass(frozen=True, kw_only=True)
class Rule(Result):
    """A rule without numbers (its wording is the clause text in the policy file)."""

    text: str


def deposit(policy: Policy) -> Deposit:
    """Deposit per contract, paid on signing; not refunded if the customer cancels."""
    amount = money(policy.payment.deposit)
    return Deposit(amount=amount, refundable_on_cancel=False, clauses=["payment.deposit"],
                   reason=f"{amount} per contract on signing, kept if the customer cancels")


def software_payments(
    policy: Policy, amount: Decimal | int | str, *, completed_on: dt.date | None = None,
) -> SoftwarePayments:
    """Instalments (20/40/40 by default), rounded to the cent; the last takes the remainder."""
    total = non_negative("amount", amount)
    pcts = list(policy.payment.software_pcts)
    parts = [money(total * p / 100) for p in pcts[:-1]]
    parts.append(total - sum(parts, Decimal(0)))
    days = policy.payment.software_final_days
    due = completed_on + dt.timedelta(days=days) if completed_on else None
    shown = "/".join(format(p.normalize(), "f") for p in pcts)
    return SoftwarePayments(
        amount=total, pcts=pcts, installments=parts, final_days=days, final_due=due,
        clauses=["payment.software"],
        reason=f"{total} split {shown} % → {' + '.join(str(x) for x in parts)}; last {days} days after completion",
    )


def hardware_terms(policy: Policy, *, custom: bool = False) -> HardwareTerms:
    """Standard parts paid on delivery, custom models prepaid; return within N days if unsatisfied."""
    days = policy.payment.hardware_return_days
    when = "prepaid" if custom else "on_delivery"
    return HardwareTerms(custom=custom, when=when, return_days=days, clauses=["payment.hardware"],
                         reason=f"{'custom model: prepaid' if custom else 'standard parts: paid on delivery'}; "
                                f"{days}-day return if unsatisfied")


def rule(policy: Policy, clause_id: str, locale: str = "zh") -> Rule:
    """A wording-only rule (payment.online_platform, payment.paid_repair, payment.private_deals …)."""
    try:
        text = policy.clause_text(clause_id, locale)
    except KeyError:
        raise RulesError(f"unknown clause {clause_id!r}") from None
    return Rule(text=text, clauses=[clause_id], reason=policy.clause_text(clause_id, "en"))
