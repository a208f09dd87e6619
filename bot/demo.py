"""Fictional demo data for the sandbox: customers, equipment, staff (with sandbox user ids)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.models import Contact, Customer, Equipment, Staff

# Sandbox Telegram user ids of the demo staff, so a tester can "be" them.
DEMO_STAFF = [
    ("zhang", "张伟", "engineer", "+8613900000101", 1001),
    ("li", "李娜", "engineer", "+8613900000102", 1002),
    ("wang", "王强", "engineer", "+8613900000103", 1003),
    ("zhao", "赵敏", "supervisor", "+8613900000201", 2001),
    ("admin", "系统管理员", "admin", None, 9001),
]

DEMO_CUSTOMERS: list[dict[str, Any]] = [
    {
        "number": "C1001",
        "name": "深圳市华南物流有限公司",
        "zone": "city",
        "district": "福田",
        "address": "福田区深南大道 1001 号",
        "contract_type": "annual",
        "maintenance_paid_until": dt.date(2027, 6, 30),
        "contacts": [("王小明", "+8613800000001"), ("刘芳", "+8613800000011")],
        "equipment": [
            ("NVR-2025-0001", "海康 DS-7608NI 录像机", "cctv", "project", "acceptance", dt.date(2025, 3, 15)),
            ("CAM-2026-0107", "海康 DS-2CD 半球摄像机", "cctv", "product", "express", dt.date(2026, 10, 20)),
            ("SW-2024-0033", "华为 S5735 交换机", "network", "product", "sale", dt.date(2024, 6, 1)),
        ],
    },
    {
        "number": "C1002",
        "name": "龙岗明德学校",
        "zone": "suburb",
        "district": "龙岗",
        "address": "龙岗区龙城街道 88 号",
        "contract_type": "per_visit",
        "maintenance_paid_until": None,
        "contacts": [("李老师", "+8613800000002")],
        "equipment": [
            ("PBX-2023-0008", "松下 KX-TDA100 程控交换机", "telephone", "project", "acceptance", dt.date(2023, 9, 1)),
            ("AMP-2025-0210", "广播功放 1000W", "broadcast", "product", "freight", dt.date(2025, 11, 10)),
        ],
    },
    {
        "number": "C1003",
        "name": "Nanshan Bistro 南山一号餐厅",
        "zone": "city",
        "district": "南山",
        "address": "南山区科技园 12 号",
        "contract_type": "none",
        "maintenance_paid_until": None,
        "contacts": [("陈店长", "+8613800000003")],
        "equipment": [
            ("POS-2026-0501", "收银 POS 终端", "pos", "product", "sale", dt.date(2026, 5, 1)),
            ("ACC-2026-0077", "门禁控制器", "access", "product", "sale", dt.date(2026, 11, 18)),
        ],
    },
]


def name_key(name: str) -> str:
    """Normalised company name for matching."""
    return "".join(name.lower().split())


async def load_demo(db: Database) -> bool:
    """Insert the demo data unless it is already there; True when something was added."""
    async with db.write() as s:
        if await s.scalar(select(Staff.id).where(Staff.key == "zhang")) is not None:
            return False
        for key, name, role, phone, tg_id in DEMO_STAFF:
            s.add(Staff(key=key, name=name, role=role, phone=phone, telegram_user_id=tg_id, active=True))
        for c in DEMO_CUSTOMERS:
            customer = Customer(
                number=c["number"],
                name=c["name"],
                name_key=name_key(c["name"]),
                zone=c["zone"],
                district=c["district"],
                address=c["address"],
                contract_type=c["contract_type"],
                maintenance_paid_until=c["maintenance_paid_until"],
            )
            s.add(customer)
            await s.flush()
            for cname, phone in c["contacts"]:
                s.add(Contact(customer_id=customer.id, name=cname, phone=phone))
            for serial, model, category, kind, event, date in c["equipment"]:
                s.add(
                    Equipment(
                        customer_id=customer.id,
                        serial=serial,
                        model=model,
                        category=category,
                        kind=kind,
                        start_event=event,
                        start_event_date=date,
                        replacements=[],
                    )
                )
    return True
