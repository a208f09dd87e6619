"""From the customer's report to the rating, through the real conversation (intake → dispatch)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.harness import Harness, button_by_text
from tests.support.dispatchkit import TG, collect, events, greet, local, wait_for
from tests.support.flows import report_verified


async def _watch_card(h: Harness, user_id: int, since: int) -> tuple[dict[str, Any], float]:
    """Long-poll the engineer's chat for the first dispatch card; return it and when it arrived."""
    while True:
        data = await h.get("/sandbox/messages", user_id=user_id, since=since, wait=5)
        for m in data["messages"]:
            if any(b["data"].startswith("dp:ack:") for row in m.get("buttons") or [] for b in row):
                return m, time.perf_counter()
        since = data.get("last_id", since)


async def test_report_to_rating_through_the_chat(harness: Harness) -> None:
    harness.clock.set(local(harness, 2026, 11, 23, 10, 0))  # office hours: li
    await harness.start()
    c = await greet(harness, "li", "zhao")
    customer = harness.chat(5001)
    pressed: dict[str, float] = {}
    press = customer.press

    async def timed_press(message: dict[str, Any], data: str | None = None, **kw: Any) -> dict[str, Any]:
        if data == "rp:submit":
            pressed["at"] = time.perf_counter()
        return await press(message, data, **kw)

    customer.press = timed_press  # type: ignore[method-assign]
    watch = asyncio.create_task(_watch_card(harness, TG["li"], c["li"].seen))
    await report_verified(customer, phone="+8613800000001")
    card, arrived = await asyncio.wait_for(watch, 10)
    print(f"\nSubmit press → dispatch card in the engineer's chat: {(arrived - pressed['at']) * 1000:.0f} ms")
    number = next(w for w in card["text"].replace("\n", " ").split() if w.startswith("SD-"))
    assert "深圳市华南物流有限公司" in card["text"] and "首次响应 11-23 12:00" in card["text"]
    tid = int(card["buttons"][0][0]["data"].rsplit(":", 1)[1])
    assert button_by_text(card, "接单") == f"dp:ack:{tid}"
    await c["li"].press(card, text="接单")  # by the label the engineer sees
    await wait_for(c["li"], "已接单")
    assert number in (await wait_for(customer, "李娜"))["text"]
    await c["li"].press(card, f"dp:resolve:{tid}")
    await wait_for(c["li"], "解决说明")
    await c["li"].send("远程重启录像机后画面恢复")
    rating = await wait_for(customer, "评分")
    assert button_by_text(rating, "非常满意") == f"rt:{tid}:very_satisfied"
    await customer.press(rating, text="非常满意")
    await wait_for(customer, "感谢您的评价")
    kinds = [e.kind for e in await events(harness, tid)]
    assert kinds[0] == "created" and kinds[-4:] == ["dispatched", "acknowledged", "resolved", "closed"]
    assert await collect(c["li"], "已由 李娜 解决")
