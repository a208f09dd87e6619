"""Data types of the duty roster (pure, immutable)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

WindowKind = Literal["office", "after_hours", "explicit"]
RotationKind = Literal["monthly", "weekly", "daily", "every_n_days"]
DayFilter = Literal["all", "workday", "rest"]
DayKind = Literal["workday", "rest", "holiday"]

WINDOW_KINDS: tuple[str, ...] = ("office", "after_hours", "explicit")
ROTATION_KINDS: tuple[str, ...] = ("monthly", "weekly", "daily", "every_n_days")
DAY_FILTERS: tuple[str, ...] = ("all", "workday", "rest")


class RosterError(ValueError):
    """Invalid roster file, roster data or override request.

    ``code`` and ``params`` let chat commands say it in the user's language
    (templates ``roster/text#roster_error``); the message stays for files, CLI and logs.
    """

    def __init__(self, message: str, *, code: str = "invalid", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params  # a template context (Jinja2 renders any value)


def fmt_minutes(minutes: int) -> str:
    """Minutes since midnight -> ``HH:MM`` (1440 -> ``24:00``)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Member:
    """A staff member that can appear in layers (keyed by ``key``)."""

    key: str
    name: str = ""
    role: str = "engineer"
    phone: str = ""


@dataclass(frozen=True)
class Hours:
    """Office hours and the out-of-office duty span, in minutes since local midnight."""

    office_start: int = 9 * 60
    office_end: int = 18 * 60
    duty_start: int = 8 * 60
    duty_end: int = 22 * 60 + 30


@dataclass(frozen=True)
class ExplicitWindow:
    """A daily window ``start``–``end`` (minutes, end may be 1440) on the given kind of day."""

    start: int
    end: int
    days: DayFilter = "all"


@dataclass(frozen=True)
class Layer:
    """One rotation layer: when it is staffed, how it rotates and who takes part."""

    name: str
    members: tuple[str, ...]
    window: WindowKind = "after_hours"
    windows: tuple[ExplicitWindow, ...] = ()
    rotation: RotationKind = "monthly"
    every_n_days: int = 1
    handoff: int = 8 * 60
    anchor: dt.date = dt.date(2026, 1, 1)
    # an equipment category (policy ``dispatch.categories``): the layer's engineers take that
    # category's tickets first (routing by specialty); None: the general duty layers
    category: str | None = None


@dataclass(frozen=True)
class Override:
    """``member`` covers ``covers`` during ``[start, end)``; ``layer=None`` means any layer."""

    member: str
    covers: str
    start: dt.datetime
    end: dt.datetime
    layer: str | None = None
    note: str = ""


DaySource = Literal["library", "rule", "local", "stored", "fallback"]


@dataclass(frozen=True)
class Holiday:
    """A local calendar entry (date plus optional name); ``stored`` when an admin entered it in
    the database (``/calendar``), else from the roster file."""

    date: dt.date
    name: str = ""
    source: Literal["local", "stored"] = "local"


@dataclass(frozen=True)
class CalendarOverrides:
    """Local table that wins over the official calendar."""

    workdays: tuple[Holiday, ...] = ()
    holidays: tuple[Holiday, ...] = ()

    @cached_property
    def by_date(self) -> dict[dt.date, tuple[DayKind, Holiday]]:
        """Date → (``workday``/``holiday``, entry): one dict look-up per day on the hot path."""
        table: dict[dt.date, tuple[DayKind, Holiday]] = {e.date: ("workday", e) for e in self.workdays}
        table.update({e.date: ("holiday", e) for e in self.holidays})
        return table


@dataclass(frozen=True)
class Roster:
    """The whole roster file."""

    members: dict[str, Member]
    layers: tuple[Layer, ...]
    timezone: str = "Asia/Shanghai"
    hours: Hours = field(default_factory=Hours)
    overrides: tuple[Override, ...] = ()
    calendar: CalendarOverrides = field(default_factory=CalendarOverrides)
    source: str = "<roster>"

    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (RosterError if unknown)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise RosterError(f"{self.source}: unknown layer {name!r}")


@dataclass(frozen=True)
class Assignment:
    """Who is on duty in a layer, for which contiguous stretch, and why."""

    layer: str
    member: str
    start: dt.datetime
    end: dt.datetime
    reason: Literal["rotation", "override"] = "rotation"
    covers: str | None = None


@dataclass(frozen=True)
class Handoff:
    """A rotation handoff in a layer."""

    at: dt.datetime
    layer: str
    from_member: str
    to_member: str


@dataclass(frozen=True)
class Shift:
    """A readable block of one member's duty (consecutive windows merged, one day)."""

    start: dt.datetime
    end: dt.datetime
    layers: tuple[str, ...]


@dataclass(frozen=True)
class DayInfo:
    """Kind of a calendar day; ``name`` is the holiday (or the holiday a make-up day belongs to)."""

    date: dt.date
    kind: DayKind
    name: str | None = None
    makeup: bool = False
    source: DaySource = "library"

    @property
    def is_workday(self) -> bool:
        return self.kind == "workday"


@dataclass(frozen=True)
class CalendarRow:
    """One row of ``calendar_table``."""

    day: DayInfo
    assignments: dict[str, list[Assignment]]
