"""One import for the rules calculators (pure functions over a loaded ``Policy``).

Each returns a frozen ``Result`` with its values, ``clauses`` (clause ids applied) and a one-line
``reason``; ``.as_json()`` gives numbers for amounts and ISO strings for dates. See README.md.
"""

from bot.rules.complaint import ComplaintCheck, PastFault, complaint_check
from bot.rules.contracts import Coverage, contract_terms, coverage
from bot.rules.fees import (
    AnnualItem,
    Fee,
    Line,
    MaintenanceFee,
    ProxyFee,
    annual_quote,
    annual_row,
    labour_fee,
    maintenance_fee,
    onsite_fee,
    parse_annual_item,
    phone_fee,
    proxy_fee,
    remote_fee,
    training_fee,
    zone_of,
)
from bot.rules.payment import (
    Deposit,
    HardwareTerms,
    SoftwarePayments,
    deposit,
    hardware_terms,
    rule,
    software_payments,
)
from bot.rules.result import (
    Result,
    RulesError,
    add_months,
    add_working_days,
    add_years,
    last_covered_day,
    money,
)
from bot.rules.shipping import ShippingCost, shipping_cost
from bot.rules.sla import (
    DepotDue,
    ResponsePromise,
    ServiceWindow,
    SlaDue,
    SlaPromises,
    add_service_time,
    depot_due,
    loaner_due,
    onsite_hours,
    response_promise,
    service_time_between,
    sla_due_times,
    sla_promises,
)
from bot.rules.warranty import (
    Eligibility,
    Exclusions,
    RepairCharge,
    ServiceYear,
    WarrantyStart,
    WarrantyStatus,
    exclusions,
    repair_charge,
    repeat_return,
    sample_return,
    service_year,
    warranty_stage,
    warranty_start,
    warranty_years,
)

__all__ = [
    "AnnualItem", "ComplaintCheck", "Coverage", "Deposit", "DepotDue", "Eligibility", "Exclusions", "Fee",
    "HardwareTerms", "Line", "MaintenanceFee", "PastFault", "ProxyFee", "RepairCharge", "ResponsePromise",
    "Result", "RulesError", "ServiceYear", "ShippingCost", "SlaDue", "SlaPromises", "SoftwarePayments",
    "WarrantyStart", "WarrantyStatus", "add_months", "add_working_days", "add_years", "annual_quote",
    "annual_row", "complaint_check", "contract_terms", "coverage", "deposit", "depot_due", "exclusions",
    "hardware_terms", "labour_fee", "last_covered_day", "loaner_due", "maintenance_fee", "money", "onsite_fee",
    "onsite_hours", "parse_annual_item", "phone_fee", "proxy_fee", "remote_fee", "repair_charge",
    "repeat_return", "response_promise", "rule", "sample_return", "service_year", "shipping_cost",
    "ServiceWindow", "add_service_time", "service_time_between", "sla_due_times", "sla_promises", "software_payments", "training_fee", "warranty_stage", "warranty_start",
    "warranty_years", "zone_of",
]
