"""Crash recovery: kill -9 the bot at random moments during the report load, restart, check.

    python -m benchmarks.crash [--customers 100] [--kills 50] [--gap 0.5 3.0] [--delay-ms 50]

Customers keep reporting faults (the complete conversation, again and again) while the bot
process is killed with SIGKILL at a random moment every ``--gap`` seconds and restarted at once;
engineers acknowledge every dispatch card. After the last kill the customers finish the report in
hand, the bot is stopped cleanly, and the run is checked against the sandbox's record:

* every Submit a customer pressed is exactly one ticket (by reporter);
* every ticket's dispatch card is visible in an engineer's chat; duplicate cards are counted;
* no customer-visible message lost: every outbox row is sent, and each sent message is in the
  sandbox's chat; no update left unprocessed or failed in the inbox;
* every conversation in progress resumed at its step: a customer whose next prompt never came
  (the driver times out) counts as a loss.

Prints the counts as JSON; exit status 1 on any loss.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import (
    CUSTOMER_BASE,
    Api,
    Customer,
    Engineers,
    Procs,
    desk_up,
    dist,
    report,
    run_main,
    wait_drained,
)


def note(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def customer_loop(api: Api, c: Customer, stop: asyncio.Event, timeout: float) -> None:
    """Report again and again until ``stop``; the first step that never comes ends the loop."""
    while not stop.is_set():
        try:
            await report(api, c, timeout=timeout)
        except Exception as exc:  # noqa: BLE001  (recorded: the check fails on it)
            c.errors.append(f"step {c.step}: {type(exc).__name__} {exc}")
            return
        await asyncio.sleep(random.uniform(0, 0.5))


async def killer(procs: Procs, api: Api, kills: int, gap: tuple[float, float],
                 stop: asyncio.Event) -> list[float]:
    """kill -9 and restart ``kills`` times; returns the seconds each restart took to poll again."""
    restarts: list[float] = []
    for i in range(kills):
        await asyncio.sleep(random.uniform(*gap))
        procs.kill_bot()
        procs.start_bot()
        restarts.append(await procs.wait_polling(api.http))
        if (i + 1) % 10 == 0:
            note(f"{i + 1} kills")
    stop.set()
    return restarts


def database_facts(db_path: Path) -> dict[str, Any]:
    con = sqlite3.connect(db_path)
    try:
        tickets = con.execute("SELECT number, reporter_user_id FROM tickets").fetchall()
        outbox = con.execute(
            "SELECT chat_id, method, status, message_id FROM outbox"
        ).fetchall()
        inbox = dict(con.execute("SELECT status, count(*) FROM inbox GROUP BY status").fetchall())
    finally:
        con.close()
    return {"tickets": tickets, "outbox": outbox, "inbox": inbox}


async def sandbox_message_ids(api: Api, chat_ids: set[int]) -> dict[int, set[int]]:
    """The bot's messages in each chat, as the sandbox recorded them."""
    out: dict[int, set[int]] = {}
    for chat_id in chat_ids:
        msgs, _ = await api.read(chat_id, 0, 0)
        out[chat_id] = {m["id"] for m in msgs if not m.get("from_user")}
    return out


async def main_async(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        tmp = tempfile.mkdtemp(prefix="sdcrash-") if args.keep else stack.enter_context(
            tempfile.TemporaryDirectory(prefix="sdcrash-"))
        async with desk_up(Path(tmp), delay_ms=args.delay_ms) as desk:
            procs, api, engineers = desk.procs, desk.api, desk.engineers
            customers = [Customer(CUSTOMER_BASE + i) for i in range(args.customers)]
            stop = asyncio.Event()
            note(f"{args.customers} customers; {args.kills} kills every {args.gap[0]}–{args.gap[1]} s")
            loops = [asyncio.create_task(customer_loop(api, c, stop, args.timeout)) for c in customers]
            restarts = await killer(procs, api, args.kills, tuple(args.gap), stop)  # type: ignore[arg-type]
            await asyncio.gather(*loops)
            numbers = {t for c in customers for t in c.tickets}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not numbers <= engineers.cards.keys():  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            drain_began = time.monotonic()
            left = await wait_drained(procs.db_path, args.drain)
            drain_s = time.monotonic() - drain_began
            await asyncio.sleep(1)
            await engineers.stop()
            procs.stop_bot()
            facts = database_facts(procs.db_path)
            result = check(customers, engineers, facts, await sandbox_message_ids(
                api, {row[0] for row in facts["outbox"] if row[1] == "sendMessage"}))
            result["kills"] = len(restarts)
            result["drain_s"] = round(drain_s, 1)
            result["left_after_drain"] = left
            result["restart_to_polling"] = dist(restarts, "s")
            if args.keep:
                result["workdir"] = tmp
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return 1 if result["losses"] else 0


def check(customers: list[Customer], engineers: Engineers, facts: dict[str, Any],
          sandbox_ids: dict[int, set[int]]) -> dict[str, Any]:
    """Compare what the customers did with the database and the sandbox's record."""
    per_reporter = Counter(reporter for _, reporter in facts["tickets"])
    wrong_ticket_count = [c.user_id for c in customers if per_reporter[c.user_id] != c.submits]
    all_numbers = {number for number, _ in facts["tickets"]}
    undispatched = sorted(all_numbers - engineers.cards.keys())
    unsent = [row for row in facts["outbox"] if row[2] != "sent"]
    missing = [row for row in facts["outbox"]
               if row[1] == "sendMessage" and row[2] == "sent"
               and row[3] not in sandbox_ids.get(row[0], set())]
    inbox_bad = {k: v for k, v in facts["inbox"].items() if k != "done"}
    stuck = [c.errors[0] for c in customers if c.errors]
    duplicates = sum(n - 1 for n in engineers.card_count.values())
    losses = (len(wrong_ticket_count) + len(undispatched) + len(unsent) + len(missing)
              + sum(inbox_bad.values()) + len(stuck))
    return {
        "reports_submitted": sum(c.submits for c in customers),
        "tickets": len(all_numbers),
        "reporters_with_wrong_ticket_count": len(wrong_ticket_count),
        "tickets_without_dispatch_card": len(undispatched),
        "dispatch_card_duplicates": duplicates,
        "outbox_not_sent": len(unsent),
        "sent_messages_missing_in_sandbox": len(missing),
        "inbox_not_done": inbox_bad,
        "conversations_not_resumed": len(stuck),
        "examples": stuck[:3] + [str(r) for r in unsent[:3]],
        "losses": losses,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=100)
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--gap", type=float, nargs=2, default=(0.5, 3.0), metavar=("MIN", "MAX"),
                   help="seconds between kills (uniformly random)")
    p.add_argument("--delay-ms", type=float, default=50.0)
    p.add_argument("--drain", type=float, default=300.0,
                   help="seconds the bot may take at the end to process and send what is queued")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a customer waits for a prompt")
    p.add_argument("--keep", action="store_true", help="keep the work directory (database, logs)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run and print JSON; 1 on any loss."""
    return run_main(main_async(parser().parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
