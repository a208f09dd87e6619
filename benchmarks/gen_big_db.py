"""Generate a large SQLite service-desk database for the report benchmarks.

Default: 100,000 tickets and exactly 1,000,000 events spread over the 24 months before
``--end`` (so about 4,200 tickets and 42,000 events a month, 1,400 events a day), 10 engineers,
1,000 customers. Rows are written with ``executemany`` in one transaction — no ORM objects.

    python -m benchmarks.gen_big_db /tmp/big.db [--tickets 100000] [--events 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

ENGINEERS = [("zhang", "张伟", 1001), ("li", "李娜", 1002), ("wang", "王强", 1003)] + [
    (f"eng{i}", f"工程师{i}", None) for i in range(4, 11)
]
MANAGERS = [("zhao", "赵敏", "supervisor", 2001), ("admin", "系统管理员", "admin", 9001)]
CATEGORIES = ["cctv", "network", "telephone", "access", "pos", "other"]
SEVERITIES = ["down", "partial", "question"]
CONTACT_KINDS = ["phone", "remote", "onsite"]
RATINGS = [("very_satisfied", 5), ("satisfied", 3), ("average", 2), ("no_opinion", 1), ("dissatisfied", -5)]
TZ = ZoneInfo("Asia/Shanghai")


def _ts(value: dt.datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _j(data: dict[str, object]) -> str:
    return json.dumps(data)


def migrate(path: Path) -> None:
    """Create the schema with the project's own migration."""
    from storage.migrate import upgrade

    upgrade(f"sqlite+aiosqlite:///{path}")


def _ticket_events(
    rng: random.Random, tid: int, created: dt.datetime, now: dt.datetime, eng: tuple[int, str],
    reporter: int, want: int,
) -> tuple[list[tuple[object, ...]], dict[str, object]]:
    """The event rows of one ticket (at most ``want``) and the ticket's final columns."""
    sid, key = eng
    ev: list[tuple[object, ...]] = []
    t = created
    state: dict[str, object] = {"status": "new", "ack": None, "resolved": None, "closed": None, "rating": None,
                                "assignee": None}

    def add(kind: str, actor_kind: str, actor_id: int | None, frm: str | None, to: str | None,
            minutes: int | None, data: dict[str, object]) -> bool:
        if t > now or len(ev) >= want:
            return False
        ev.append((tid, _ts(t), kind, actor_kind, actor_id, frm, to, minutes, _j(data)))
        if to:
            state["status"] = to
        return True

    add("created", "customer", reporter, None, "new", None, {})
    t += dt.timedelta(minutes=rng.randint(1, 5))
    if not add("dispatched", "system", None, "new", "dispatched", None,
               {"to": key, "layer": "duty", "stage": 0, "reason": None}):
        return ev, state
    state["assignee"] = sid
    if rng.random() < 0.2:
        t += dt.timedelta(minutes=15)
        add("reminder", "system", None, None, None, None, {"to": key})
    if rng.random() < 0.05:
        t += dt.timedelta(minutes=15)
        add("escalated", "system", None, None, None, None, {"level": "supervisors", "notified": 2})
    t += dt.timedelta(minutes=rng.choice([3, 8, 20, 45, 90, 150, 200]))
    delay = int((t - created).total_seconds())
    if not add("acknowledged", "staff", sid, "dispatched", "acknowledged", None, {"by": key, "delay_s": delay}):
        return ev, state
    state["ack"] = t
    first = True
    while len(ev) < want - 2:
        t += dt.timedelta(minutes=rng.randint(10, 240))
        kind = rng.choice(CONTACT_KINDS)
        if first:
            add("in_progress", "staff", sid, "acknowledged", "in_progress", None, {})
            first = False
        ok = add("contact", "staff", sid, None, None, rng.randint(5, 120),
                 {"kind": kind, "done": f"检查{kind}", "result": rng.choice(["已恢复", "待跟进", "需上门"]),
                  "by": key})
        if not ok:
            return ev, state
    t += dt.timedelta(minutes=rng.randint(10, 600))
    if not add("resolved", "staff", sid, state["status"], "resolved", None, {"summary": "已修复", "by": key}):
        return ev, state
    state["resolved"] = t
    t += dt.timedelta(hours=rng.randint(1, 72))
    rating, score = rng.choices(RATINGS, weights=[40, 30, 12, 10, 8])[0]
    if add("closed", "customer", reporter, "resolved", "closed", None, {"rating": rating, "score": score}):
        state["closed"], state["rating"] = t, score
    return ev, state


def _tickets(
    rng: random.Random, n: int, events: int, start: dt.datetime, end: dt.datetime, staff_ids: list[int],
) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
    span = (end - start).total_seconds()
    times = sorted(start + dt.timedelta(seconds=rng.random() * span) for _ in range(n))
    numbers: list[str] = []
    per_year: dict[int, int] = {}
    for created in times:
        year = created.astimezone(TZ).year
        per_year[year] = per_year.get(year, 0) + 1
        numbers.append(f"SD-{year}-{per_year[year]:06d}")
    budget = events
    # newest first: recent tickets are still open (few events); older ones absorb the rest
    for i in range(n - 1, -1, -1):
        created, tid = times[i], i + 1
        want = max(2, min(40, round(budget / (i + 1))))
        eng = rng.choice(list(zip(staff_ids, [e[0] for e in ENGINEERS], strict=True)))
        reporter = 500_000 + rng.randint(0, 5000)
        ev, st = _ticket_events(rng, tid, created, end, eng, reporter, want)
        budget -= len(ev)
        suburb = rng.random() < 0.3
        ticket = (
            tid, numbers[i], rng.randint(1, 1000), f"客户{rng.randint(1, 1000)}",
            "报修人", reporter, 1, f"设备{rng.randint(1, 50)}", rng.choice(CATEGORIES), rng.choice(SEVERITIES),
            "故障描述", "[]", st["status"], int(rng.random() < 0.03), st["assignee"], _ts(created),
            _ts(created + dt.timedelta(hours=2)), _ts(created + dt.timedelta(hours=8 if suburb else 4)),
            _ts(created + dt.timedelta(hours=24)),
            _ts(st["ack"]) if st["ack"] else None, _ts(st["resolved"]) if st["resolved"] else None,
            _ts(st["closed"]) if st["closed"] else None, "已修复" if st["resolved"] else None, st["rating"],
        )
        yield ticket, ev


def generate(path: Path, tickets: int, events: int, end: dt.datetime, months: int = 24, seed: int = 7) -> dict[str, int]:
    """Write the database; returns the row counts."""
    if path.exists():
        path.unlink()
    migrate(path)
    rng = random.Random(seed)
    start = end - dt.timedelta(days=round(months * 30.44))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO staff (id, key, name, role, phone, telegram_user_id, active) VALUES (?,?,?,?,?,?,1)",
        [(i + 1, k, name, "engineer", None, tg) for i, (k, name, tg) in enumerate(ENGINEERS)]
        + [(len(ENGINEERS) + i + 1, k, name, role, None, tg) for i, (k, name, role, tg) in enumerate(MANAGERS)],
    )
    con.executemany(
        "INSERT INTO customers (id, number, name, name_key, zone, contract_type) VALUES (?,?,?,?,?,?)",
        [(i, f"C{i:05d}", f"客户{i}", f"客户{i}", "city" if i % 3 else "suburb", "annual") for i in range(1, 1001)],
    )
    staff_ids = list(range(1, len(ENGINEERS) + 1))
    t_rows: list[tuple[object, ...]] = []
    e_rows: list[tuple[object, ...]] = []
    for ticket, ev in _tickets(rng, tickets, events, start, end, staff_ids):
        t_rows.append(ticket)
        e_rows.extend(ev)
    t_rows.reverse()
    e_rows.sort(key=lambda r: r[0])  # stable: each ticket's events stay in order
    con.executemany(
        "INSERT INTO tickets (id, number, customer_id, customer_label, reporter_name, reporter_user_id, verified,"
        " equipment_label, category, severity, symptom, photos, status, complaint, assignee_id, created_at,"
        " first_response_due, onsite_due, fix_due, acknowledged_at, resolved_at, closed_at, resolution, rating)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        t_rows,
    )
    con.executemany(
        "INSERT INTO ticket_events (ticket_id, at, kind, actor_kind, actor_id, from_status, to_status, minutes, data)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        e_rows,
    )
    con.commit()
    con.close()
    return {"tickets": len(t_rows), "events": len(e_rows)}


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--end", default="2026-11-24T10:00:00+08:00", help="ISO time of 'now' in the data")
    args = ap.parse_args()
    began = time.perf_counter()
    counts = generate(args.path, args.tickets, args.events, dt.datetime.fromisoformat(args.end), args.months)
    print(json.dumps({**counts, "seconds": round(time.perf_counter() - began, 1), "path": str(args.path)}))


if __name__ == "__main__":
    main()
