"""The monthly chart: tickets per day (bars) and first-response SLA compliance (line), as PNG."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports import sla, sqlx
from bot.reports.periods import Period
from storage.models import Ticket

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 5.0, 100


@dataclass
class DaySeries:
    """Per local day: tickets created, tickets with a first-response due, how many met it."""

    days: list[dt.date]
    created: list[int]
    with_due: list[int]
    met: list[int]

    def compliance(self) -> list[float | None]:
        """Percent met per day (None when no ticket had a due time)."""
        return [100.0 * m / w if w else None for m, w in zip(self.met, self.with_due, strict=True)]


async def day_series(session: AsyncSession, period: Period, tz: dt.tzinfo, now: dt.datetime) -> DaySeries:
    """Tickets per day and first-response compliance (decided promises kept), by local day in SQL."""
    start, end = period.bounds(tz)
    # grouped by label: PostgreSQL cannot match an expression with bound parameters twice
    day = sqlx.local_day(Ticket.created_at, sqlx.dialect(session), sqlx.offset_minutes(tz, start)).label("day")
    where = (Ticket.created_at >= start) & (Ticket.created_at < end)
    sub = sla.firsts(where)
    first = sla.promises(sub, now)[0]
    stmt = (
        select(
            day, func.count(),
            func.sum(case((first.decided, 1), else_=0)),
            func.sum(case((first.decided & first.kept, 1), else_=0)),
        )
        .select_from(Ticket.__table__.outerjoin(sub, sub.c.ticket_id == Ticket.id))
        .where(where)
        .group_by(day)
    )
    found = {r[0]: (int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in (await session.execute(stmt)).all()}
    days = period.days()
    rows = [found.get(d.isoformat(), (0, 0, 0)) for d in days]
    return DaySeries(days, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "SimHei",
             "Microsoft YaHei", "PingFang SC")


def cjk_font() -> str | None:
    """An installed font that can draw Chinese labels, if any."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def render_png(series: DaySeries, *, title: str, created_label: str, compliance_label: str) -> bytes:
    """Draw the chart with matplotlib's Agg backend (no display needed).

    Callers pass labels that the available fonts can draw (see ``cjk_font``).
    """
    import logging

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # weight fallbacks are fine
    font = cjk_font()
    if font is not None:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        matplotlib.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    ax = fig.add_subplot()
    xs = list(range(len(series.days)))
    ax.bar(xs, series.created, color="#4C72B0", label=created_label)
    ax.set_ylabel(created_label)
    step = max(1, len(xs) // 16)
    ax.set_xticks(xs[::step], [d.strftime("%m-%d") for d in series.days][::step], rotation=45, fontsize=8)
    ax2 = ax.twinx()
    pct = series.compliance()
    ax2.plot([x for x, p in zip(xs, pct, strict=True) if p is not None], [p for p in pct if p is not None],
             color="#DD8452", marker="o", markersize=3, label=compliance_label)
    ax2.set_ylim(0, 105)
    ax2.set_ylabel(compliance_label)
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [created_label, compliance_label], loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
