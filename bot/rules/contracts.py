"""What a customer's contract type changes (annual contract / per visit / none): free service
while in warranty or while the maintenance fee is paid up, and loaner equipment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.rules.policy import CONTRACT_TYPES, ContractTerms, Policy
from bot.rules.result import Result, RulesError


@dataclass(frozen=True, kw_only=True)
class Coverage(Result):
    """Whether phone/remote/on-site service is free, and whether a loaner is due."""

    contract_type: str
    free: bool
    loaner: bool
    maintenance_paid_up: bool


def contract_terms(policy: Policy, contract_type: str | None) -> ContractTerms:
    """The policy's terms of ``contract_type`` (None → "none")."""
    kind = contract_type or "none"
    if kind not in CONTRACT_TYPES:
        raise RulesError(f"unknown contract type {kind!r} (expected one of {', '.join(CONTRACT_TYPES)})")
    terms: ContractTerms = getattr(policy.contracts, kind)
    return terms


def coverage(
    policy: Policy, contract_type: str | None, *, in_warranty: bool = False,
    maintenance_paid_until: dt.date | None = None, on: dt.date | None = None,
) -> Coverage:
    """Service is free in warranty, or for a contract whose maintenance fee is paid up to ``on``."""
    kind = contract_type or "none"
    terms = contract_terms(policy, kind)
    paid_up = bool(terms.free_when_paid_up and maintenance_paid_until is not None
                   and (on is None or maintenance_paid_until >= on))
    free = in_warranty or paid_up
    clauses = (["fee.free_when_covered"] if free else []) + ["sla.loaner"]
    why = ("in warranty" if in_warranty else "maintenance fee paid up" if paid_up else "not covered: fees apply")
    why += "; loaner if not fixed in time" if terms.loaner else "; no loaner"
    return Coverage(contract_type=kind, free=free, loaner=terms.loaner, maintenance_paid_up=paid_up,
                    clauses=clauses, reason=f"{kind} contract: {why}")
