"""Duty roster domain: working-day calendar, rotation layers, overrides and swaps (no Telegram)."""

from bot.roster.calendar import coverage_warning, covered_years, day_info, is_workday
from bot.roster.duty import (
    calendar_table,
    next_handoffs,
    next_window_start,
    on_duty,
    rotation_next,
    shifts_for,
)
from bot.roster.loader import DEFAULT_ROSTER, dump_roster, load_roster, parse_roster, save_roster
from bot.roster.model import (
    Assignment,
    CalendarRow,
    DayInfo,
    Handoff,
    Layer,
    Override,
    Roster,
    RosterError,
    Shift,
)
from bot.roster.overrides import (
    SwapProposal,
    accept_swap,
    make_override,
    override_from_dict,
    override_to_dict,
    propose_swap,
    with_overrides,
)

__all__ = [
    "DEFAULT_ROSTER", "Assignment", "CalendarRow", "DayInfo", "Handoff", "Layer", "Override",
    "Roster", "RosterError", "Shift", "SwapProposal", "accept_swap", "calendar_table",
    "coverage_warning", "covered_years", "day_info", "dump_roster", "is_workday", "load_roster",
    "make_override", "next_handoffs", "next_window_start", "on_duty", "override_from_dict",
    "override_to_dict", "parse_roster", "propose_swap", "rotation_next", "save_roster",
    "shifts_for", "with_overrides",
]
