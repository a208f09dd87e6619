"""Who someone is at the desk: one ``Role`` enum for every role check (no Telegram).

The database keeps the role as a plain string (``Staff.role``); a ``StrEnum`` member compares
equal to that string, so ``Role(staff.role)`` and ``staff.role == Role.ADMIN`` both work.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A person's role: customers are everyone not linked to an active staff record."""

    CUSTOMER = "customer"
    ENGINEER = "engineer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ALL = frozenset(Role)
STAFF = frozenset({Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN})
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
STAFF_ORDER: tuple[Role, ...] = (Role.ENGINEER, Role.SUPERVISOR, Role.ADMIN)  # as listed to people
