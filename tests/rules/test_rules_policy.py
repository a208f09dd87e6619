"""The policy file: every clause of policy.md present, strict validation naming file and key,
and edited numbers flowing into the calculators."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from bot.rules import calculators as calc
from bot.rules.policy import DEFAULT_POLICY, REQUIRED_CLAUSES, PolicyError, load_policy


@pytest.fixture(scope="module")
def policy():  # noqa: ANN201
    return load_policy()


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text, old
    out = tmp_path / "policy.toml"
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


def test_default_policy_loads_with_every_required_clause(policy) -> None:  # noqa: ANN001
    assert set(REQUIRED_CLAUSES) <= set(policy.clauses)
    for cid, clause in policy.clauses.items():
        assert clause.source and clause.zh and clause.en, cid


# the clause ids named in shared/spec/policy.md (plus the families fee.onsite.* … fee.annual.*)
SPEC_IDS = [
    "fee.maintenance_contract", "fee.proxy_purchase", "payment.deposit", "payment.hardware",
    "payment.online_platform", "payment.paid_repair", "payment.private_deals", "payment.software",
    "sla.answer", "sla.depot.in_warranty", "sla.depot.out_of_warranty", "sla.first_response",
    "sla.fix.complex", "sla.fix.general", "sla.loaner", "sla.onsite.city", "sla.onsite.suburb",
    "warranty.exchange", "warranty.exclusions", "warranty.lifetime", "warranty.repair",
    "warranty.repeat_return", "warranty.return", "warranty.sample_return",
    "warranty.start.acceptance", "warranty.start.express", "warranty.start.freight",
    "warranty.start.sale",
]


def test_every_clause_id_of_the_spec_is_in_the_file(policy) -> None:  # noqa: ANN001
    known = set(policy.clauses) | {row.clause for row in policy.fees.annual}
    assert set(SPEC_IDS) <= known, set(SPEC_IDS) - known
    for family in ("fee.onsite.", "fee.remote.", "fee.phone.", "fee.training.", "fee.annual."):
        assert any(k.startswith(family) for k in known), family


def test_annual_items_cover_the_spec_table(policy) -> None:  # noqa: ANN001
    assert len(policy.fees.annual) == 26  # 21 items, switch ×3, PBX ×5, amplifier ×3 tiers
    assert set(policy.annual_items()) >= {"switch", "pbx", "amplifier", "camera", "nvr", "info_point", "pos"}


def test_satisfaction_and_dispatch_names_still_work(policy) -> None:  # noqa: ANN001
    assert policy.dispatch.ack_timeout_minutes == 15
    assert policy.satisfaction.no_answer_days == 3
    assert policy.satisfaction.scores.dissatisfied == -5
    assert policy.escalation.reminders == 1 and policy.sla_watch.grace_minutes == 0


def test_money_is_decimal(policy) -> None:  # noqa: ANN001
    assert isinstance(policy.fees.onsite.city.first_visit, Decimal)
    assert isinstance(policy.payment.software_pcts[0], Decimal)


def test_editing_a_number_changes_the_results(tmp_path: Path) -> None:
    base = load_policy()
    assert calc.onsite_fee(base, "city").total == Decimal("400.00")
    changed = load_policy(_edited(tmp_path, "first_visit = 400", "first_visit = 450"))
    assert calc.onsite_fee(changed, "city").total == Decimal("450.00")
    exch = load_policy(_edited(tmp_path, "exchange_days = 30", "exchange_days = 60"))
    st = calc.warranty_stage(exch, "product", "sale", dt.date(2026, 1, 1), dt.date(2026, 2, 20))
    assert st.stage == "exchange"
    money = load_policy(_edited(tmp_path, 'price = 320\nclause = "fee.annual.switch_11_plus"',
                                'price = "299.50"\nclause = "fee.annual.switch_11_plus"'))
    quote = calc.annual_quote(money, [calc.AnnualItem(item="switch", qty=12)])
    assert quote.total == Decimal("3594.00")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("lifetime = true", "lifetime = true\nlifetme = true", "warranty.lifetme", "unknown key"),
        ("return_days = 7", 'return_days = "7"', "warranty.return_days", "integer"),
        ("lifetime = true", "lifetime = 1", "warranty.lifetime", "boolean"),
        ("first_visit = 400", 'first_visit = "four hundred"', "fees.onsite.city.first_visit", "number"),
        ("first_visit = 400", "first_visit = -400", "fees.onsite.city.first_visit", "greater than or equal"),
        ("max = 5 ", "max = 6 ", "fees.annual.2.min", "overlaps"),
        ("max = 10\nprice = 360", "max = 9\nprice = 360", "fees.annual.3.min", "gap"),
        ("min = 51\nmax = 100", "min = 50\nmax = 100", "fees.annual.8.min", "overlaps"),
        ("software_pcts = [20, 40, 40]", "software_pcts = [20, 40, 30]", "payment.software_pcts", "100"),
        ("exchange_days = 30", "exchange_days = 7", "warranty.exchange_days", "greater than"),
        ('"sla.loaner" = {', '"sla.loaner_x" = {', "clauses.sla.loaner", "missing clause"),
        ('in_warranty = "sender"', 'in_warranty = "nobody"', "shipping.in_warranty", "sender"),
        ("ack_timeout_minutes = 15", "", "dispatch.ack_timeout_minutes", "missing key"),
        ("{sla.first_response_hours}小时", "{sla.first_respons_hours}小时", "clauses.sla.first_response.zh",
         "not a key"),
        ("{sla.loaner_after_hours} hours", "{sla} hours", "clauses.sla.loaner.en", "section"),
    ],
)
def test_invalid_files_name_file_key_and_problem(tmp_path: Path, old: str, new: str, key: str, problem: str) -> None:
    path = _edited(tmp_path, old, new)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {key}: "), msg
    assert problem in msg, msg


def test_unreadable_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[warranty\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=f"{re.escape(str(bad))}: not valid TOML"):
        load_policy(bad)


def test_a_custom_item_with_its_own_clause_is_accepted(tmp_path: Path) -> None:
    extra = '[[fees.annual]]\nitem = "ups"\nprice = 120\nclause = "fee.annual.ups"\n\n# --- §3.4'
    pol = load_policy(_edited(tmp_path, "# --- §3.4", extra))
    assert calc.annual_quote(pol, [calc.AnnualItem(item="ups", qty=3)]).total == Decimal("360.00")
    raw = tomllib.loads(DEFAULT_POLICY.read_text(encoding="utf-8"))
    assert "ups" not in {row["item"] for row in raw["fees"]["annual"]}


def test_clause_wording_follows_the_numbers(tmp_path: Path) -> None:
    base = load_policy()
    assert base.clause_text("sla.onsite.city") == "城区4小时内到达现场"
    assert "20/40/40" in base.clause_text("payment.software", "en")
    assert "-5" in base.clause_text("satisfaction.scores")
    edited = load_policy(_edited(tmp_path, "onsite_city_hours = 4", "onsite_city_hours = 3"))
    assert edited.clause_text("sla.onsite.city", "en") == "on site within 3 hours in the city"
    for cid in edited.clauses:
        assert "{" not in edited.clause_text(cid, "zh") + edited.clause_text(cid, "en"), cid
