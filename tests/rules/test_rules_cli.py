"""``sdbot rules …`` and ``sdbot policy check`` through ``bot.cli.main.main``: JSON shapes, numbers,
ISO dates, --policy, and exit 2 with a clear message on bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.rules.policy import DEFAULT_POLICY


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    return capsys.readouterr().err


def test_service_year(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "rules", "service-year", "--signed", "2026-05-13", "--json")
    assert (out["start"], out["end"], out["clauses"]) == ("2026-07-01", "2027-06-30", ["warranty.software_year"])


@pytest.mark.parametrize(
    ("on", "stage"), [("2026-01-19", "return"), ("2026-01-20", "exchange"), ("2026-02-11", "exchange"),
                      ("2026-02-12", "repair"), ("2027-01-12", "repair"), ("2027-01-13", "expired")],
)
def test_warranty(capsys: pytest.CaptureFixture[str], on: str, stage: str) -> None:
    out = run(capsys, "rules", "warranty", "--kind", "product", "--event", "express", "--date", "2026-01-10",
              "--on", on, "--json")
    assert out["stage"] == stage
    assert (out["warranty_start"], out["warranty_end"]) == ("2026-01-13", "2027-01-12")
    assert out["clauses"][0] == "warranty.start.express"


def test_onsite(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "rules", "onsite", "--zone", "suburb", "--extra-visits", "1", "--transport-trips", "2",
              "--extra-hours", "1.5", "--json")
    assert out["total"] == 2080 and isinstance(out["total"], int)
    assert [line["key"] for line in out["lines"]] == ["first_visit", "extra_visit", "transport_trip", "extra_hour"]
    assert out["clauses"] == ["fee.onsite.suburb", "fee.labour.hour"]
    free = run(capsys, "rules", "onsite", "--zone", "city", "--covered", "--json")
    assert free["total"] == 0 and "fee.free_when_covered" in free["clauses"]


def test_annual(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "rules", "annual", "--item", "switch=12", "--item", "pbx:80=1", "--item", "amplifier:1000=2",
              "--json")
    assert out["total"] == 6040
    assert [(ln["key"], ln["qty"], ln["unit"], ln["amount"]) for ln in out["lines"]] == [
        ("switch", 12, 320, 3840), ("pbx", 1, 1000, 1000), ("amplifier", 2, 600, 1200)]
    assert out["clauses"] == ["fee.annual.switch_11_plus", "fee.annual.pbx_100", "fee.annual.amplifier_1500"]


def test_maintenance_proxy_payments(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "rules", "maintenance", "--software", "10000", "--hardware", "5000.5", "--json")["total"] == 2500.05
    proxy = run(capsys, "rules", "proxy", "--amount", "1234.56", "--json")
    assert proxy["fee"] == 123.46 and proxy["clauses"] == ["fee.proxy_purchase"]
    pay = run(capsys, "rules", "software-payments", "--amount", "100.01", "--json")
    assert pay["installments"] == [20, 40, 40.01] and pay["clauses"] == ["payment.software"]


def test_other_rules_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "rules", "deposit", "--json")["amount"] == 800
    assert run(capsys, "rules", "training", "--level", "advanced", "--people", "2", "--json")["total"] == 1600
    assert run(capsys, "rules", "remote", "--kind", "system", "--json")["total"] == 200
    assert run(capsys, "rules", "phone", "--kind", "hard", "--json")["total"] == 50
    sla = run(capsys, "rules", "sla", "--zone", "city", "--contract", "annual", "--json")
    assert sla["onsite_hours"] == 4 and sla["loaner"] is True
    due = run(capsys, "rules", "sla", "--zone", "suburb", "--reported", "2026-11-24T10:00", "--json")
    assert due["onsite"] == "2026-11-24T18:00:00+08:00"  # a wall-clock time of the desk's zone
    night = run(capsys, "rules", "sla", "--zone", "city", "--reported", "2026-11-24T22:31", "--json")
    assert (night["first_response"], night["onsite"]) == ("2026-11-25T10:00:00+08:00", "2026-11-25T12:00:00+08:00")
    ship = run(capsys, "rules", "shipping", "--in-warranty", "--quality-fault", "--json")
    assert ship["outbound"] == "company"
    assert len(run(capsys, "rules", "exclusions", "--lang", "en", "--json")["entries"]) == 5
    assert "fee.annual.pbx_300_plus" in run(capsys, "rules", "clauses", "--json")["clauses"]


def test_depot_coverage_returns_complaint(capsys: pytest.CaptureFixture[str]) -> None:
    depot = run(capsys, "rules", "depot", "--received", "2026-11-27", "--json")
    assert depot["due"] == "2026-12-01" and depot["clauses"] == ["sla.depot.out_of_warranty"]
    cov = run(capsys, "rules", "coverage", "--contract", "annual", "--paid-until", "2026-12-31",
              "--on", "2026-11-24", "--json")
    assert cov["free"] is True and cov["loaner"] is True
    per_visit = run(capsys, "rules", "coverage", "--contract", "per_visit", "--on", "2026-11-24", "--json")
    assert per_visit["free"] is False and per_visit["loaner"] is False
    ret = run(capsys, "rules", "returns", "--delivered", "2026-11-01", "--replaced", "2026-07-01",
              "--replaced", "2026-10-01", "--on", "2026-11-24", "--json")
    assert ret["sample_return"]["eligible"] is True and ret["repeat_return"]["eligible"] is True
    comp = run(capsys, "rules", "complaint", "--fault", "no_power", "--past", "2026-05-01:no_video",
               "--on", "2026-11-24", "--json")
    assert comp["complaint"] is True and comp["rule"] == "multiple_faults"
    assert "DATE:FAULT" in fails(capsys, "rules", "complaint", "--fault", "x", "--past", "2026-05-01")


def test_plain_output_shows_reason_and_clauses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "annual", "--item", "switch=6"]) == 0
    out = capsys.readouterr().out
    assert "2160" in out and "fee.annual.switch_6_10" in out


def test_policy_option_changes_the_answer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    edited = tmp_path / "p.toml"
    edited.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace("proxy_pct = 10", "proxy_pct = 12"),
                      encoding="utf-8")
    assert run(capsys, "rules", "proxy", "--amount", "1000", "--policy", str(edited), "--json")["fee"] == 120


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["rules", "service-year", "--signed", "2026-13-01"], "not a date"),
        (["rules", "service-year"], "--signed"),
        (["rules", "warranty", "--kind", "gadget", "--event", "sale", "--date", "2026-01-01"], "--kind"),
        (["rules", "onsite", "--zone", "moon"], "--zone"),
        (["rules", "onsite", "--zone", "city", "--extra-visits", "-1"], "--extra-visits"),
        (["rules", "annual", "--item", "switch"], "KEY[:SIZE]=QTY"),
        (["rules", "annual", "--item", "teleporter=2"], "unknown item"),
        (["rules", "annual", "--item", "pbx=1"], "needs a size"),
        (["rules", "proxy", "--amount", "abc"], "not an amount"),
        (["rules", "proxy", "--amount", "-5"], "≥ 0"),
        (["rules", "software-payments", "--amount", "1.005"], "2 decimals"),
        (["rules", "proxy", "--amount", "5", "--policy", "/nonexistent/p.toml"], "cannot read"),
    ],
)
def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    assert needle in fails(capsys, *argv)


def test_policy_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["policy", "check", str(DEFAULT_POLICY)]) == 0
    assert "ok" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace("max = 5 ", "max = 6 "), encoding="utf-8")
    err = fails(capsys, "policy", "check", str(bad))
    assert str(bad) in err and "fees.annual.2.min" in err and "overlaps" in err
    assert main(["policy", "check", str(bad), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and "fees.annual.2.min" in out["error"]
