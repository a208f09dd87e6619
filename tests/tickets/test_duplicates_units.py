"""Duplicate reports in the domain: similarity, the decision (link / ask / flag) and links."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.rules.policy import load_policy
from bot.tickets import duplicates, links
from bot.tickets import lifecycle as tickets
from storage.db import Database
from storage.models import Customer, Equipment, Ticket

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
ALICE, BOB, MALLORY = 9001, 9002, 9003


def test_similarity_folds_case_width_and_punctuation() -> None:
    assert duplicates.similarity("Camera is DEAD!", "camera  is dead") == 1.0
    assert duplicates.similarity("摄像头不亮了", "摄像头不亮") > 0.7
    assert duplicates.similarity("ＡＢＣ", "abc") == 1.0
    assert duplicates.similarity("摄像头不亮了", "打印机卡纸") == 0.0
    assert duplicates.similarity("", "anything") == 0.0


def test_the_policy_has_the_window_and_the_threshold() -> None:
    rules = load_policy().duplicates
    assert rules.similar_within_hours == 24 and 0 < rules.similarity <= 1 and rules.ask_timeout_minutes > 0


@pytest.fixture
async def db(db_url: str):
    database = Database(db_url)
    yield database
    await database.dispose()


async def _world(db: Database) -> tuple[int, int, int, int]:
    """Two customers, a camera and a printer of the first; returns their ids."""
    async with db.write() as s:
        acme = Customer(number="C-1", name="Acme", name_key="acme", zone="city", contract_type="annual")
        other = Customer(number="C-2", name="Other", name_key="other", zone="city", contract_type="annual")
        s.add_all([acme, other])
        await s.flush()
        cam = Equipment(customer_id=acme.id, model="Cam", serial="S1", category="cctv", start_event_date=NOW.date())
        pos = Equipment(customer_id=acme.id, model="Pos", serial="S2", category="pos", start_event_date=NOW.date())
        s.add_all([cam, pos])
        await s.flush()
        return acme.id, other.id, cam.id, pos.id


async def _open(db: Database, user: int, customer: int | None, equipment: int | None, symptom: str,
                *, verified: bool = True, at: dt.datetime = NOW) -> Ticket:
    async with db.write() as s:
        new = tickets.NewTicket(reporter_user_id=user, reporter_name="x", customer_label="Acme",
                                customer_id=customer, verified=verified, equipment_id=equipment, symptom=symptom)
        return await tickets.open_ticket(s, new, at, dt.UTC)


def _report(customer: int | None, equipment: int | None, symptom: str, *, verified: bool = True) -> dict[str, Any]:
    return {"customer_id": customer, "verified": verified, "equipment_id": equipment, "symptom": symptom}


async def _decide(db: Database, user: int, data: dict[str, Any], now: dt.datetime = NOW) -> duplicates.Duplicate | None:
    async with db.read() as s:
        return await duplicates.decide(s, load_policy(), user, data, now)


async def test_same_equipment_of_a_verified_reporter_links(db: Database) -> None:
    acme, _, cam, pos = await _world(db)
    first = await _open(db, ALICE, acme, cam, "camera dead")
    found = await _decide(db, BOB, _report(acme, cam, "no picture at all"))
    assert found == duplicates.Duplicate("link", first.id, first.number)
    assert await _decide(db, BOB, _report(acme, pos, "printer jams")) is None


async def test_an_unverified_claim_never_links_or_asks_only_flags(db: Database) -> None:
    acme, _, cam, _ = await _world(db)
    first = await _open(db, ALICE, acme, cam, "camera at the door shows nothing")
    # equipment is ignored unless verified; a similar symptom of the claimed customer is flagged
    found = await _decide(db, MALLORY, _report(acme, cam, "camera at the door shows nothing", verified=False))
    assert found == duplicates.Duplicate("flag", first.id, first.number)


async def test_similar_symptom_of_the_same_customer_within_the_window_asks(db: Database) -> None:
    acme, other, cam, _ = await _world(db)
    first = await _open(db, ALICE, acme, cam, "摄像头不亮了，没有画面")
    assert await _decide(db, BOB, _report(acme, None, "摄像头不亮，没有画面")) == duplicates.Duplicate(
        "ask", first.id, first.number)
    assert await _decide(db, BOB, _report(acme, None, "打印机卡纸")) is None
    assert await _decide(db, BOB, _report(other, None, "摄像头不亮，没有画面")) is None
    later = NOW + dt.timedelta(hours=25)
    assert await _decide(db, BOB, _report(acme, None, "摄像头不亮，没有画面"), later) is None


async def test_the_same_telegram_user_unverified_is_asked_about_their_own_ticket(db: Database) -> None:
    first = await _open(db, MALLORY, None, None, "network down in the office", verified=False)
    found = await _decide(db, MALLORY, _report(None, None, "the network is down in office", verified=False))
    assert found == duplicates.Duplicate("ask", first.id, first.number)
    assert await _decide(db, ALICE, _report(None, None, "the network is down in office", verified=False)) is None


async def test_closed_tickets_are_not_duplicates(db: Database) -> None:
    acme, _, cam, _ = await _world(db)
    first = await _open(db, ALICE, acme, cam, "camera dead")
    async with db.write() as s:
        row = await s.get(Ticket, first.id)
        assert row is not None
        tickets.transition(s, row, "cancelled", tickets.SYSTEM, NOW)
    assert await _decide(db, BOB, _report(acme, cam, "camera dead")) is None


async def test_links_are_replayed_from_events(db: Database) -> None:
    acme, _, cam, _ = await _world(db)
    first = await _open(db, ALICE, acme, cam, "camera dead")
    async with db.write() as s:
        row = await s.get(Ticket, first.id)
        assert row is not None
        links.link(s, row, BOB, {"symptom": "no picture"}, NOW)
        assert await links.reporters(s, row) == [ALICE, BOB]
        assert [t.id for t in await links.linked_tickets(s, BOB)] == [first.id]
        assert await links.linked_tickets(s, ALICE) == []
        assert (await links.visible_ticket(s, first.number, BOB)) is row
        assert await links.visible_ticket(s, first.number, MALLORY) is None
        assert await links.unlink(s, row, MALLORY, NOW) is None
        assert await links.unlink(s, row, BOB, NOW) == {"symptom": "no picture"}
        assert await links.reporters(s, row) == [ALICE]
        assert await links.visible_ticket(s, first.number, BOB) is None
    async with db.read() as s:
        kinds = (await s.scalars(select(Ticket.status).where(Ticket.id == first.id))).all()
    assert kinds == ["new"]


def test_merge_shows_the_target_only_to_reporters_allowed_to_see_it() -> None:
    from bot.tickets.merge import may_see

    def t(user: int, customer: int | None, verified: bool) -> Ticket:
        return Ticket(reporter_user_id=user, customer_id=customer, verified=verified)

    assert may_see(t(ALICE, 1, True), t(BOB, 1, True))  # one verified customer
    assert may_see(t(MALLORY, None, False), t(MALLORY, None, False))  # the same Telegram user
    assert not may_see(t(MALLORY, 1, False), t(ALICE, 1, True))  # an unverified claim
    assert not may_see(t(ALICE, 1, True), t(BOB, 2, True))  # another customer
