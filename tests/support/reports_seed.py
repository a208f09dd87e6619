"""A small, hand-checkable ticket history for the supervisor report tests.

The test clock stands at Monday 2026-11-23 10:00 Asia/Shanghai. Yesterday (Sunday, a rest day):
SD-2026-000001 (zhang: dispatched, acknowledged after 11 min, phone 15 min, on site 60 min,
resolved) and SD-2026-000002 (li, reminder, escalated to wang, acknowledged 150 min after the
report — 30 min late —, remote 20 min; a complaint; on-site due passed without a visit).
Today SD-2026-000003 was dispatched to zhang and is unacknowledged one hour past its due time
(the SLA watch recorded the breach at 09:00).
Earlier in November SD-2026-000004 (zhang, phone fix, rated dissatisfied) and SD-2026-000005 (li, on site,
rated very satisfied); in October SD-2026-000006 (wang, rated satisfied).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.db import Database
from storage.models import Staff, Ticket, TicketEvent

TZ = ZoneInfo("Asia/Shanghai")
REPORTER = 5001


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A local time in 2026."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


class _Builder:
    def __init__(self, session: Any, staff: dict[str, Staff]) -> None:
        self.s, self.staff = session, staff

    async def ticket(self, seq: int, created: dt.datetime, **cols: Any) -> Ticket:
        t = Ticket(
            number=f"SD-2026-{seq:06d}", customer_label=cols.pop("customer", f"客户{seq}"),
            reporter_name="王小明", reporter_user_id=REPORTER, verified=True, category=cols.pop("category", "cctv"),
            severity="partial", symptom=f"故障{seq}", photos=[], status=cols.pop("status"), created_at=created,
            first_response_due=cols.pop("frd", created + dt.timedelta(hours=2)),
            onsite_due=created + dt.timedelta(hours=4), fix_due=created + dt.timedelta(hours=24), **cols,
        )
        self.s.add(t)
        await self.s.flush()
        self.event(t, "created", created, "customer", REPORTER, to_status="new")
        return t

    def event(self, t: Ticket, ev_kind: str, when: dt.datetime, actor_kind: str = "system",
              actor_id: int | None = None, /, *, minutes: int | None = None, from_status: str | None = None,
              to_status: str | None = None, **data: Any) -> None:
        self.s.add(TicketEvent(ticket_id=t.id, at=when, kind=ev_kind, actor_kind=actor_kind, actor_id=actor_id,
                               from_status=from_status, to_status=to_status, minutes=minutes, data=data))

    def by(self, key: str) -> tuple[str, int]:
        return "staff", self.staff[key].id

    def contact(self, t: Ticket, key: str, when: dt.datetime, kind: str, minutes: int, done: str, result: str) -> None:
        self.event(t, "contact", when, *self.by(key), minutes=minutes, kind=kind, done=done, result=result, by=key)

    def ack(self, t: Ticket, key: str, when: dt.datetime) -> None:
        delay = int((when - t.created_at).total_seconds())
        self.event(t, "acknowledged", when, *self.by(key), from_status="dispatched", to_status="acknowledged",
                   by=key, delay_s=delay)

    def rate(self, t: Ticket, when: dt.datetime, rating: str, score: int) -> None:
        self.event(t, "closed", when, "customer", REPORTER, from_status="resolved", to_status="closed",
                   rating=rating, score=score)


async def seed_reports(db: Database) -> None:
    """Write the history described in the module docstring (demo staff must exist)."""
    async with db.write() as s:
        staff = {st.key: st for st in (await s.scalars(select(Staff))).all()}
        b = _Builder(s, staff)
        z, li, w = staff["zhang"].id, staff["li"].id, staff["wang"].id

        t1 = await b.ticket(1, at(11, 22, 20), status="resolved", assignee_id=z, acknowledged_at=at(11, 22, 20, 11),
                            resolved_at=at(11, 22, 21, 45), resolution="更换硬盘")
        b.event(t1, "dispatched", at(11, 22, 20, 1), from_status="new", to_status="dispatched", to="zhang", stage=0)
        b.ack(t1, "zhang", at(11, 22, 20, 11))
        b.event(t1, "in_progress", at(11, 22, 20, 30), *b.by("zhang"), from_status="acknowledged",
                to_status="in_progress")
        b.contact(t1, "zhang", at(11, 22, 20, 30), "phone", 15, "指导重启录像机", "未恢复")
        b.contact(t1, "zhang", at(11, 22, 21, 30), "onsite", 60, "更换硬盘", "已恢复")
        b.event(t1, "resolved", at(11, 22, 21, 45), *b.by("zhang"), from_status="in_progress",
                to_status="resolved", summary="更换硬盘", by="zhang")

        t2 = await b.ticket(2, at(11, 22, 21), status="in_progress", category="network", complaint=True,
                            assignee_id=w, acknowledged_at=at(11, 22, 23, 30))
        b.event(t2, "complaint", at(11, 22, 21), reason="complaint rule")
        b.event(t2, "dispatched", at(11, 22, 21, 1), from_status="new", to_status="dispatched", to="li", stage=0)
        b.event(t2, "reminder", at(11, 22, 21, 16), to="li")
        b.event(t2, "escalated", at(11, 22, 21, 31), to="wang", level="next_engineer", **{"from": "li"})
        b.event(t2, "dispatched", at(11, 22, 21, 31), to="wang", stage=2, reason="escalation")
        b.ack(t2, "wang", at(11, 22, 23, 30))
        b.contact(t2, "wang", at(11, 22, 23, 40), "remote", 20, "远程检查交换机", "待跟进")

        t3 = await b.ticket(3, at(11, 23, 8), status="dispatched", category="pos", assignee_id=z,
                            frd=at(11, 23, 9))
        b.event(t3, "dispatched", at(11, 23, 8, 1), from_status="new", to_status="dispatched", to="zhang", stage=0)
        b.event(t3, "sla_breach", at(11, 23, 9), kind="first_response", due=at(11, 23, 9).isoformat(), notified=1,
                late_s=0)

        t4 = await b.ticket(4, at(11, 2, 10), status="closed", category="telephone", assignee_id=z,
                            acknowledged_at=at(11, 2, 10, 30), resolved_at=at(11, 2, 12, 30), closed_at=at(11, 3, 9),
                            rating=-5)
        b.ack(t4, "zhang", at(11, 2, 10, 30))
        b.contact(t4, "zhang", at(11, 2, 10, 45), "phone", 10, "电话指导", "已恢复")
        b.rate(t4, at(11, 3, 9), "dissatisfied", -5)

        t5 = await b.ticket(5, at(11, 5, 10), status="closed", assignee_id=li, acknowledged_at=at(11, 5, 10, 5),
                            resolved_at=at(11, 5, 13), closed_at=at(11, 6, 9), rating=5)
        b.ack(t5, "li", at(11, 5, 10, 5))
        b.contact(t5, "li", at(11, 5, 12), "onsite", 45, "更换摄像头", "已恢复")
        b.rate(t5, at(11, 6, 9), "very_satisfied", 5)

        t6 = await b.ticket(6, at(10, 15, 10), status="closed", category="access", assignee_id=w,
                            acknowledged_at=at(10, 15, 10, 20), resolved_at=at(10, 15, 12), closed_at=at(10, 16, 9),
                            rating=3)
        b.ack(t6, "wang", at(10, 15, 10, 20))
        b.rate(t6, at(10, 16, 9), "satisfied", 3)


async def seed_many_open(db: Database, count: int, start_seq: int = 100) -> None:
    """``count`` open tickets (for paging)."""
    async with db.write() as s:
        for i in range(count):
            created = at(11, 20, 9) + dt.timedelta(minutes=i)
            s.add(Ticket(
                number=f"SD-2026-{start_seq + i:06d}", customer_label=f"测试客户有限公司第{i}分店",
                reporter_name="测试", reporter_user_id=REPORTER, category="network", severity="partial",
                symptom="网络中断", photos=[], status="new", created_at=created,
            ))
