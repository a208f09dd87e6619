"""Customer registry: matching typed numbers/names/phones, and ``sdbot import|export customers``
(CSV and XLSX, all-or-nothing with per row/column errors, re-import updates, export round-trips)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from bot.customers import registry, registry_io
from bot.demo import load_demo
from storage.db import Database
from storage.models import Contact, Customer, Equipment
from tests.harness import fresh_sqlite

HEADER = ("customer_number,company_name,zone,district,address,contract_type,maintenance_paid_until,"
          "contact_name,contact_phone,serial,model,category,kind,warranty_event,warranty_date,replacements")
GOOD = [
    "C2001,华南物流仓储有限公司,,福田,福田区 1 号,annual,2027-06-30,张三,138 0000 9001,NVR-9,海康录像机,cctv,"
    "project,acceptance,2025-01-02,2025-06-01 硬盘故障",
    "C2001,,,,,,,李四,13800009002,CAM-9,半球摄像机,监控,产品,快递,2026-01-02,",
    "C2002,Harbour Café Ltd.,suburb,宝安,,per_visit,,Mary Chan,+852 9123 4567,,,,,,,",
]


@pytest.fixture
def db_url(template_db: Path, tmp_path: Path) -> str:
    url = fresh_sqlite(template_db, tmp_path)
    asyncio.run(_with_db(url, lambda db: load_demo(db)))
    return url


async def _with_db(url: str, fn: Any) -> Any:
    db = Database(url)
    try:
        return await fn(db)
    finally:
        await db.dispose()


def _counts(url: str) -> tuple[int, int, int]:
    async def go(db: Database) -> tuple[int, int, int]:
        async with db.read() as s:
            return tuple([int(await s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                          for m in (Customer, Contact, Equipment)])
    return asyncio.run(_with_db(url, go))


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _sdbot(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> int:
    monkeypatch.setenv("DATABASE_URL", url)
    return main(list(args))


# --- matching -------------------------------------------------------------------------------


def test_normalize_is_tolerant_of_what_people_type() -> None:
    assert registry.normalize("Ｃ１００１") == registry.normalize("c 1001") == "c1001"
    assert registry.normalize("深圳市 华南物流 有限公司") == registry.normalize("深圳市华南物流") == "深圳市华南物流"
    assert registry.normalize("Harbour Café Co., Ltd.") == "harbourcafé"
    assert registry.phone_digits("+86 138-0000-0001") == registry.phone_digits("008613800000001") == "13800000001"
    assert registry.canonical_phone("138 0000 0001") == "+8613800000001"


def test_find_customers_by_number_name_and_part_of_a_name(db_url: str) -> None:
    async def go(db: Database) -> dict[str, list[tuple[str, int]]]:
        out = {}
        async with db.read() as s:
            for text in ("C1001", "Ｃ１００１", "c 1002", "深圳市华南物流有限公司", "华南物流", "物流", "nanshan bistro",
                         "火星科技"):
                out[text] = [(c.number, score) for c, score in await registry.find_customers(s, text)]
        return out

    found = asyncio.run(_with_db(db_url, go))
    assert found["C1001"] == [("C1001", 100)] == found["Ｃ１００１"]
    assert found["c 1002"][0] == ("C1002", 100)
    assert found["深圳市华南物流有限公司"][0] == ("C1001", 100)
    assert found["华南物流"][0][0] == "C1001" and 70 <= found["华南物流"][0][1] < 100
    assert all(score < 70 for _, score in found["物流"])  # too small a part of a name to pick anyone
    assert found["nanshan bistro"][0][0] == "C1003"
    assert all(score < 70 for _, score in found["火星科技"])


def test_contact_by_any_spelling_of_the_phone(db_url: str) -> None:
    async def go(db: Database) -> list[str | None]:
        async with db.read() as s:
            out = []
            for phone in ("+8613800000001", "13800000001", "8613800000001", "+86 138 0000 0001", "13899999999"):
                contact = await registry.contact_by_phone(s, phone)
                out.append(contact.name if contact else None)
            return out

    assert asyncio.run(_with_db(db_url, go)) == ["王小明"] * 4 + [None]


# --- import / export ------------------------------------------------------------------------


def test_import_csv_creates_then_reimport_updates(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _counts(db_url)
    path = _write(tmp_path, "c.csv", GOOD)
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(path)) == 0
    assert "created 2 customers, 3 contacts, 2 equipment" in capsys.readouterr().out
    assert _counts(db_url) == (before[0] + 2, before[1] + 3, before[2] + 2)

    changed = [GOOD[0].replace("华南物流仓储有限公司", "华南物流仓储（深圳）有限公司").replace("annual", "none"), *GOOD[1:]]
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(_write(tmp_path, "c2.csv", changed)), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["created"] == {"customers": 0, "contacts": 0, "equipment": 0}
    assert result["updated"] == {"customers": 2, "contacts": 3, "equipment": 2}
    assert _counts(db_url) == (before[0] + 2, before[1] + 3, before[2] + 2)  # nothing duplicated

    async def check(db: Database) -> None:
        async with db.read() as s:
            c = await s.scalar(select(Customer).where(Customer.number == "C2001"))
            assert c is not None and c.name == "华南物流仓储（深圳）有限公司" and c.contract_type == "none"
            assert c.zone == "city"  # from the district via the policy's zone list
            assert c.name_key == registry.name_key(c.name)
            nvr = await s.scalar(select(Equipment).where(Equipment.serial == "NVR-9"))
            assert nvr is not None and nvr.replacements == [{"date": "2025-06-01", "fault": "硬盘故障"}]
            cam = await s.scalar(select(Equipment).where(Equipment.serial == "CAM-9"))
            assert cam is not None and (cam.category, cam.kind, cam.start_event) == ("cctv", "product", "express")
            phones = set((await s.scalars(select(Contact.phone).where(Contact.customer_id == c.id))).all())
            assert phones == {"+8613800009001", "+8613800009002"}

    asyncio.run(_with_db(db_url, check))


def test_one_bad_row_imports_nothing_and_names_row_and_column(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _counts(db_url)
    bad = [*GOOD,
           "C2003,Bad Co,moon,,,yearly,2026-13-01,王五,,X1,,,,,,",
           ",No number,,,,,,,,,,,,,,",
           "C2004,Dup Phone,,,,,,赵七,13800009001,,,,,,,",
           "C2005,,,,,,,,,,,,,,,"]
    path = _write(tmp_path, "bad.csv", bad)
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(path)) == 2
    err = capsys.readouterr().err
    for needle in ("row 5: zone: 'moon' is not one of city, suburb",
                   "row 5: contract_type: 'yearly' is not one of annual, per_visit, none",
                   "row 5: maintenance_paid_until: '2026-13-01' is not a date (YYYY-MM-DD)",
                   "row 5: contact_phone: required when contact_name is given",
                   "row 5: model: required for equipment (serial given)",
                   "row 6: customer_number: required",
                   "row 7: contact_phone: also a contact of C2001 (row 2)",
                   "nothing was imported"):
        assert needle in err, needle
    assert _counts(db_url) == before  # the good rows were not written either

    taken = _write(tmp_path, "taken.csv", ["C2006,Taken Phone Ltd,,,,,,王二,+86 138 0000 0001,,,,,,,"])
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(taken)) == 2
    assert "row 2: contact_phone: already a contact of C1001" in capsys.readouterr().err
    assert _counts(db_url) == before

    only_new_without_name = _write(tmp_path, "noname.csv", ["C2005,,,,,,,,,,,,,,,"])
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(only_new_without_name), "--json") == 2
    out = json.loads(capsys.readouterr().out)
    assert out["errors"] == [{"row": 2, "column": "company_name", "reason": "required for a new customer (C2005)"}]
    assert _counts(db_url) == before


def test_unknown_column_and_missing_file(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.csv"
    path.write_text("customer_number,colour\nC1,red\n", encoding="utf-8")
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(path)) == 2
    assert "row 1: colour: unknown column" in capsys.readouterr().err
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(tmp_path / "missing.csv")) == 2
    assert "no such file" in capsys.readouterr().err


def test_xlsx_import_with_chinese_headers_and_export_round_trip(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户编号", "公司名称", "区域", "合同类型", "联系人", "联系电话", "序列号", "型号", "类别", "产品或项目",
                  "保修起算事件", "起算日期"])
    import datetime as dt

    sheet.append(["C2101", "宝安中心小学", "郊区", "按次", "孙老师", 13700001111, "PBX-1", "程控交换机", "电话", "项目",
                  "验收", dt.datetime(2024, 9, 1)])
    xlsx = tmp_path / "in.xlsx"
    book.save(xlsx)
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(xlsx)) == 0
    capsys.readouterr()

    out = tmp_path / "out.xlsx"
    assert _sdbot(monkeypatch, db_url, "export", "customers", "-o", str(out)) == 0
    before = _counts(db_url)
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(out), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["created"] == {"customers": 0, "contacts": 0, "equipment": 0}
    assert _counts(db_url) == before

    assert _sdbot(monkeypatch, db_url, "export", "customers") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    school = [r for r in rows if r["customer_number"] == "C2101"]
    assert school == [{**school[0], "company_name": "宝安中心小学", "zone": "suburb", "contract_type": "per_visit",
                       "contact_phone": "'+8613700001111", "serial": "PBX-1", "category": "telephone",
                       "kind": "project", "warranty_event": "acceptance", "warranty_date": "2024-09-01"}]
    assert {r["customer_number"] for r in rows} >= {"C1001", "C1002", "C1003", "C2101"}


def test_plan_rejects_a_serial_twice_and_disagreeing_customer_fields() -> None:
    rows = [
        {"customer_number": "C1", "company_name": "A", "serial": "S1", "model": "m", "warranty_date": "2025-01-01"},
        {"customer_number": "C1", "company_name": "B", "serial": "S1", "model": "m", "warranty_date": "2025-01-01"},
    ]
    with pytest.raises(registry_io.RegistryImportError) as exc:
        registry_io.plan_import(rows)
    assert [str(e) for e in exc.value.errors] == [
        "row 3: company_name: differs from row 2 of C1", "row 3: serial: 'S1' appears twice for C1"]


def test_cli_desk_confirms_an_unverified_reporter(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    from bot.tickets import lifecycle as tickets
    from storage.models import TelegramUser, Ticket

    now = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)

    async def make(db: Database) -> str:
        async with db.write() as s:
            s.add(TelegramUser(id=8801, first_name="X", created_at=now, last_seen_at=now))
            new = tickets.NewTicket(reporter_user_id=8801, reporter_name="陈小姐", customer_label="南山餐厅")
            return (await tickets.open_ticket(s, new, now, dt.UTC)).number

    number = asyncio.run(_with_db(db_url, make))
    assert _sdbot(monkeypatch, db_url, "customers", "verify", number) == 2
    assert "names no registered customer" in capsys.readouterr().err
    assert _sdbot(monkeypatch, db_url, "customers", "verify", number, "--customer", "C9999") == 2
    assert "customer C9999 not found" in capsys.readouterr().err
    assert _sdbot(monkeypatch, db_url, "customers", "verify", number.lower(), "--customer", "C1003") == 0
    assert f"{number}: verified for Nanshan Bistro" in capsys.readouterr().out

    async def check(db: Database) -> None:
        async with db.read() as s:
            t = await s.scalar(select(Ticket).where(Ticket.number == number))
            u = await s.get(TelegramUser, 8801)
            c = await s.scalar(select(Customer.id).where(Customer.number == "C1003"))
            assert t is not None and t.verified and t.customer_id == c
            assert u is not None and u.verified and u.customer_id == c
            from storage.models import OutboxMessage

            [notice] = (await s.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 8801))).all()
            assert notice.status == "pending" and "Nanshan Bistro" in notice.payload["text"]  # the bot sends it

    asyncio.run(_with_db(db_url, check))


# --- formula guard on export ----------------------------------------------------------------

RISKY = {  # column -> a stored value a spreadsheet would run as a formula (or that looks like a guard)
    "company_name": '=HYPERLINK("http://evil.example","点我")',
    "district": "@SUM(1+1)",
    "address": "-2+3 号",
    "contact_name": "+张三",
    "model": "'=already quoted",
    "serial": "=1+1",
}
PLAIN_APOSTROPHE = "'t Hooft 店"  # a leading apostrophe before ordinary text is kept as it is


def _risky_file(tmp_path: Path) -> Path:
    row = {col: "" for col in registry_io.COLUMNS}
    row.update(customer_number="C2301", contact_phone="13700002222", category="cctv", kind="product",
               warranty_event="sale", warranty_date="2025-05-05", **RISKY)
    row2 = {**{col: "" for col in registry_io.COLUMNS}, "customer_number": "C2302",
            "company_name": PLAIN_APOSTROPHE}
    path = tmp_path / "risky.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(registry_io.COLUMNS))
        writer.writeheader()
        # as a spreadsheet user would type them: guarded where needed (the import drops the guard)
        writer.writerows([{c: registry_io.guard(v) for c, v in r.items()} for r in (row, row2)])
    return path


def _stored(url: str) -> dict[str, Any]:
    async def go(db: Database) -> dict[str, Any]:
        async with db.read() as s:
            c = await s.scalar(select(Customer).where(Customer.number == "C2301"))
            other = await s.scalar(select(Customer).where(Customer.number == "C2302"))
            contact = await s.scalar(select(Contact).where(Contact.customer_id == c.id))
            item = await s.scalar(select(Equipment).where(Equipment.customer_id == c.id))
            return {"company_name": c.name, "district": c.district, "address": c.address,
                    "contact_name": contact.name, "model": item.model, "serial": item.serial,
                    "plain": other.name, "phone": contact.phone}
    return asyncio.run(_with_db(url, go))


def test_guard_and_unguard_are_inverse() -> None:
    for value in [*RISKY.values(), PLAIN_APOSTROPHE, "", "ok", "'", "''=x", "\t=x", "\tx", "\rx", 5, None]:
        assert registry_io.unguard(registry_io.guard(value)) == value, value
    for value in ("=1", "+1", "-1", "@x", "\tx", "\rx", "'=1", "''+1"):
        assert registry_io.guard(value) == "'" + value
    assert registry_io.guard(PLAIN_APOSTROPHE) == PLAIN_APOSTROPHE and registry_io.guard("A=1") == "A=1"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_guards_formulas_and_reimport_gives_back_the_values(
    suffix: str, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(_risky_file(tmp_path))) == 0
    original = _stored(db_url)
    assert original == {**RISKY, "plain": PLAIN_APOSTROPHE, "phone": "+8613700002222"}
    out = tmp_path / f"out.{suffix}"
    assert _sdbot(monkeypatch, db_url, "export", "customers", "-o", str(out)) == 0
    capsys.readouterr()
    if suffix == "csv":
        with out.open(encoding="utf-8", newline="") as fh:
            cells = [v for r in csv.reader(fh) for v in r]
    else:
        from openpyxl import load_workbook

        sheet = load_workbook(out).worksheets[0]
        assert all(cell.data_type != "f" for r in sheet.iter_rows() for cell in r)  # no formula cell at all
        cells = [str(cell.value or "") for r in sheet.iter_rows() for cell in r]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    for value in RISKY.values():
        assert "'" + value in cells
    assert "'+8613700002222" in cells and PLAIN_APOSTROPHE in cells
    assert _sdbot(monkeypatch, db_url, "import", "customers", str(out), "--json") == 0
    assert json.loads(capsys.readouterr().out)["created"] == {"customers": 0, "contacts": 0, "equipment": 0}
    assert _stored(db_url) == original  # the round trip gives back exactly what was stored

