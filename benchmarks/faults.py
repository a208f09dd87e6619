"""Fault injection: a share of all Bot API calls fail for the whole run; nothing may be lost.

    python -m benchmarks.faults [--customers 100] [--rate 0.1] [--kinds 429 500 timeout]

The sandbox answers ``--rate`` of every Bot API call (getUpdates and sends alike) with a 429 and
``retry_after``, a 500, or holds it until the client times out (``timeout``) — chosen at random
from ``--kinds``. Customers report faults, engineers acknowledge. Afterwards the same checks as the
crash benchmark run (every Submit one ticket, every ticket's card delivered, every outbox row sent
and present in the sandbox, every conversation finished), and the delivery delay of the outbox
rows (queued → sent) is printed per priority class, and how many messages overtook an earlier one
of their chat (``order.out_of_order``, goal 0). Exit status 1 on any loss or any message out of order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CUSTOMER_BASE,
    Customer,
    desk_up,
    dist,
    report,
    run_main,
    wait_drained,
)
from benchmarks.crash import check, database_facts, note, sandbox_message_ids
from benchmarks.load import outbox_delays


def out_of_order(db_path: Path) -> dict[str, int]:
    """Sent messages that reached their chat before an earlier-queued message of the same chat.

    Per chat, outbox rows in queue order (id) must have rising sandbox message ids; a row whose
    message id is below one sent for an earlier row overtook it.
    """
    con = sqlite3.connect(db_path)
    try:
        rows = con.execute(
            "SELECT chat_id, message_id FROM outbox WHERE status = 'sent' AND message_id IS NOT NULL "
            "AND method IN ('sendMessage', 'sendPhoto', 'sendDocument') ORDER BY chat_id, id"
        ).fetchall()
    finally:
        con.close()
    top: dict[int, int] = {}
    late = 0
    for chat_id, message_id in rows:
        if message_id < top.get(chat_id, 0):
            late += 1
        top[chat_id] = max(message_id, top.get(chat_id, 0))
    return {"messages_sent": len(rows), "out_of_order": late}


async def main_async(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="sdfaults-") as tmp:
        async with desk_up(Path(tmp), delay_ms=args.delay_ms) as desk:
            procs, api, engineers = desk.procs, desk.api, desk.engineers
            await api.post("/sandbox/faults", {"method": "*", "rate": args.rate, "kinds": args.kinds,
                                               "retry_after": 1, "seed": args.seed})
            note(f"{args.customers} customers; {args.rate:.0%} of Bot API calls fail ({', '.join(args.kinds)})")
            customers = [Customer(CUSTOMER_BASE + i) for i in range(args.customers)]

            async def one(c: Customer) -> None:
                try:
                    await report(api, c, timeout=args.timeout)
                except Exception as exc:  # noqa: BLE001  (a loss: counted by check)
                    c.errors.append(f"step {c.step}: {type(exc).__name__} {exc}")

            began = time.perf_counter()
            await asyncio.gather(*(one(c) for c in customers))
            wall = time.perf_counter() - began
            numbers = {t for c in customers for t in c.tickets}
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline and not numbers <= engineers.cards.keys():  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            stats = await api.stats()
            await api.http.delete(procs.url + "/sandbox/faults")
            drain_began = time.monotonic()
            left = await wait_drained(procs.db_path, args.drain)
            drain_s = time.monotonic() - drain_began
            await asyncio.sleep(1)
            await engineers.stop()
            procs.stop_bot()
            facts = database_facts(procs.db_path)
            result: dict[str, Any] = check(customers, engineers, facts, await sandbox_message_ids(
                api, {row[0] for row in facts["outbox"] if row[1] == "sendMessage"}))
            result["wall_s"] = round(wall, 1)
            result["drain_s"] = round(drain_s, 1)
            result["left_after_drain"] = left
            result["injected_errors"] = stats["errors"]
            result["bot_api_calls"] = sum(stats["calls"].values())
            result["latency_update_to_reply"] = dist([x for c in customers for x in c.latencies])
            result["delivery_delay_by_priority"] = outbox_delays(procs.db_path)
            result["order"] = out_of_order(procs.db_path)
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return 1 if result["losses"] or result["order"]["out_of_order"] else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=100)
    p.add_argument("--rate", type=float, default=0.1, help="share of Bot API calls that fail")
    p.add_argument("--kinds", nargs="+", default=["429", "500", "timeout"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--delay-ms", type=float, default=50.0)
    p.add_argument("--drain", type=float, default=300.0,
                   help="seconds the bot may take at the end to process and send what is queued")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds a customer waits for a prompt")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run and print JSON; 1 on any loss."""
    return run_main(main_async(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
