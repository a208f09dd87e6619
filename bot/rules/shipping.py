"""Who pays shipping for a depot repair (policy §2): in warranty each side pays the leg it sends;
out of warranty (or excluded damage) the customer pays all; an in-warranty quality fault gets
the company paying one delivery."""

from __future__ import annotations

from dataclasses import dataclass

from bot.rules.policy import Policy
from bot.rules.result import Result


@dataclass(frozen=True, kw_only=True)
class ShippingCost(Result):
    """The payer of each leg: ``inbound`` (customer → us) and ``outbound`` (us → customer)."""

    inbound: str  # customer | company
    outbound: str
    company_legs: int


def _payer(rule: str, leg: str) -> str:
    if rule == "sender":
        return "customer" if leg == "inbound" else "company"
    return rule


def shipping_cost(
    policy: Policy, *, in_warranty: bool, quality_fault: bool = False, excluded: bool = False,
) -> ShippingCost:
    """Who pays each leg of a returned unit's trip."""
    s = policy.shipping
    if excluded or not in_warranty:
        rule = s.excluded if excluded else s.out_of_warranty
        clauses = (["warranty.exclusions"] if excluded else []) + ["shipping.out_of_warranty"]
        inbound, outbound = _payer(rule, "inbound"), _payer(rule, "outbound")
        why = "excluded damage" if excluded else "out of warranty"
    else:
        inbound, outbound = _payer(s.in_warranty, "inbound"), _payer(s.in_warranty, "outbound")
        clauses = ["shipping.in_warranty"]
        why = "in warranty"
        if quality_fault:
            legs = [inbound, outbound]
            need = s.quality_fault_company_legs - legs.count("company")
            for i in (1, 0):  # the company pays the return delivery first
                if need > 0 and legs[i] != "company":
                    legs[i], need = "company", need - 1
            inbound, outbound = legs
            clauses.append("shipping.quality_fault")
            why += ", quality fault"
    company_legs = [inbound, outbound].count("company")
    return ShippingCost(inbound=inbound, outbound=outbound, company_legs=company_legs, clauses=clauses,
                        reason=f"{why}: to us paid by {inbound}, back paid by {outbound}")
