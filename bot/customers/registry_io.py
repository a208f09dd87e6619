"""Customer registry import/export: one flat table (CSV or XLSX), all-or-nothing, idempotent.

Each row names a customer by ``customer_number`` and may carry the customer's fields, one contact
and/or one piece of equipment (columns in docs/customers.md). Every row is checked before anything
is written; any error → nothing is written and every problem is reported as (row, column, reason).
Re-importing updates: customers by number, contacts by (customer, phone), equipment by
(customer, serial).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.customers.registry import canonical_phone, name_key, phone_digits
from bot.reports.export import no_formula
from bot.rules import calculators as calc
from bot.rules.policy import CONTRACT_TYPES, EVENTS, ZONES, Policy
from storage.models import Contact, Customer, Equipment

COLUMNS = (
    "customer_number", "company_name", "zone", "district", "address", "contract_type",
    "maintenance_paid_until", "contact_name", "contact_phone", "serial", "model", "category",
    "kind", "warranty_event", "warranty_date", "replacements",
)
ALIASES = {
    "客户编号": "customer_number", "公司名称": "company_name", "区域": "zone", "行政区": "district",
    "地址": "address", "合同类型": "contract_type", "维护费缴至": "maintenance_paid_until",
    "联系人": "contact_name", "联系电话": "contact_phone", "序列号": "serial", "型号": "model",
    "类别": "category", "产品或项目": "kind", "保修起算事件": "warranty_event", "起算日期": "warranty_date",
    "更换记录": "replacements",
}
CUSTOMER_FIELDS = ("company_name", "zone", "district", "address", "contract_type", "maintenance_paid_until")
EQUIPMENT_FIELDS = ("model", "category", "kind", "warranty_event", "warranty_date")
CATEGORIES = ("cctv", "network", "telephone", "access", "pos", "broadcast", "intrusion", "other")
VALUE_ALIASES = {
    "zone": {"市区": "city", "郊区": "suburb"},
    "contract_type": {"年保": "annual", "年度": "annual", "按次": "per_visit", "无": "none"},
    "kind": {"产品": "product", "项目": "project"},
    "warranty_event": {"验收": "acceptance", "快递": "express", "货运": "freight", "物流": "freight", "销售": "sale"},
    "category": {"监控": "cctv", "网络": "network", "电话": "telephone", "门禁": "access", "收银": "pos",
                 "广播": "broadcast", "报警": "intrusion", "其他": "other"},
}
MAX_LEN = {"customer_number": 32, "company_name": 200, "district": 64, "address": 300,
           "contact_name": 100, "serial": 64, "model": 100}


@dataclass(frozen=True)
class RowError:
    """One problem: the file row (header = 1), the column, and why."""

    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.column}: {self.reason}"


class RegistryImportError(Exception):
    """The file cannot be imported; ``errors`` says where and why. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


@dataclass
class Plan:
    """What a valid file holds, grouped by customer number."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # number → phone → name
    equipment: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # number → serial → fields
    phone_rows: dict[str, int] = field(default_factory=dict)  # phone → first file row


@dataclass
class ImportResult:
    """Counts of what an import created and updated."""

    created: dict[str, int] = field(default_factory=lambda: {"customers": 0, "contacts": 0, "equipment": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"customers": 0, "contacts": 0, "equipment": 0})


# --- reading ---------------------------------------------------------------------------------


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8, BOM tolerated) or XLSX file (first sheet) as header → value dicts."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    else:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [list(r) for r in csv.reader(fh)]
    if not rows:
        raise RegistryImportError([RowError(1, "-", "the file is empty")])
    header = [_column(h) for h in rows[0]]
    unknown = [RowError(1, str(h), "unknown column") for h, c in zip(rows[0], header, strict=True) if c is None and h]
    missing = [RowError(1, "customer_number", "required column is missing")] if "customer_number" not in header else []
    if unknown or missing:
        raise RegistryImportError(unknown + missing)
    return [
        {c: unguard(v) for c, v in zip(header, r, strict=False) if c is not None}
        for r in rows[1:]
    ]


def guard(value: Any) -> Any:
    """A cell value as exported: text a spreadsheet would run as a formula gets a leading ``'``
    (the supervisor export's ``no_formula``). Apostrophes already in front of such text are kept
    and one more is added, so that ``unguard`` gives back exactly the stored value."""
    if not isinstance(value, str):
        return value
    core = value.lstrip("'")
    return value[: len(value) - len(core)] + no_formula(core)


def unguard(value: Any) -> Any:
    """The inverse of ``guard`` on import: drop the one ``'`` that protects formula-like text."""
    if isinstance(value, str) and value.startswith("'"):
        core = value.lstrip("'")
        if no_formula(core) != core:
            return value[1:]
    return value


def _column(header: Any) -> str | None:
    text = str(header or "").strip()
    name = ALIASES.get(text, text.lower().replace(" ", "_"))
    return name if name in COLUMNS else None


# --- validation ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(_text(value).replace("/", "-"))


def _choice(column: str, value: str, allowed: tuple[str, ...]) -> str:
    v = VALUE_ALIASES.get(column, {}).get(value, value.lower())
    if v not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return v


def _replacements(value: str) -> list[dict[str, str]]:
    """``2026-03-01 主板故障; 2026-05-02 电源`` → [{date, fault}, …]."""
    out = []
    for part in value.replace("；", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        day, _, fault = part.partition(" ")
        out.append({"date": dt.date.fromisoformat(day).isoformat(), "fault": fault.strip()})
    return out


def _clean(column: str, value: Any, text: str) -> Any:
    """One cell's value in its stored form, or ValueError with the reason."""
    if column in MAX_LEN and len(text) > MAX_LEN[column]:
        raise ValueError(f"longer than {MAX_LEN[column]} characters")
    if column in ("maintenance_paid_until", "warranty_date"):
        try:
            return _date(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    choices = {"zone": ZONES, "contract_type": CONTRACT_TYPES, "kind": ("product", "project"),
               "warranty_event": EVENTS, "category": CATEGORIES}
    if column in choices:
        return _choice(column, text, choices[column])
    if column == "contact_phone":
        if not 5 <= len(phone_digits(text)) <= 15:
            raise ValueError(f"{text!r} is not a phone number")
        return canonical_phone(text)
    if column == "replacements":
        try:
            return _replacements(text)
        except ValueError:
            raise ValueError(f"{text!r}: write 'YYYY-MM-DD fault; YYYY-MM-DD fault'") from None
    return text


def _parse_row(raw: dict[str, Any], policy: Policy | None) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Cleaned values of one row and its problems as (column, reason)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in COLUMNS:
        text = _text(raw.get(column))
        if not text:
            continue
        try:
            values[column] = _clean(column, raw.get(column), text)
        except ValueError as exc:
            problems.append((column, str(exc)))
    if "customer_number" not in values and "customer_number" not in dict(problems):
        problems.append(("customer_number", "required"))
    if values.get("contact_phone") and not values.get("contact_name"):
        problems.append(("contact_name", "required when contact_phone is given"))
    if values.get("contact_name") and not values.get("contact_phone"):
        problems.append(("contact_phone", "required when contact_name is given"))
    if "serial" in values:
        for column in ("model", "warranty_date"):
            if column not in values and column not in dict(problems):
                problems.append((column, "required for equipment (serial given)"))
    elif any(c in values for c in EQUIPMENT_FIELDS + ("replacements",)):
        problems.append(("serial", "required when equipment columns are filled"))
    if values.get("district") and "zone" not in values and policy is not None:

        with contextlib.suppress(ValueError):
            values["zone"] = calc.zone_of(policy, values["district"])
    return values, problems


def plan_import(rows: list[dict[str, Any]], policy: Policy | None = None) -> Plan:
    """Check every row; a Plan when all are valid, else RegistryImportError with every problem."""
    plan, errors = Plan(), []
    phone_owner: dict[str, tuple[str, int]] = {}
    for index, raw in enumerate(rows, start=2):
        if not any(_text(v) for v in raw.values()):
            continue  # blank line
        values, problems = _parse_row(raw, policy)
        errors += [RowError(index, c, r) for c, r in problems]
        number = values.get("customer_number")
        if not number or problems:
            continue
        errors += _merge_customer(plan, number, values, index)
        if "contact_phone" in values:
            phone = values["contact_phone"]
            owner = phone_owner.setdefault(phone, (number, index))
            if owner[0] != number:
                errors.append(RowError(index, "contact_phone", f"also a contact of {owner[0]} (row {owner[1]})"))
            plan.contacts.setdefault(number, {})[phone] = values["contact_name"]
            plan.phone_rows.setdefault(phone, index)
        if "serial" in values:
            items = plan.equipment.setdefault(number, {})
            if values["serial"] in items:
                errors.append(RowError(index, "serial", f"{values['serial']!r} appears twice for {number}"))
            items[values["serial"]] = {k: values.get(k) for k in EQUIPMENT_FIELDS + ("replacements",)}
    if errors:
        raise RegistryImportError(errors)
    return plan


def _merge_customer(plan: Plan, number: str, values: dict[str, Any], row: int) -> list[RowError]:
    """Customer fields may repeat on several rows of one customer, but must not disagree."""
    fields = plan.customers.setdefault(number, {"_row": row})
    errors = []
    for column in CUSTOMER_FIELDS:
        if column not in values:
            continue
        if column in fields and fields[column] != values[column]:
            errors.append(RowError(row, column, f"differs from row {fields['_row']} of {number}"))
        fields.setdefault(column, values[column])
    return errors


# --- writing ---------------------------------------------------------------------------------


async def apply_plan(session: AsyncSession, plan: Plan) -> ImportResult:
    """Write a checked plan in the caller's transaction (raises RegistryImportError for a missing name)."""
    result = ImportResult()
    existing = {c.number: c for c in (await session.scalars(
        select(Customer).where(Customer.number.in_(list(plan.customers))))).all()}
    missing = [RowError(f["_row"], "company_name", f"required for a new customer ({n})")
               for n, f in plan.customers.items() if n not in existing and not f.get("company_name")]
    missing += await _phones_taken(session, plan)
    if missing:
        raise RegistryImportError(missing)
    for number, fields in plan.customers.items():
        customer = existing.get(number)
        if customer is None:
            customer = Customer(number=number, name="", name_key="", zone="city", contract_type="none")
            session.add(customer)
            result.created["customers"] += 1
        else:
            result.updated["customers"] += 1
        _set_customer(customer, fields)
        await session.flush()
        await _upsert_contacts(session, customer, plan.contacts.get(number, {}), result)
        await _upsert_equipment(session, customer, plan.equipment.get(number, {}), result)
    return result


async def _phones_taken(session: AsyncSession, plan: Plan) -> list[RowError]:
    """Phones of the file already registered to a different customer (they would verify either)."""
    owner = {phone: number for number, contacts in plan.contacts.items() for phone in contacts}
    if not owner:
        return []
    rows = (await session.execute(
        select(Contact.phone, Customer.number).join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.phone.in_(list(owner)))
    )).all()
    return [RowError(plan.phone_rows[phone], "contact_phone", f"already a contact of {number}")
            for phone, number in rows if phone is not None and owner.get(phone) not in (None, number)]


def _set_customer(customer: Customer, fields: dict[str, Any]) -> None:
    if "company_name" in fields:
        customer.name = fields["company_name"]
        customer.name_key = name_key(customer.name)
    for column, attr in (("zone", "zone"), ("district", "district"), ("address", "address"),
                         ("contract_type", "contract_type"), ("maintenance_paid_until", "maintenance_paid_until")):
        if column in fields:
            setattr(customer, attr, fields[column])


async def _upsert_contacts(
    session: AsyncSession, customer: Customer, contacts: dict[str, str], result: ImportResult
) -> None:
    if not contacts:
        return
    rows = (await session.scalars(select(Contact).where(Contact.customer_id == customer.id))).all()
    by_phone = {canonical_phone(c.phone or ""): c for c in rows}
    for phone, name in contacts.items():
        contact = by_phone.get(phone)
        if contact is None:
            session.add(Contact(customer_id=customer.id, name=name, phone=phone))
            result.created["contacts"] += 1
        else:
            contact.name, contact.phone = name, phone
            result.updated["contacts"] += 1


async def _upsert_equipment(
    session: AsyncSession, customer: Customer, items: dict[str, dict[str, Any]], result: ImportResult
) -> None:
    if not items:
        return
    rows = (await session.scalars(select(Equipment).where(Equipment.customer_id == customer.id))).all()
    by_serial = {e.serial: e for e in rows}
    for serial, f in items.items():
        item = by_serial.get(serial)
        if item is None:
            item = Equipment(customer_id=customer.id, serial=serial, replacements=[])
            session.add(item)
            result.created["equipment"] += 1
        else:
            result.updated["equipment"] += 1
        item.model = f["model"]
        item.category = f.get("category") or item.category or "other"
        item.kind = f.get("kind") or item.kind or "product"
        item.start_event = f.get("warranty_event") or item.start_event or "sale"
        item.start_event_date = f["warranty_date"]
        if f.get("replacements") is not None:
            item.replacements = f["replacements"]


async def import_rows(session: AsyncSession, rows: list[dict[str, Any]], policy: Policy | None = None) -> ImportResult:
    """Check and write ``rows`` (nothing is written when any row is bad: raises RegistryImportError)."""
    return await apply_plan(session, plan_import(rows, policy))


# --- export ----------------------------------------------------------------------------------


async def export_rows(session: AsyncSession) -> list[dict[str, Any]]:
    """The registry as import rows (same columns): one row per contact and per equipment."""
    out: list[dict[str, Any]] = []
    customers = (await session.scalars(select(Customer).order_by(Customer.number))).all()
    for c in customers:
        base = {
            "customer_number": c.number, "company_name": c.name, "zone": c.zone, "district": c.district or "",
            "address": c.address or "", "contract_type": c.contract_type,
            "maintenance_paid_until": c.maintenance_paid_until.isoformat() if c.maintenance_paid_until else "",
        }
        contacts = (await session.scalars(select(Contact).where(Contact.customer_id == c.id).order_by(Contact.id))).all()
        items = (await session.scalars(select(Equipment).where(Equipment.customer_id == c.id).order_by(Equipment.id))).all()
        lines = max(len(contacts), len(items), 1)
        for i in range(lines):
            row = dict(base)
            if i < len(contacts):
                row.update(contact_name=contacts[i].name, contact_phone=contacts[i].phone or "")
            if i < len(items):
                e = items[i]
                row.update(
                    serial=e.serial, model=e.model, category=e.category, kind=e.kind,
                    warranty_event=e.start_event, warranty_date=e.start_event_date.isoformat(),
                    replacements="; ".join(f"{r.get('date', '')} {r.get('fault', '')}".strip()
                                           for r in e.replacements or [] if isinstance(r, dict)),
                )
            out.append({col: guard(row.get(col, "")) for col in COLUMNS})
    return out


def write_table(rows: list[dict[str, Any]], path: Path | None) -> str | None:
    """Write rows as XLSX (``.xlsx`` path) or CSV (other path, or returned as text when no path)."""
    if path is not None and path.suffix.lower() == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "customers"
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append([row[c] for c in COLUMNS])
        book.save(path)
        return None
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if path is None:
        return buf.getvalue()
    path.write_text(buf.getvalue(), encoding="utf-8")
    return None
