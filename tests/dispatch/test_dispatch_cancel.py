"""End-to-end: a customer cancels a dispatched ticket — every dispatch card (engineers' and, once
escalated, supervisors') is edited to say so and loses its buttons."""

from __future__ import annotations

import datetime as dt

from bot.dispatch import routing as dispatch
from tests.harness import Harness
from tests.support.dispatchkit import (
    card_of,
    collect,
    fire_due,
    open_ticket,
    start_desk,
    ticket,
    wait_for,
)


async def test_cancel_edits_every_card_and_removes_the_buttons(harness: Harness) -> None:
    c = await start_desk(harness)
    t0 = harness.clock.now()
    tid, number, _, _ = await open_ticket(harness, sla=False)
    cards = {"li": await card_of(c["li"], number)}
    assert harness.app is not None
    step = dispatch.ack_timeout(harness.app.desk)
    for n in (1, 2, 3):  # reminder → next engineer (wang) → every supervisor
        harness.clock.set(t0 + n * (step + dt.timedelta(seconds=10)))
        await fire_due(harness)
    cards["wang"] = await card_of(c["wang"], number)
    for sup in ("zhao", "admin"):
        cards[sup] = await wait_for(c[sup], "无人接单")
    customer = c["customer"]
    await customer.send(f"/ticket {number}")
    detail = await wait_for(customer, number)
    await customer.press(detail, f"tk:cancel:{number}")
    await wait_for(customer, "已取消")
    assert (await ticket(harness, tid)).status == "cancelled"
    for key, card in cards.items():
        got = await collect(c[key], f"客户已取消工单 {number}")
        edited = [m for m in got if m["id"] == card["id"]]
        if not edited:
            got += await c[key].read(2)
            edited = [m for m in got if m["id"] == card["id"]]
        assert edited, (key, [m.get("text") for m in got])
        if key in ("zhao", "admin"):  # a supervisor's alert keeps its text, loses its buttons
            assert "无人接单" in edited[-1]["text"] and "客户已取消" not in edited[-1]["text"]
        else:
            assert "客户已取消" in edited[-1]["text"] and number in edited[-1]["text"]
        assert not edited[-1].get("buttons"), (key, edited[-1].get("buttons"))


async def test_cancel_card_in_english(harness: Harness) -> None:
    c = await start_desk(harness, "customer", "li", lang="en")
    tid, number, _, _ = await open_ticket(harness, sla=False)
    card = await card_of(c["li"], number)
    await c["customer"].send(f"/ticket {number}")
    detail = await wait_for(c["customer"], number)
    await c["customer"].press(detail, f"tk:cancel:{number}")
    got = await collect(c["li"], "Cancelled by the customer")
    edited = [m for m in got if m["id"] == card["id"]][-1]
    assert "Cancelled by the customer" in edited["text"] and not edited.get("buttons")
    assert (await ticket(harness, tid)).status == "cancelled"
