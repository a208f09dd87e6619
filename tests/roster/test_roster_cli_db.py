"""`sdbot roster cover|changes|show --db`: covers stored from the command line, seen by dispatch."""

from __future__ import annotations

from tests.harness import Harness
from tests.staff.test_staff import sdbot
from tests.support.dispatchkit import greet, local, open_ticket


async def test_cli_cover_is_stored_shown_and_used(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 12, 1, 10, 0))  # office week of 11-30: wang
    out = await sdbot(harness, "roster", "cover", "zhang", "wang", "2026-12-01")
    assert out.returncode == 0, out.stderr
    assert "cover #1: zhang for wang" in out.stdout and "12-01 00:00 – 12-02 00:00" in out.stdout
    shown = await sdbot(harness, "roster", "show", "--db", "--from", "2026-12-01", "--to", "2026-12-01")
    assert "zhang (for wang) 09:00-18:00" in shown.stdout, shown.stdout
    plain = await sdbot(harness, "roster", "show", "--from", "2026-12-01", "--to", "2026-12-01")
    assert "(for wang)" not in plain.stdout
    bad = await sdbot(harness, "roster", "cover", "zhang", "nobody", "2026-12-01")
    assert bad.returncode == 2 and "nobody" in bad.stderr

    await harness.start()
    await greet(harness, "customer", "zhang", "wang")
    _, _, outcome, _ = await open_ticket(harness, sla=False)
    assert outcome.engineer is not None and outcome.engineer.key == "zhang"
    await harness.stop()

    listed = await sdbot(harness, "roster", "changes")
    assert "#1 cover active: zhang for wang" in listed.stdout
    assert "#1 withdrawn" in (await sdbot(harness, "roster", "changes", "--cancel", "1")).stdout
    assert "no covers or swaps" in (await sdbot(harness, "roster", "changes")).stdout
