"""Routing by specialty (issue 18.2): a roster layer may serve one equipment category; its tickets go
to that layer's engineer on duty, falling back to the general duty engineer; /oncall and
``sdbot roster show`` show the category layers; a category the policy does not list is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.roster.loader import DEFAULT_ROSTER, load_roster
from bot.roster.model import RosterError
from bot.rules.policy import DEFAULT_POLICY, load_policy
from storage.models import Staff
from tests.harness import Harness
from tests.support.dispatchkit import card_of, open_ticket, start_desk, texts, wait_for

# the demo roster plus a CCTV specialist layer in office hours (wang); the general office layer
# has li on Monday 2026-11-23 (weekly rotation zhang → li → wang from 2026-01-05)
CCTV_LAYER = """
[[layers]]
name = "cctv_desk"
category = "cctv"
window = "office"
rotation = "weekly"
handoff = "09:00"
anchor = 2026-01-05
members = ["wang"]
"""


def _roster_with(tmp_path: Path, extra: str) -> Path:
    text = DEFAULT_ROSTER.read_text(encoding="utf-8")
    head, _, calendar = text.partition("[calendar]")
    path = tmp_path / "roster.toml"
    path.write_text(head + extra + "\n[calendar]" + calendar, encoding="utf-8")
    return path


async def test_category_ticket_goes_to_its_specialist_then_falls_back(harness: Harness, tmp_path: Path) -> None:
    roster = _roster_with(tmp_path, CCTV_LAYER)
    c = await start_desk(harness, "customer", "zhang", "li", "wang", roster_file=roster)

    # C1001's first equipment is an NVR (cctv): the CCTV specialist, not the office engineer
    tid, number, outcome, _ = await open_ticket(harness, sla=False, customer_number="C1001")
    assert outcome.engineer is not None and outcome.engineer.key == "wang"
    await card_of(c["wang"], number)
    assert await texts(c["li"], 0.3) == []

    # C1002's first equipment is a PBX (telephone): no telephone layer, so the general office layer
    _, phone_number, outcome, _ = await open_ticket(harness, sla=False, customer_number="C1002")
    assert outcome.engineer is not None and outcome.engineer.key == "li"
    await card_of(c["li"], phone_number)

    # /oncall names the specialist layer with its category
    oncall = await c["li"].ask("/oncall")
    assert "cctv_desk（监控专线）：王强" in oncall["text"] and "办公时间：李娜" in oncall["text"], oncall["text"]

    # the specialist cannot take tickets (deactivated): a CCTV ticket falls back to the general engineer
    assert harness.app is not None
    async with harness.app.db.write() as s:
        await s.execute(update(Staff).where(Staff.key == "wang").values(active=False))
    _, second, outcome, _ = await open_ticket(harness, sla=False, customer_number="C1001",
                                             symptom="摄像头画面花屏")
    assert outcome.engineer is not None and outcome.engineer.key == "li"
    await wait_for(c["li"], second)


async def test_without_category_layers_the_office_engineer_gets_everything(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", "wang")
    _, number, outcome, _ = await open_ticket(harness, sla=False, customer_number="C1001")  # cctv
    assert outcome.engineer is not None and outcome.engineer.key == "li"
    await card_of(c["li"], number)


def test_unknown_category_is_refused_by_roster_load_and_policy_check(tmp_path: Path) -> None:
    categories = load_policy().dispatch.categories
    good = _roster_with(tmp_path, CCTV_LAYER)
    assert load_roster(good, categories).layer("cctv_desk").category == "cctv"

    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace('category = "cctv"', 'category = "drones"'),
                   encoding="utf-8")
    with pytest.raises(RosterError, match=r"layers\[2\]\.category: unknown category 'drones'"):
        load_roster(bad, categories)

    run = [sys.executable, "-m", "bot.cli.main", "policy", "check", str(DEFAULT_POLICY), "--json"]
    ok = subprocess.run([*run, "--roster", str(good)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True, ok.stderr
    refused = subprocess.run([*run, "--roster", str(bad)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "unknown category 'drones'" in json.loads(refused.stdout.splitlines()[0])["error"]


def test_roster_show_marks_category_layers(tmp_path: Path) -> None:
    good = _roster_with(tmp_path, CCTV_LAYER)
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "roster", "show", "--file", str(good),
         "--from", "2026-11-23", "--to", "2026-11-23"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "cctv_desk [cctv]: wang 09:00-18:00" in out.stdout, out.stdout
